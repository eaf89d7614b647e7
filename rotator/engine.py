"""One rotation of one secret, safe against crashes and concurrent runs at every step.

The state lives in Secrets Manager, never in the function, so any run can pick up where a
dead one stopped. Versions of the secret and their labels:

- `AWSCURRENT`: the key everyone uses. Only `_promote` moves it, and only to a version whose
  key has just been proven to work.
- `AWSPENDING` on another, newer version: a successor that was stored but not yet promoted.
  The next run tests and promotes it (resume) instead of asking Momento again.
- `KEYGUARD_CLAIM`: a small record (no key material) saying which run owns the rotation away
  from a given AWSCURRENT version. Its VersionId is derived from the AWSCURRENT VersionId and a
  generation number, so PutSecretValue acts as compare-and-set: of two runs putting claim
  records with the same ClientRequestToken and different values, exactly one succeeds.
- `AWSPREVIOUS`: the key that was current before; it stays valid (v1 keys until they expire,
  v2 keys until a later run revokes them after `V2_REVOKE_GRACE_SECONDS`).
- `KEYGUARD_REVOKED`: marks the AWSPREVIOUS version whose v2 key has been revoked.
- `KEYGUARD_PROMOTED`: a small record (no key material) of when the current version became
  AWSCURRENT in place of the AWSPREVIOUS one, whatever moved it (this rotator, or an operator's
  `update-secret-version-stage` rollback: a run that finds the pair changed records it anew);
  the revoke grace of the replaced v2 key runs from then.
- `KEYGUARD_ORPHANS`: keys dead runs created and never stored (`rotator.orphans`).

Steps of `Rotation.run` and what a crash after each leaves:

1. read AWSCURRENT; drop a stale AWSPENDING; resume a newer one (test + promote).
2. revoke an AWSPREVIOUS v2 key whose grace has passed (failure: retried next run). A
   rotation waits for that revoke, but not past the current key's life (`_cannot_wait`).
3. skip unless due or forced.
4. prove the current key can mint (before a refresh token is spent on a key that cannot),
   then claim. Crash after: the claim blocks others for `CLAIM_LEASE_SECONDS`; after that a run
   takes over with the next generation, first revoking v2 keys the dead runs created and never
   stored (`rotator.orphans`). A run that Momento refused (so nothing was issued) releases its
   claim at once, as does one that failed before its Momento call.
5. one Momento call issuing the successor (refresh / v2), then at once
6. PutSecretValue AWSPENDING with a ClientRequestToken derived from the claim (retried).
   Crash between 5 and 6: v2: the next claim's owner revokes the lost key. v1: the refresh
   token is spent and the new key lost; the run taking over finds the token refused, records
   the orphan and raises `OperatorActionRequiredError` (a v1 key cannot generate a super-user
   successor). The current secret is never touched and keeps working until it expires.
7. prove the successor works (mint a one-minute token). Crash before/after: step 1 resumes.
8. move AWSCURRENT to it (the old version becomes AWSPREVIOUS), then remove AWSPENDING.
   Crash between the two: step 1 removes the leftover AWSPENDING.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Protocol

from rotator.orphans import ORPHANS_LABEL, OrphanRecord, read_orphans, record_orphans, v2_orphans
from rotator.secret_store import (
    CURRENT,
    PENDING,
    PREVIOUS,
    SecretState,
    SecretStore,
    StoredVersion,
    VersionConflictError,
)
from rotator.settings import RotatorSettings
from rotator.strategies import V1_RUNBOOK, KeyRequest, Strategy, plan
from rotator.version_hint import publish_version_hint
from shared.errors import (
    KeyGuardError,
    MomentoAuthenticationError,
    MomentoError,
    MomentoNotFoundError,
    MomentoPermissionError,
    MomentoRefreshRefusedError,
    MomentoUnavailableError,
    OperatorActionRequiredError,
    RotationInProgressError,
    RotationRefusedError,
    RotationStateError,
    SecretFormatError,
    SecretStoreError,
)
from shared.key_claims import read_claims
from shared.momento_access import MomentoAccess
from shared.secret_format import KeyGeneration, MasterSecret, parse_secret, render_secret

CLAIM_LABEL = "KEYGUARD_CLAIM"
REVOKED_LABEL = "KEYGUARD_REVOKED"
#: On a small record (no key material) saying when a v2 successor became AWSCURRENT.
PROMOTED_LABEL = "KEYGUARD_PROMOTED"
#: Claim generations one run tries before giving up (it starts at the latest claim's generation,
#: so a long outage, each run after the lease taking a new generation, never exhausts them).
MAX_CLAIM_GENERATIONS = 20
#: A key with less than this left is rotated even past an unfinished v2 revoke (a day: more than
#: any sensible schedule interval, so at least one run falls into it).
_LAST_RESORT_SECONDS = 24 * 3600
_NAMESPACE = uuid.UUID("6f1c7e0a-3b7d-5c55-9a57-6b6579677561")

Clock = Callable[[], float]


class Log(Protocol):
    def info(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...

    def warning(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...


class Outcome(StrEnum):
    ROTATED = "rotated"
    RESUMED = "resumed"
    SKIPPED = "skipped"
    #: A native rotation step that had nothing (more) to do or did its part.
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class RevokeStatus:
    """The state of the AWSPREVIOUS v2 key's revocation after this run looked at it."""

    key_id: str | None
    revoked: bool = False
    #: Epoch seconds from which the revoke may happen (still in grace when in the future).
    due_at: float | None = None
    error: KeyGuardError | None = None

    #: The rotation went ahead without the revoke, because the current key would expire first.
    overridden: bool = False

    @property
    def blocks_rotation(self) -> bool:
        """Rotating now would move AWSPREVIOUS off a key that is not revoked yet and orphan it."""
        return not (self.revoked or self.overridden)


