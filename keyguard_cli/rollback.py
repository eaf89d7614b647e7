"""`keyguard rollback`: make AWSPREVIOUS the current key again, the way the rotator stays safe.

A bare `update-secret-version-stage` back to the old version is unsafe in four ways, which
this command closes before it moves anything:

1. a rotation in flight (a live claim on AWSCURRENT, or a stored successor in AWSPENDING) would
   promote its successor over the rollback, and for v2 move AWSPREVIOUS off a key that is not
   revoked (an orphan): refused;
2. the old key may be dead (revoked: `KEYGUARD_REVOKED`; expired; or refused by Momento): the
   key is proven to mint a token first, as the engine proves a successor before promoting it;
3. the claim of the rotation that made the current key names the restored version; once that
   version is current again the claim would look live and block the next rotation for its
   lease, so it is released (that rotation finished: its successor is the key rolled back from);
4. the revoke grace of the key rolled back from must run from *now*, when it stopped being
   current, not from when it was promoted (it was current minutes ago; revoking it at once
   would break every holder of a token minted with it). The rotator notices a changed
   AWSCURRENT/AWSPREVIOUS pair itself and records it when its next run sees it, which is later
   (a longer grace); before the move this command writes the engine's own `KEYGUARD_PROMOTED`
   record for the new pair with the rollback's time, so the grace is exact. Written first, a
   failure in between leaves only a longer grace, never a shorter one.

Secrets Manager moves AWSPREVIOUS to the version AWSCURRENT leaves, so rolling back twice rolls
forward again. Without `--yes` nothing changes: the plan is reported.
"""

from __future__ import annotations

from typing import Any

from keyguard_cli.status import claim_status, key_kind
from rotator.engine import CLAIM_LABEL, PROMOTED_LABEL, REVOKED_LABEL, Rotation
from rotator.secret_store import CURRENT, PENDING, PREVIOUS, SecretStore
from rotator.settings import RotatorSettings
from shared.errors import (
    MomentoAuthenticationError,
    MomentoPermissionError,
    RotationInProgressError,
    RotationStateError,
    SecretFormatError,
)
from shared.momento_access import MomentoAccess
from shared.secret_format import KeyGeneration, MasterSecret, parse_secret


class RollbackRefusedError(RotationStateError):
    """Rolling back now would lose a key, orphan one or restore a dead one; nothing was changed."""

    code = "rollback_refused"


def _warnings_for(
    secret_id: str, restored: MasterSecret, demoted: MasterSecret | None, grace: int, now: float
) -> list[str]:
    if demoted is None:
        return ["the value rolled back from is no key secret (nothing to revoke); it stays as AWSPREVIOUS"]
    return _warnings(secret_id, restored, demoted, grace, now)


def _warnings(
    secret_id: str, restored: MasterSecret, demoted: MasterSecret, grace: int, now: float
) -> list[str]:
    notes: list[str] = []
    if demoted.generation is KeyGeneration.V2 and demoted.key_id is None:
        notes.append(
            "the key rolled back from has no keyId, so no rotator run can revoke it: revoke it in the "
            "Momento console once its tokens have expired, and attach KEYGUARD_REVOKED to its version"
        )
    elif demoted.generation is KeyGeneration.V2:
        due = now + grace
        notes.append(
            "the key rolled back from stays valid as AWSPREVIOUS; a rotator run revokes it after its "
            f"grace, from epoch {int(due)} ({grace / 3600:.1f} h from now); until then the next "
            "rotation waits"
        )
        if restored.valid_until is not None and restored.valid_until <= due:
            notes.append(
                "the restored key expires before that grace ends: the rotator will then rotate without "
                "revoking the key rolled back from and report it (RevokeFailed): revoke it by hand"
            )
    elif restored.refresh_token and demoted.refresh_token and restored.refresh_token != demoted.refresh_token:
        notes.append(
            "the restored v1 key's refresh token was most likely spent making the key rolled back from: "
            "its next rotation cannot refresh it. Roll forward again (`keyguard rollback` once more) or "
            f"store a new key in {secret_id!r} before it is due"
        )
    return notes


