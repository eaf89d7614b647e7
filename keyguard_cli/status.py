"""`keyguard status`: the life of one secret's key, read from Secrets Manager without changing it.

Everything comes from the secret's versions and stages as `rotator.engine` writes them (its
docstring is the state machine), through the rotator's own `SecretStore`, labels and rules
(`rotation_due`, `plan`), so this view cannot drift from what the next run will do:

- the key: kind, shape, expiry and hours left, whether the next scheduled run rotates it and how;
- AWSCURRENT / AWSPREVIOUS / AWSPENDING with their creation dates;
- the claim (`KEYGUARD_CLAIM`): which run holds it until when, or that it was abandoned;
- the AWSPREVIOUS v2 key: revoked, in its grace until when, or due;
- orphans: v2 keys of the account whose description names a keyguard rotation of this secret
  but which no stage holds (a run that died between Momento's answer and the write).

Reading is side-effect free: no stage moves, no records written (the engine's own
`_became_current` would record a missing promotion; here it is reported as not recorded).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rotator.engine import CLAIM_LABEL, REVOKED_LABEL, rotation_due
from rotator.orphans import read_orphans, rotation_id_of
from rotator.secret_store import CURRENT, PENDING, PREVIOUS, SecretState, SecretStore, StoredVersion
from rotator.settings import RotatorSettings
from rotator.state import current_since, read_record
from rotator.strategies import plan
from shared.errors import KeyGuardError, SecretFormatError
from shared.momento_access import MomentoAccess
from shared.secret_format import KeyGeneration, MasterSecret, parse_secret

#: (key_id, description) of every live v2 key of the account, listed with the current key.
KeyLister = Callable[[MasterSecret], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class _Versions:
    current: StoredVersion
    previous: StoredVersion | None
    pending: StoredVersion | None


def key_kind(secret: MasterSecret) -> str:
    """The key kinds the rotator README distinguishes."""
    if secret.generation is KeyGeneration.V2:
        return "v2"
    return "v1 with refresh token" if secret.refresh_token else "v1 without refresh token"


def _key(secret: MasterSecret, now: float) -> dict[str, Any]:
    left = None if secret.valid_until is None else round((secret.valid_until - now) / 3600, 2)
    return {
        "kind": key_kind(secret),
        "generation": secret.generation.value,
        "shape": secret.shape.value,
        "expires_at": secret.valid_until,
        "hours_left": left,
        "issued_at": secret.issued_at,
        "endpoint": secret.endpoint,
        "key_id": secret.key_id,
        "role_id": secret.role_id,
    }


def _version(version: StoredVersion | None) -> dict[str, Any] | None:
    if version is None:
        return None
    created = version.created_at if version.secret_string is not None else None
    return {"version_id": version.version_id, "created_at": created, "stages": list(version.stages)}


def claim_status(
    store: SecretStore, state: SecretState, current_id: str, lease_seconds: int, now: float
) -> dict[str, Any] | None:
    """Who holds the rotation claim and until when, as the engine's `_claim` judges it."""
    claim_id = state.version_with(CLAIM_LABEL)
    record = read_record(store, claim_id)
    if record is None:
        return None
    claimed_at = record.get("claimedAt")
    claimed = float(claimed_at) if isinstance(claimed_at, int | float) else 0.0
    for_version = record.get("forVersion")
    until = claimed + lease_seconds
    generation = record.get("generation")
    successor = record.get("pendingVersion")
    stored = isinstance(successor, str) and PENDING not in state.stages.get(successor, (PENDING,))
    if record.get("released") is True:
        # The rotator gave the claim back (Momento refused, nothing issued): its label sits on a
        # release record (`rotator/state.py`); the next run goes ahead at once.
        condition = "released"
    elif for_version != current_id or stored:
        # A claim on a version that is no longer current, or whose successor was stored and moved on
        # (a rollback made its version current again): that rotation completed.
        condition = "finished"
    elif now < until:
        condition = "held"
    else:
        condition = "abandoned"
    return {
        "state": condition,
        "run_id": record.get("keyguardClaim"),
        "claimed_at": claimed or None,
        "lease_ends_at": until if claimed else None,
        "for_version": for_version,
        "generation": generation,
        "version_id": claim_id,
    }