@dataclass(frozen=True)
class RotationResult:
    secret_id: str
    outcome: Outcome
    reason: str
    strategy: str | None = None
    previous_version_id: str | None = None
    current_version_id: str | None = None
    #: Hours until the AWSCURRENT key expires after this run; None = never expires / unknown.
    hours_left: float | None = None
    revoke: RevokeStatus | None = None
    #: Orphaned keys this run found or retried: revoked ones (v2) and ones left alive.
    orphans: tuple[OrphanRecord, ...] = ()
    error: KeyGuardError | None = field(default=None, repr=False)

    @property
    def orphans_revoked(self) -> int:
        return sum(1 for orphan in self.orphans if orphan.revoked)

    @property
    def orphans_left(self) -> int:
        return sum(1 for orphan in self.orphans if not orphan.revoked)

    def log_fields(self) -> dict[str, object]:
        fields: dict[str, object] = {
            "secret_id": self.secret_id,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "strategy": self.strategy,
            "previous_version_id": self.previous_version_id,
            "current_version_id": self.current_version_id,
            "hours_left": None if self.hours_left is None else round(self.hours_left, 2),
        }
        if self.revoke is not None:
            fields["revoke_key_id"] = self.revoke.key_id
            fields["revoked"] = self.revoke.revoked
        if self.orphans:
            fields["orphans_revoked"] = self.orphans_revoked
            fields["orphans_left"] = self.orphans_left
        if self.error is not None:
            fields["error_code"] = self.error.code
            fields["error"] = str(self.error)
            if isinstance(self.error, OperatorActionRequiredError):
                fields["operator_action"] = self.error.reason
        return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True)
class Claim:
    generation: int
    version_id: str
    #: VersionId the successor is stored under (RotateSecret's token when one is in flight).
    #: Also the rotation id in a v2 successor's description.
    pending_version_id: str
    #: Rotation ids of the earlier claims on this AWSCURRENT version (released or abandoned):
    #: keys their runs created and never stored carry one of these in their description.
    earlier_rotation_ids: tuple[str, ...] = ()
    #: Some earlier claim was abandoned (its run died or lost track), not released.
    took_over_abandoned: bool = False