def rollback(
    store: SecretStore,
    momento: MomentoAccess,
    settings: RotatorSettings,
    now: float,
    *,
    apply: bool,
) -> dict[str, Any]:
    """Check, then (with `apply`) move AWSCURRENT back to AWSPREVIOUS; raises `RollbackRefusedError`."""
    state = store.describe()
    current_id = state.version_with(CURRENT)
    previous_id = state.version_with(PREVIOUS)
    if current_id is None:
        raise RollbackRefusedError(f"secret {store.secret_id!r} has no AWSCURRENT version")
    if previous_id is None or previous_id == current_id:
        raise RollbackRefusedError(f"secret {store.secret_id!r} has no AWSPREVIOUS version to roll back to")
    pending_id = state.version_with(PENDING)
    if pending_id is not None and pending_id != current_id:
        raise RollbackRefusedError(
            f"a successor waits in AWSPENDING (version {pending_id}); the next rotator run would "
            "promote it over the rollback. Let a run finish it first (`keyguard rotate`), then roll back"
        )
    claim = claim_status(store, state, current_id, settings.claim_lease_seconds, now)
    if claim is not None and claim["state"] == "held":
        raise RotationInProgressError(
            f"run {claim['run_id']} holds the rotation claim of {store.secret_id!r} until epoch "
            f"{int(claim['lease_ends_at'])}; retry after it"
        )
    if REVOKED_LABEL in state.stages.get(previous_id, ()):
        raise RollbackRefusedError(f"the AWSPREVIOUS key of {store.secret_id!r} has been revoked")
    try:
        restored = parse_secret(store.secret_id, store.get(version_id=previous_id).secret_string)
    except SecretFormatError as exc:
        raise RollbackRefusedError(f"cannot roll back to AWSPREVIOUS: {exc}") from None
    try:
        demoted: MasterSecret | None = parse_secret(
            store.secret_id, store.get(version_id=current_id).secret_string
        )
    except SecretFormatError:
        demoted = None  # a broken value put by hand: rolling back away from it is the point
    if restored.valid_until is not None and restored.valid_until <= now:
        raise RollbackRefusedError(f"the AWSPREVIOUS key of {store.secret_id!r} has expired")
    try:
        momento.check_key(restored.master_key())
    except (MomentoAuthenticationError, MomentoPermissionError) as exc:
        raise RollbackRefusedError(
            f"Momento refuses the AWSPREVIOUS key of {store.secret_id!r} ({exc.code}); it cannot serve"
        ) from None
    except ValueError as exc:  # the SDK could not even decode it
        raise RollbackRefusedError(
            f"the AWSPREVIOUS key of {store.secret_id!r} is malformed ({type(exc).__name__}); it cannot serve"
        ) from None
    plan: dict[str, Any] = {
        "secret_id": store.secret_id,
        "applied": False,
        "from_version": current_id,
        "to_version": previous_id,
        "restored_key": {
            "kind": key_kind(restored),
            "expires_at": restored.valid_until,
            "key_id": restored.key_id,
        },
        "claim": None if claim is None else claim["state"],
        "warnings": _warnings_for(store.secret_id, restored, demoted, settings.v2_revoke_grace_seconds, now),
    }
    if not apply:
        return plan
    restored_claim = claim_status(store, state, previous_id, settings.claim_lease_seconds, now)
    if restored_claim is not None and restored_claim["for_version"] == previous_id:
        # The claim of the rotation away from the restored version is finished (its successor is
        # the key rolled back from); left in place, it would block the next rotation for its lease.
        store.move_stage(CLAIM_LABEL, to_version=None, from_version=restored_claim["version_id"])
    if restored.generation is KeyGeneration.V2:
        # The engine's own record of "this version replaced that one, now" (`_record_promotion`).
        engine = Rotation(store, momento, settings, lambda: now)
        engine._record_promotion(state.arn, previous_id, current_id, state.version_with(PROMOTED_LABEL))
    store.move_stage(CURRENT, to_version=previous_id, from_version=current_id)
    after = store.describe()
    if after.version_with(PREVIOUS) != current_id:
        # Secrets Manager moves AWSPREVIOUS itself; make sure, so the demoted key stays tracked.
        store.move_stage(PREVIOUS, to_version=current_id, from_version=after.version_with(PREVIOUS))
    plan["applied"] = True
    return plan