def revoke_status(
    store: SecretStore,
    state: SecretState,
    versions: _Versions,
    secret: MasterSecret,
    grace_seconds: int,
    now: float,
) -> dict[str, Any] | None:
    """The AWSPREVIOUS v2 key: revoked, in its grace, or due (the engine's `_revoke_previous` rules)."""
    previous = versions.previous
    if secret.generation is not KeyGeneration.V2 or previous is None:
        return None
    if REVOKED_LABEL in state.stages.get(previous.version_id, ()):
        return {"state": "revoked", "version_id": previous.version_id}
    try:
        old = parse_secret(store.secret_id, previous.secret_string)
    except SecretFormatError:
        return None
    if old.generation is not KeyGeneration.V2 or old.api_key == secret.api_key:
        return None
    if old.key_id is None or old.key_id == secret.key_id:
        return {"state": "no_key_id", "version_id": previous.version_id, "key_id": None}
    recorded = current_since(store, state, versions.current.version_id)
    # A key cannot have been current before its version existed or before Momento issued it.
    since = max(recorded or 0.0, versions.current.created_at, float(secret.issued_at or 0))
    due_at = since + grace_seconds
    return {
        "state": "in_grace" if now < due_at else "due",
        "version_id": previous.version_id,
        "key_id": old.key_id,
        "grace_from": since,
        "grace_from_recorded": recorded is not None,
        "due_at": due_at,
    }


def orphans(
    store: SecretStore, state: SecretState, versions: _Versions, secret: MasterSecret, lister: KeyLister
) -> list[dict[str, Any]]:
    """v2 keys named after a rotation of this secret that no stage of it holds."""
    held = set()
    for version in (versions.current, versions.previous, versions.pending):
        if version is None or version.secret_string is None:
            continue
        try:
            held.add(parse_secret(store.secret_id, version.secret_string).key_id)
        except SecretFormatError:
            continue
    names = {store.secret_id, state.name, state.arn}
    found = []
    for key_id, description in lister(secret):
        rotation = rotation_id_of(description)
        if rotation is None or key_id in held:
            continue
        if description.rpartition(" of ")[2] in names:
            found.append({"key_id": key_id, "rotation_id": rotation, "description": description})
    return found


def key_check(momento: MomentoAccess, secret: MasterSecret) -> dict[str, Any]:
    """The engine's own proof that a key works (`check_key`: mint a one-minute token)."""
    try:
        momento.check_key(secret.master_key())
    except KeyGuardError as exc:
        return {"works": False, "error": f"{exc.code}: {exc}"}
    except ValueError as exc:
        # The SDK decodes the key before any call; a word that is no key fails there (untyped).
        return {
            "works": False,
            "error": f"malformed key: the Momento SDK cannot read it ({type(exc).__name__})",
        }
    return {"works": True, "error": None}


def _read_versions(store: SecretStore, state: SecretState) -> _Versions:
    current = store.get(stage=CURRENT)
    previous_id = state.version_with(PREVIOUS)
    pending_id = state.version_with(PENDING)
    previous = None if previous_id is None else store.get(version_id=previous_id)
    pending = None
    if pending_id is not None and pending_id != current.version_id:
        pending = store.get(version_id=pending_id)
    return _Versions(current, previous, pending)


def _rotation(
    secret_id: str, secret: MasterSecret, versions: _Versions, settings: RotatorSettings, now: float
) -> dict[str, Any]:
    due, reason = rotation_due(secret, versions.current.created_at, now, settings.rotation_threshold)
    try:
        planned: Any = plan(settings.strategy, secret, secret_id, settings.v2_role_id)
        # One strategy, or the strategies in the order tried (the rotator has used both forms).
        strategies = [s.name for s in (planned if isinstance(planned, tuple) else (planned,))]
        problem = None
    except KeyGuardError as exc:
        strategies, problem = [], str(exc)
    return {"due": due, "reason": reason, "strategies": strategies, "cannot_rotate": problem}