def _derived_id(arn: str, current_version_id: str, purpose: str, generation: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{arn}|{current_version_id}|{purpose}|{generation}"))


def hours_left(secret: MasterSecret, now: float) -> float | None:
    return None if secret.valid_until is None else (secret.valid_until - now) / 3600


def rotation_due(
    secret: MasterSecret, current_created_at: float, now: float, threshold: float
) -> tuple[bool, str]:
    """(due, why): due when less than `threshold` of the key's lifetime remains."""
    if secret.valid_until is None:
        return False, "the key never expires"
    issued_at = secret.issued_at if secret.issued_at is not None else current_created_at
    lifetime = secret.valid_until - issued_at
    remaining = secret.valid_until - now
    if remaining <= 0:
        return True, "the key has expired"
    if lifetime <= 0 or remaining < threshold * lifetime:
        return (
            True,
            f"{remaining / 3600:.1f} h left, below {threshold:.0%} of its {lifetime / 3600:.1f} h lifetime",
        )
    return False, f"{remaining / 3600:.1f} h left of {lifetime / 3600:.1f} h, rotating below {threshold:.0%}"


def _cannot_wait(secret: MasterSecret, revoke: RevokeStatus, now: float) -> bool:
    """True when waiting for the previous key's revoke would outlive the current key.

    In the grace, the revoke can only happen at `due_at`: if the current key expires by then,
    waiting loses it. After a failed revoke nobody knows when it will pass, so the rotation
    goes ahead once less than `_LAST_RESORT_SECONDS` of the key are left.
    """
    if secret.valid_until is None:
        return False
    if revoke.error is None and revoke.due_at is not None and now < revoke.due_at:
        return secret.valid_until <= revoke.due_at + _LAST_RESORT_SECONDS
    return secret.valid_until - now < _LAST_RESORT_SECONDS


@dataclass(frozen=True)
class _HeldClaim:
    claimed_at: float
    released: bool
    rotation_id: str | None


def _runbook(secret: MasterSecret) -> str:
    if secret.generation is KeyGeneration.V2:
        return (
            "Create a v2 API key with the Owner (super-user) role in the Momento console (it must "
            "mint tokens as well as manage keys; an Operator key manages keys only) and store "
            '{"apiKey", "endpoint", "keyId", "roleId"} as the secret\'s value (put-secret-value); the '
            "secret was not changed."
        )
    return V1_RUNBOOK


@dataclass
class Rotation:
    """Rotations of one secret; every dependency is handed in."""

    store: SecretStore
    momento: MomentoAccess
    settings: RotatorSettings
    clock: Clock
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log: Log = field(default_factory=lambda: logging.getLogger("rotator"))
    #: Orphaned keys this run found (also when it then fails), for the caller's metrics.
    orphans_seen: list[OrphanRecord] = field(default_factory=list, init=False)

    @property
    def secret_id(self) -> str:
        return self.store.secret_id

    def _fields(self, **values: object) -> dict[str, object]:
        return {"secret_id": self.secret_id, **{k: v for k, v in values.items() if v is not None}}

    # --- the scheduled / direct path -----------------------------------------------------------

    def run(self, *, force: bool = False) -> RotationResult:
        state = self.store.describe()
        current = self.store.get(stage=CURRENT)
        secret = parse_secret(self.secret_id, current.secret_string)
        self._clean_finished_promotion(state, current.version_id)

        placeholder: str | None = None
        pending_id = state.version_with(PENDING)
        if pending_id is not None and pending_id != current.version_id:
            pending = self.store.get(version_id=pending_id)
            if pending.secret_string is None:
                # RotateSecret staged a token and its createSecret has not run: fill that version,
                # so the native steps that follow find the work done.
                placeholder = pending_id
            elif pending.created_at >= current.created_at:
                resumed = self._resume(current, pending)
                if resumed is not None:
                    return resumed
            else:
                self.log.warning(
                    "dropping AWSPENDING older than AWSCURRENT",
                    extra=self._fields(pending_version_id=pending_id, current_version_id=current.version_id),
                )
                self.store.move_stage(PENDING, to_version=None, from_version=pending_id)

        now = self.clock()
        revoke = self._revoke_previous(state, current, secret)
        self._retry_recorded_orphans(state, secret)
        due, reason = rotation_due(secret, current.created_at, now, self.settings.rotation_threshold)
        if not (due or force):
            return self._skipped(secret, current, reason, revoke)
        self._refuse_forcing_a_forever_v1_key(secret)
        revoke = self._unless_the_key_expires_first(secret, revoke, now)
        if revoke is not None and revoke.blocks_rotation:
            if revoke.error is not None:
                return RotationResult(
                    self.secret_id,
                    Outcome.FAILED,
                    "the previous v2 key must be revoked before the next rotation",
                    current_version_id=current.version_id,
                    hours_left=hours_left(secret, now),
                    revoke=revoke,
                    orphans=tuple(self.orphans_seen),
                    error=revoke.error,
                )
            return self._skipped(
                secret,
                current,
                f"the previous v2 key {revoke.key_id} is revoked first, from epoch {int(revoke.due_at or 0)}",
                revoke,
            )

        strategy, claim, new_secret = self._issue(state, current, secret, placeholder)
        self._check(new_secret)
        self._promote(claim.pending_version_id, current.version_id, new_secret)
        return RotationResult(
            self.secret_id,
            Outcome.ROTATED,
            "forced" if force and not due else reason,
            strategy=strategy.name,
            previous_version_id=current.version_id,
            current_version_id=claim.pending_version_id,
            hours_left=hours_left(new_secret, self.clock()),
            revoke=revoke,
            orphans=tuple(self.orphans_seen),
        )

    def _refuse_forcing_a_forever_v1_key(self, secret: MasterSecret) -> None:
        """A never-expiring v1 key is never rotated: the old one would stay valid, forever, forgotten.

        Nothing can revoke a v1 key, so a "rotation" would only add a second immortal super-user
        key. (Momento issues never-expiring v1 keys without a refresh token anyway.)
        """
        claims = read_claims(secret.api_key)
        if claims.issued_at is None and claims.expires_at is None and claims.key_type is None:
            # Not a readable key at all (so no knowing that it never expires): Momento's verdict
            # on it (`key_refused`) says more than a refusal would.
            self._check_current(secret)
        if secret.generation is KeyGeneration.V1 and secret.valid_until is None:
            raise RotationRefusedError(
                f"the v1 key in {self.secret_id!r} never expires; rotating it would leave the old "
                "super-user key valid forever and out of sight, because nothing can revoke a v1 key. "
                "Move to a v2 key (revocable, renewed by the rotator) or to an expiring v1 key with a "
                "refresh token; nothing was changed"
            )

    def _unless_the_key_expires_first(
        self, secret: MasterSecret, revoke: RevokeStatus | None, now: float
    ) -> RevokeStatus | None:
        """`revoke`, or an overridden copy when waiting for it would let the current key expire.

        The old key is then left alive (merely not revoked) and reported as a revoke failure, so
        the operator revokes it by hand: an orphaned live key is bad, an expired only key worse.
        """
        if revoke is None or not revoke.blocks_rotation or not _cannot_wait(secret, revoke, now):
            return revoke
        self.log.warning(
            "rotating before the previous v2 key is revoked: the current key would expire first",
            extra=self._fields(revoke_key_id=revoke.key_id, error_code=getattr(revoke.error, "code", None)),
        )
        return RevokeStatus(
            revoke.key_id,
            due_at=revoke.due_at,
            error=RotationStateError(
                f"the previous v2 key {revoke.key_id or '(no keyId)'} of {self.secret_id!r} was not "
                "revoked before the current key had to be rotated: revoke it in the Momento console "
                "(it is no longer in the secret's AWSPREVIOUS)"
            ),
            overridden=True,
        )

    def _skipped(
        self, secret: MasterSecret, current: StoredVersion, reason: str, revoke: RevokeStatus | None
    ) -> RotationResult:
        return RotationResult(
            self.secret_id,
            Outcome.SKIPPED,
            reason,
            current_version_id=current.version_id,
            hours_left=hours_left(secret, self.clock()),
            revoke=revoke,
            orphans=tuple(self.orphans_seen),
        )

    def _clean_finished_promotion(self, state: SecretState, current_id: str) -> None:
        if PENDING in state.stages.get(current_id, ()):
            self.store.move_stage(PENDING, to_version=None, from_version=current_id)

    def _resume(self, current: StoredVersion, pending: StoredVersion) -> RotationResult | None:
        """Test and promote a stored successor; None when it is unusable and was dropped."""
        try:
            successor = parse_secret(self.secret_id, pending.secret_string)
            self.momento.check_key(successor.master_key())
        except (SecretFormatError, MomentoAuthenticationError, MomentoPermissionError) as exc:
            self.log.warning(
                "dropping an AWSPENDING successor that does not work",
                extra=self._fields(pending_version_id=pending.version_id, error_code=exc.code),
            )
            self.store.move_stage(PENDING, to_version=None, from_version=pending.version_id)
            return None
        self._promote(pending.version_id, current.version_id, successor)
        return RotationResult(
            self.secret_id,
            Outcome.RESUMED,
            "promoted the successor an interrupted run had stored",
            previous_version_id=current.version_id,
            current_version_id=pending.version_id,
            hours_left=hours_left(successor, self.clock()),
        )

    # --- check, claim, clean up after dead runs, obtain, store ---------------------------------

    def _issue(
        self, state: SecretState, current: StoredVersion, secret: MasterSecret, placeholder: str | None
    ) -> tuple[Strategy, Claim, MasterSecret]:
        """Claim the rotation and store a successor as AWSPENDING; returns what it used and made."""
        [strategy] = plan(self.settings.strategy, secret, self.secret_id, self.settings.v2_role_id)
        self._check_current(secret)
        claim = self._claim(state, current, placeholder)
        try:
            self._revoke_orphans(state, current, secret, claim)
        except Exception:
            # A bug or an outage of Secrets Manager: nothing was issued yet, so give the claim
            # back; the next claim generation searches again (it sees this one).
            self._release(claim, "the search for orphaned keys failed; nothing was issued")
            raise
        return strategy, claim, self._obtain_and_store(secret, claim, strategy)

    def _check_current(self, secret: MasterSecret) -> None:
        """Prove the current key can mint before anything is spent: a refresh token spent on a key
        that cannot mint buys a successor that cannot either."""
        try:
            self.momento.check_key(secret.master_key())
        except MomentoPermissionError:
            raise OperatorActionRequiredError(
                f"the key in {self.secret_id!r} cannot mint tokens (it is not a super-user key), so no "
                f"successor of it could; nothing was spent or changed. {_runbook(secret)}",
                reason="key_cannot_mint",
            ) from None
        except MomentoAuthenticationError:
            raise OperatorActionRequiredError(
                f"Momento refuses the key in {self.secret_id!r} (expired, revoked or not a key); "
                f"nothing can renew it. {_runbook(secret)}",
                reason="key_refused",
            ) from None

    def _claim(self, state: SecretState, current: StoredVersion, placeholder: str | None) -> Claim:
        lease = self.settings.claim_lease_seconds
        start = self._latest_generation(state, current.version_id)
        # Earlier generations' rotation ids, for the orphan search (a run that took one over
        # already searched the ones before it, but listing them again costs nothing).
        earlier: list[str] = [
            _derived_id(state.arn, current.version_id, "pending", older) for older in range(start)
        ]
        abandoned = False
        for generation in range(start, start + MAX_CLAIM_GENERATIONS):
            now = self.clock()
            claim_id = _derived_id(state.arn, current.version_id, "claim", generation)
            pending_id = placeholder or _derived_id(state.arn, current.version_id, "pending", generation)
            record = json.dumps(
                {
                    "keyguardClaim": self.run_id,
                    "claimedAt": int(now),
                    "forVersion": current.version_id,
                    "generation": generation,
                    "pendingVersion": pending_id,
                }
            )
            try:
                self.store.put(claim_id, record, (CLAIM_LABEL,))
            except VersionConflictError:
                held = self._held_claim(claim_id)
                if not held.released and now - held.claimed_at < lease:
                    raise RotationInProgressError(
                        f"another run claimed the rotation of {self.secret_id!r} "
                        f"{int(now - held.claimed_at)} s ago; retry after its {lease} s lease"
                    ) from None
                earlier.append(
                    held.rotation_id or _derived_id(state.arn, current.version_id, "pending", generation)
                )
                abandoned = abandoned or not held.released
                self.log.warning(
                    "taking over a released or abandoned rotation claim",
                    extra=self._fields(
                        claim_generation=generation,
                        released=held.released,
                        claimed_seconds_ago=int(now - held.claimed_at),
                    ),
                )
                continue
            self.log.info(
                "claimed rotation",
                extra=self._fields(
                    claim_generation=generation,
                    current_version_id=current.version_id,
                    pending_version_id=pending_id,
                ),
            )
            return Claim(generation, claim_id, pending_id, tuple(dict.fromkeys(earlier)), abandoned)
        raise RotationStateError(
            f"{MAX_CLAIM_GENERATIONS} abandoned claims in a row on {self.secret_id!r}; is it crashing?"
        )

    def _latest_generation(self, state: SecretState, current_version_id: str) -> int:
        """The generation of the labelled claim when it is for this AWSCURRENT version, else 0."""
        claim_id = state.version_with(CLAIM_LABEL)
        if claim_id is None:
            return 0
        try:
            record = json.loads(self.store.get(version_id=claim_id).secret_string or "{}")
        except (KeyGuardError, ValueError):
            return 0
        generation = record.get("generation") if isinstance(record, dict) else None
        if record.get("forVersion") != current_version_id or not isinstance(generation, int):
            return 0
        if claim_id != _derived_id(state.arn, current_version_id, "claim", generation):
            return 0  # not a record this rotator wrote
        return max(0, generation)

    def _held_claim(self, claim_id: str) -> _HeldClaim:
        """The claim under `claim_id`: when taken, whether given back (or superseded), its rotation id."""
        try:
            claim = self.store.get(version_id=claim_id)
            record = json.loads(claim.secret_string or "{}")
            rotation_id = record.get("pendingVersion")
            return _HeldClaim(
                claimed_at=float(record["claimedAt"]),
                released=CLAIM_LABEL not in claim.stages,
                rotation_id=rotation_id if isinstance(rotation_id, str) else None,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            # Unreadable: treat it as long abandoned (so the run goes on and cleans up after it).
            return _HeldClaim(0.0, False, None)

    def _release(self, claim: Claim, why: str) -> None:
        """Give the claim back (best effort: if this fails, the lease expires as before)."""
        try:
            self.store.move_stage(CLAIM_LABEL, to_version=None, from_version=claim.version_id)
        except KeyGuardError as release_error:
            self.log.warning(
                "could not release the rotation claim; it expires after its lease",
                extra=self._fields(error_code=release_error.code),
            )
            return
        self.log.info("released the rotation claim", extra=self._fields(reason=why))

    def _release_unless_ambiguous(self, claim: Claim, exc: KeyGuardError) -> None:
        """Give the claim back when Momento certainly issued nothing, so the next run need not wait.

        A refusal (refresh token spent, key expired or not allowed, quota exceeded, bad request) is
        Momento's answer that nothing was issued. An unavailable Momento or a timeout may hide a
        success (a refresh token spent, its successor lost), so that claim is kept for its lease.
        """
        if isinstance(exc, MomentoUnavailableError) or not isinstance(exc, MomentoError):
            return
        self._release(claim, "Momento refused; nothing was issued")

    def _obtain_and_store(self, secret: MasterSecret, claim: Claim, strategy: Strategy) -> MasterSecret:
        request = KeyRequest(
            secret_id=self.secret_id,
            now=self.clock(),
            valid_seconds=self.settings.generated_key_valid_seconds,
            v2_role_id=self.settings.v2_role_id,
            rotation_id=claim.pending_version_id,
        )
        try:
            issued = strategy.obtain(self.momento, secret, request)
        except KeyGuardError as exc:
            self._release_unless_ambiguous(claim, exc)
            if isinstance(exc, MomentoRefreshRefusedError):
                raise self._refresh_refused(claim) from None
            raise
        # Nothing between Momento's answer and the write: a refresh token is spent by now.
        successor = secret.with_issued_key(issued)
        try:
            self._store_pending(claim.pending_version_id, render_secret(successor))
        except SecretStoreError:
            self._unstored_successor(claim, secret, issued.key_id)
            raise
        lost = successor.fields_lost_on_render()
        self.log.info(
            "stored successor as AWSPENDING",
            extra=self._fields(
                strategy=strategy.name,
                pending_version_id=claim.pending_version_id,
                fields_not_stored=list(lost) or None,
            ),
        )
        return successor

    def _refresh_refused(self, claim: Claim) -> OperatorActionRequiredError:
        """The error for a refused refresh token; records the v1 orphan a dead run left, if any.

        After taking over an abandoned claim, a refused token means the dead run spent it: Momento
        gave that run a key that was never stored. It stays valid until it expires and no API can
        revoke it, so it is recorded (log, `OrphanedKeys` metric, the orphans record).
        """
        if claim.took_over_abandoned and claim.earlier_rotation_ids:
            orphan = OrphanRecord(
                rotation_id=claim.earlier_rotation_ids[-1],
                kind="v1",
                key_id=None,
                detected_at=int(self.clock()),
                revoked=False,
                reason="an interrupted run spent the refresh token; the key it got was never stored "
                "and stays valid until it expires (v1 keys cannot be revoked)",
            )
            self._remember_orphans([orphan])
        return OperatorActionRequiredError(
            f"Momento refused the refresh token of {self.secret_id!r} (spent by an interrupted run or "
            "another tool, or expired): a v1 key cannot renew itself another way. " + V1_RUNBOOK,
            reason="refresh_refused",
        )

    def _store_pending(self, version_id: str, value: str) -> None:
        try:
            self.store.put(version_id, value, (PENDING,))
        except KeyGuardError as exc:
            raise SecretStoreError(
                f"Momento issued a successor for {self.secret_id!r} but storing it as AWSPENDING failed "
                f"({exc.code}); the current key is untouched and a run after the claim lease takes over"
            ) from exc

    def _unstored_successor(self, claim: Claim, secret: MasterSecret, key_id: str | None) -> None:
        """The successor could not be stored: revoke it at once (v2) or record it (v1)."""
        if key_id is not None:
            try:
                self.momento.revoke_v2(secret.master_key(), key_id)
            except KeyGuardError as exc:
                # The run that takes over the claim finds it by its description and revokes it.
                self.log.warning(
                    "could not revoke the successor that could not be stored; the next claim's run will",
                    extra=self._fields(key_id=key_id, error_code=exc.code),
                )
                return
            self.log.info("revoked the successor that could not be stored", extra=self._fields(key_id=key_id))
            self.orphans_seen.append(
                OrphanRecord(claim.pending_version_id, "v2", key_id, int(self.clock()), True, "not stored")
            )
            self._release(claim, "the successor was revoked; nothing is outstanding")
            return
        self._remember_orphans(
            [
                OrphanRecord(
                    claim.pending_version_id,
                    "v1",
                    None,
                    int(self.clock()),
                    False,
                    "storing the refreshed key failed; it stays valid until it expires",
                )
            ]
        )

    def _remember_orphans(self, orphans: list[OrphanRecord]) -> None:
        """Log each orphan, count it for this run's metrics, and add it to the orphans record."""
        for orphan in orphans:
            log = self.log.info if orphan.revoked else self.log.warning
            log(
                "revoked an orphaned key" if orphan.revoked else "orphaned key left alive",
                extra=self._fields(
                    orphan_kind=orphan.kind,
                    orphan_key_id=orphan.key_id,
                    orphan_rotation_id=orphan.rotation_id,
                    reason=orphan.reason,
                ),
            )
        self.orphans_seen.extend(orphans)
        try:
            record_orphans(self.store, self.store.describe(), orphans)
        except KeyGuardError as exc:
            self.log.warning("could not update the orphans record", extra=self._fields(error_code=exc.code))

    def _protected_key_ids(self, state: SecretState) -> set[str]:
        """keyIds held by AWSCURRENT, AWSPREVIOUS or AWSPENDING: never revoked as orphans."""
        protected: set[str] = set()
        for stage in (CURRENT, PREVIOUS, PENDING):
            version_id = state.version_with(stage)
            if version_id is None:
                continue
            text = self.store.get(version_id=version_id).secret_string
            if text is None:
                continue
            try:
                key_id = parse_secret(self.secret_id, text).key_id
            except SecretFormatError:
                continue
            if key_id is not None:
                protected.add(key_id)
        return protected

    def _revoke_orphans(
        self, state: SecretState, current: StoredVersion, secret: MasterSecret, claim: Claim
    ) -> None:
        """Revoke v2 keys that runs of earlier claims on this version created and never stored."""
        if secret.generation is not KeyGeneration.V2 or not claim.earlier_rotation_ids:
            return
        master = secret.master_key()
        try:
            listed = self.momento.list_v2_keys(master)
        except KeyGuardError as exc:
            # Rotation must not wait on the search (the current key would expire): the dead runs'
            # rotation ids are recorded as suspected orphans (OrphanedKeys alarm); their keys are
            # findable in the Momento console by the description "keyguard rotation <id> ...".
            self.log.warning(
                "could not search for orphaned v2 keys; recording the dead rotations instead",
                extra=self._fields(error_code=exc.code),
            )
            self._remember_orphans(
                [
                    OrphanRecord(
                        rotation_id,
                        "v2",
                        None,
                        int(self.clock()),
                        False,
                        f"not searched ({exc.code}): revoke keys described 'keyguard rotation {rotation_id}'",
                    )
                    for rotation_id in claim.earlier_rotation_ids
                ]
            )
            return
        found = v2_orphans(listed, claim.earlier_rotation_ids, self._protected_key_ids(state))
        results: list[OrphanRecord] = []
        for key in found:
            revoked = True
            try:
                self.momento.revoke_v2(master, key.key_id)
            except MomentoNotFoundError:
                pass  # listed a moment ago, gone now: revoked meanwhile
            except KeyGuardError as exc:
                revoked = False
                self.log.warning(
                    "revoking an orphaned v2 key failed; later runs retry",
                    extra=self._fields(key_id=key.key_id, error_code=exc.code),
                )
            rotation_id = next(r for r in claim.earlier_rotation_ids if r in key.description)
            results.append(
                OrphanRecord(
                    rotation_id,
                    "v2",
                    key.key_id,
                    int(self.clock()),
                    revoked,
                    "created by an interrupted run and never stored",
                )
            )
        if results:
            self._remember_orphans(results)

    def _retry_recorded_orphans(self, state: SecretState, secret: MasterSecret) -> None:
        """Retry the revoke of recorded v2 orphans that are still alive (a failed earlier revoke)."""
        if secret.generation is not KeyGeneration.V2 or state.version_with(ORPHANS_LABEL) is None:
            return
        recorded = [o for o in read_orphans(self.store, state) if o.kind == "v2" and not o.revoked]
        alive = [o for o in recorded if o.key_id]
        done: list[OrphanRecord] = self._search_suspected(
            state, secret, [o for o in recorded if not o.key_id]
        )
        for orphan in alive:
            try:
                self.momento.revoke_v2(secret.master_key(), orphan.key_id or "")
            except MomentoNotFoundError:
                pass  # revoked by hand meanwhile
            except KeyGuardError as exc:
                self.log.warning(
                    "revoking a recorded orphaned v2 key failed again",
                    extra=self._fields(key_id=orphan.key_id, error_code=exc.code),
                )
                self.orphans_seen.append(orphan)
                continue
            done.append(replace(orphan, revoked=True))
        if done:
            self._remember_orphans(done)

    def _search_suspected(
        self, state: SecretState, secret: MasterSecret, suspected: list[OrphanRecord]
    ) -> list[OrphanRecord]:
        """Search again for the keys of dead rotations an earlier search could not list."""
        if not suspected:
            return []
        master = secret.master_key()
        try:
            listed = self.momento.list_v2_keys(master)
        except KeyGuardError as exc:
            self.log.warning(
                "could not search for orphaned v2 keys again", extra=self._fields(error_code=exc.code)
            )
            return []
        rotation_ids = [o.rotation_id for o in suspected]
        settled: list[OrphanRecord] = []
        for key in v2_orphans(listed, rotation_ids, self._protected_key_ids(state)):
            rotation_id = next(r for r in rotation_ids if r in key.description)
            try:
                self.momento.revoke_v2(master, key.key_id)
            except MomentoNotFoundError:
                pass
            except KeyGuardError as exc:
                settled.append(
                    OrphanRecord(
                        rotation_id, "v2", key.key_id, int(self.clock()), False, f"revoke failed ({exc.code})"
                    )
                )
                continue
            settled.append(
                OrphanRecord(
                    rotation_id, "v2", key.key_id, int(self.clock()), True, "found on a later search"
                )
            )
        # The search itself succeeded: the suspicion is settled either way.
        settled.extend(
            replace(o, revoked=True, reason="searched again; its keys are listed above") for o in suspected
        )
        return settled

    def _check(self, successor: MasterSecret) -> None:
        self.momento.check_key(successor.master_key())

    # --- promotion and when a key stopped being current ---------------------------------------

    def _promote(self, new_id: str, old_id: str, successor: MasterSecret) -> None:
        self.store.move_stage(CURRENT, to_version=new_id, from_version=old_id)
        self.log.info(
            "promoted successor to AWSCURRENT",
            extra=self._fields(current_version_id=new_id, previous_version_id=old_id),
        )
        hint_cache = self.settings.version_hint_cache_name
        publish_version_hint(hint_cache, self.store, self.momento, successor.master_key(), new_id, self.log)
        try:
            self.store.move_stage(PENDING, to_version=None, from_version=new_id)
        except KeyGuardError as exc:
            # AWSPENDING on the AWSCURRENT version means "rotation complete" to Secrets Manager;
            # the next run removes it. The key is rotated, so this run does not fail for it.
            self.log.warning(
                "could not remove AWSPENDING from the promoted version; the next run will",
                extra=self._fields(current_version_id=new_id, error_code=exc.code),
            )
        if successor.generation is KeyGeneration.V2:
            try:
                state = self.store.describe()
                self._record_promotion(state.arn, new_id, old_id, state.version_with(PROMOTED_LABEL))
            except KeyGuardError as exc:
                # The next run records it instead, at a later time: a longer grace, never a shorter one.
                self.log.warning(
                    "could not record when the v2 successor became current; the next run will",
                    extra=self._fields(current_version_id=new_id, error_code=exc.code),
                )

    def _record_promotion(
        self, arn: str, version_id: str, previous_id: str | None, prior_marker_id: str | None
    ) -> float:
        """Record that `version_id` replaced `previous_id` as AWSCURRENT now; returns the recorded time.

        The revoke grace of the replaced key runs from this moment. The marker's id depends on the
        pair and on the marker it replaces, so the same pair coming back later (rolled back, then
        forward again) gets a new record with a new time, while concurrent runs that saw the same
        state meet at one id. A record written late (by a later run) only lengthens the grace.
        """
        now = self.clock()
        marker_id = _derived_id(arn, f"{version_id}|{previous_id}|{prior_marker_id}", "promoted", 0)
        record = json.dumps({"keyguardPromoted": version_id, "replaced": previous_id, "promotedAt": int(now)})
        try:
            self.store.put(marker_id, record, (PROMOTED_LABEL,))
        except VersionConflictError:
            # A concurrent run recorded the same change first: that earlier time is the one that counts.
            recorded = self._promoted_record(marker_id, version_id, previous_id)
            return now if recorded is None else recorded
        return float(int(now))

    def _promoted_record(self, marker_id: str, version_id: str, previous_id: str | None) -> float | None:
        try:
            record = json.loads(self.store.get(version_id=marker_id).secret_string or "{}")
            if record.get("keyguardPromoted") != version_id:
                return None
            # Records from before `replaced` existed name only the promoted version.
            if record.get("replaced", previous_id) != previous_id:
                return None
            return float(record["promotedAt"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def _current_since(self, state: SecretState, current: StoredVersion, secret: MasterSecret) -> float:
        """When AWSCURRENT last moved to this version from AWSPREVIOUS, never earlier than it did.

        Whatever moved it: this rotator records it at promotion; after an operator's
        `update-secret-version-stage` (a rollback) the record names another pair, and the first
        run that sees the new pair records it with its own time.
        """
        previous_id = state.version_with(PREVIOUS)
        marker_id = state.version_with(PROMOTED_LABEL)
        recorded = None
        if marker_id is not None:
            recorded = self._promoted_record(marker_id, current.version_id, previous_id)
        if recorded is None:
            recorded = self._record_promotion(state.arn, current.version_id, previous_id, marker_id)
        # A key cannot have been in use before its version existed or before Momento issued it.
        return max(recorded, current.created_at, float(secret.issued_at or 0))

    # --- v2: revoke the replaced key after its grace -----------------------------------------

    def _revoke_previous(
        self, state: SecretState, current: StoredVersion, secret: MasterSecret
    ) -> RevokeStatus | None:
        previous_id = state.version_with(PREVIOUS)
        if secret.generation is not KeyGeneration.V2 or previous_id is None:
            return None
        if REVOKED_LABEL in state.stages.get(previous_id, ()):
            return None
        try:
            previous = parse_secret(self.secret_id, self.store.get(version_id=previous_id).secret_string)
        except SecretFormatError:
            return None
        if previous.generation is not KeyGeneration.V2 or previous.api_key == secret.api_key:
            return None
        if previous.key_id is None or previous.key_id == secret.key_id:
            error = RotationStateError(
                f"the AWSPREVIOUS v2 key of {self.secret_id!r} (version {previous_id}) has no keyId, so it "
                f"cannot be revoked automatically: revoke it in the Momento console, then attach the "
                f"{REVOKED_LABEL} label to that version"
            )
            return RevokeStatus(None, error=error)
        # The grace runs from when the previous key stopped being current (whatever moved it).
        due_at = self._current_since(state, current, secret) + self.settings.v2_revoke_grace_seconds
        if self.clock() < due_at:
            return RevokeStatus(previous.key_id, due_at=due_at)
        try:
            self.momento.revoke_v2(secret.master_key(), previous.key_id)
        except MomentoNotFoundError:
            failure = self._still_alive(previous, previous_id)
            if failure is not None:
                self.log.warning(
                    "revoke answered 404 but the previous v2 key still works",
                    extra=self._fields(key_id=previous.key_id, error_code=failure.code),
                )
                return RevokeStatus(previous.key_id, due_at=due_at, error=failure)
        except KeyGuardError as exc:
            self.log.warning(
                "revoking the previous v2 key failed; the next run retries",
                extra=self._fields(key_id=previous.key_id, error_code=exc.code),
            )
            return RevokeStatus(previous.key_id, due_at=due_at, error=exc)
        self.store.move_stage(
            REVOKED_LABEL, to_version=previous_id, from_version=state.version_with(REVOKED_LABEL)
        )
        self.log.info(
            "revoked the previous v2 key", extra=self._fields(key_id=previous.key_id, version_id=previous_id)
        )
        return RevokeStatus(previous.key_id, revoked=True, due_at=due_at)

    def _still_alive(self, previous: MasterSecret, previous_id: str) -> KeyGuardError | None:
        """After a 404: None when the key is really gone, else why the revoke does not count.

        Momento answers 404 for a key id it does not know. That is "already revoked" only if the
        key itself no longer authenticates; if it still does, the stored keyId is not this key's.
        """
        try:
            self.momento.check_key(previous.master_key())
        except MomentoAuthenticationError:
            return None
        except MomentoPermissionError:
            pass  # authenticated, merely not allowed to mint: alive
        except KeyGuardError as exc:
            return exc  # cannot tell now; the next run retries
        return RotationStateError(
            f"Momento knows no v2 key {previous.key_id!r} (404), yet the AWSPREVIOUS key of "
            f"{self.secret_id!r} (version {previous_id}) still authenticates: the stored keyId does not "
            "belong to it. Find the key in the Momento console (its description names the rotation), "
            f"revoke it, then attach the {REVOKED_LABEL} label to that version"
        )

    # --- the native rotation steps ------------------------------------------------------------

    def create_pending(self, token: str) -> RotationResult:
        """createSecret: store a successor under RotateSecret's token (no-op when already there)."""
        state = self.store.describe()
        existing = self.store.get(version_id=token)
        if existing.secret_string is not None:
            return RotationResult(
                self.secret_id, Outcome.DONE, "successor already stored", current_version_id=None
            )
        current = self.store.get(stage=CURRENT)
        secret = parse_secret(self.secret_id, current.secret_string)
        self._refuse_forcing_a_forever_v1_key(secret)
        self._retry_recorded_orphans(state, secret)
        revoke = self._unless_the_key_expires_first(
            secret, self._revoke_previous(state, current, secret), self.clock()
        )
        if revoke is not None and revoke.blocks_rotation:
            if revoke.error is not None:
                raise revoke.error
            raise RotationInProgressError(
                f"the previous v2 key of {self.secret_id!r} is in its revoke grace until epoch "
                f"{int(revoke.due_at or 0)}; rotate after that"
            )
        strategy, _, _ = self._issue(state, current, secret, token)
        return RotationResult(
            self.secret_id,
            Outcome.DONE,
            "successor stored as AWSPENDING",
            strategy=strategy.name,
            previous_version_id=current.version_id,
            current_version_id=token,
            revoke=revoke,
            orphans=tuple(self.orphans_seen),
        )

    def _stored_successor(self, token: str, step: str) -> StoredVersion:
        version = self.store.get(version_id=token)
        if version.secret_string is None and CURRENT not in version.stages:
            raise RotationStateError(
                f"{step}: no successor is stored under version {token} of {self.secret_id!r} yet; "
                "createSecret has not run (or failed) for this rotation"
            )
        return version

    def test_pending(self, token: str) -> RotationResult:
        """testSecret: the successor under `token` mints a token; already AWSCURRENT = done."""
        version = self._stored_successor(token, "testSecret")
        if CURRENT in version.stages:
            # A scheduled run tested and promoted it between this step's checks and its read.
            return RotationResult(
                self.secret_id, Outcome.DONE, "rotation already complete", current_version_id=token
            )
        self._check(parse_secret(self.secret_id, version.secret_string))
        return RotationResult(self.secret_id, Outcome.DONE, "successor works", current_version_id=token)

    def finish(self, token: str) -> RotationResult:
        """finishSecret: promote `token`; already AWSCURRENT means an earlier attempt finished."""
        state = self.store.describe()
        current_id = state.version_with(CURRENT)
        if current_id == token:
            self._clean_finished_promotion(state, token)
            return RotationResult(
                self.secret_id, Outcome.DONE, "already AWSCURRENT", current_version_id=token
            )
        if current_id is None:
            raise RotationStateError(f"secret {self.secret_id!r} has no AWSCURRENT version")
        version = self._stored_successor(token, "finishSecret")
        successor = parse_secret(self.secret_id, version.secret_string)
        self._promote(token, current_id, successor)
        return RotationResult(
            self.secret_id,
            Outcome.ROTATED,
            "promoted by finishSecret",
            previous_version_id=current_id,
            current_version_id=token,
            hours_left=hours_left(successor, self.clock()),
        )