def _last_rotation(
    claim: dict[str, Any] | None,
    versions: _Versions,
    pending_revoke: dict[str, Any] | None,
    promoted: float | None = None,
) -> dict[str, Any]:
    """What the stages say about the latest rotation (the run's own outcome is in the metrics)."""
    if claim is not None and claim["state"] == "held":
        stored = versions.pending is not None
        detail = "successor stored, not yet promoted" if stored else "no successor stored yet"
        return {"outcome": "in_progress", "detail": f"run {claim['run_id']} holds the claim; {detail}"}
    if claim is not None and claim["state"] == "abandoned":
        return {
            "outcome": "interrupted",
            "detail": f"run {claim['run_id']} claimed the rotation and stopped; the next run takes over",
        }
    if versions.pending is not None:
        return {
            "outcome": "interrupted",
            "detail": "a stored successor waits in AWSPENDING; the next run resumes it",
        }
    if claim is not None and claim["for_version"] == (versions.previous and versions.previous.version_id):
        since = promoted or (
            pending_revoke.get("grace_from") if pending_revoke else versions.current.created_at
        )
        return {"outcome": "rotated", "at": since, "detail": "AWSPREVIOUS was replaced by AWSCURRENT"}
    if claim is not None and claim["state"] == "finished" and promoted is None:
        return {
            "outcome": "rolled_back_or_replaced",
            "detail": "AWSCURRENT is not the key the last claim rotated to",
        }
    if promoted is not None:
        return {
            "outcome": "replaced",
            "at": promoted,
            "detail": "AWSCURRENT replaced AWSPREVIOUS then (a rotation or a rollback)",
        }
    return {"outcome": "never", "detail": "no keyguard rotation recorded on this secret"}


def read_status(
    store: SecretStore,
    settings: RotatorSettings,
    now: float,
    lister: KeyLister | None = None,
    momento: MomentoAccess | None = None,
) -> dict[str, Any]:
    """The whole report for one secret; problems are listed, not raised, once the secret exists."""
    state = store.describe()
    versions = _read_versions(store, state)
    problems: list[str] = []
    report: dict[str, Any] = {
        "secret_id": store.secret_id,
        "name": state.name,
        "arn": state.arn,
        "native_rotation_enabled": state.rotation_enabled,
        "versions": {
            CURRENT: _version(versions.current),
            PREVIOUS: _version(versions.previous),
            PENDING: _version(versions.pending),
        },
    }
    claim = claim_status(store, state, versions.current.version_id, settings.claim_lease_seconds, now)
    report["claim"] = claim
    try:
        secret = parse_secret(store.secret_id, versions.current.secret_string)
    except SecretFormatError as exc:
        problems.append(str(exc))
        report.update(key=None, rotation=None, pending_revoke=None, orphans=None, problems=problems)
        report["last_rotation"] = _last_rotation(claim, versions, None)
        return report
    report["key"] = _key(secret, now)
    if momento is not None:
        report["key_check"] = key_check(momento, secret)
        if not report["key_check"]["works"]:
            problems.append(f"the current key does not work: {report['key_check']['error']}")
    report["rotation"] = _rotation(store.secret_id, secret, versions, settings, now)
    revoke = revoke_status(store, state, versions, secret, settings.v2_revoke_grace_seconds, now)
    report["pending_revoke"] = revoke if revoke is None or revoke["state"] != "revoked" else None
    report["previous_revoked"] = revoke is not None and revoke["state"] == "revoked"
    report["orphans"] = None
    if lister is not None and secret.generation is KeyGeneration.V2:
        try:
            report["orphans"] = orphans(store, state, versions, secret, lister)
        except KeyGuardError as exc:
            problems.append(f"could not list the account's v2 keys: {exc}")
    recorded = read_orphans(store, state)
    report["orphans_recorded"] = [entry.to_json() for entry in recorded]
    for entry in recorded:
        if not entry.revoked:
            what = (
                f"v2 key {entry.key_id}"
                if entry.key_id
                else "a v1 key (cannot be revoked; it lives until it expires)"
            )
            problems.append(f"orphan of rotation {entry.rotation_id} left alive: {what} ({entry.reason})")
    promoted = current_since(store, state, versions.current.version_id) if versions.previous else None
    report["last_rotation"] = _last_rotation(claim, versions, revoke, promoted)
    if revoke is not None and revoke["state"] == "no_key_id":
        problems.append("the AWSPREVIOUS v2 key has no keyId: revoke it in the Momento console by hand")
    if report["rotation"]["cannot_rotate"]:
        problems.append(report["rotation"]["cannot_rotate"])
    report["problems"] = problems
    return report
