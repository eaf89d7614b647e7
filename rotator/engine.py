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
- `KEYGUARD_PROMOTED`: a small record (no key material) of when the current v2 key became
  AWSCURRENT; the revoke grace of the key it replaced runs from then.

Steps of `Rotation.run` and what a crash after each leaves:

1. read AWSCURRENT; drop a stale AWSPENDING; resume a newer one (test + promote).
2. revoke an AWSPREVIOUS v2 key whose grace has passed (failure: retried next run). A
   rotation waits for that revoke, but not past the current key's life (`_cannot_wait`).
3. skip unless due or forced.
4. claim. Crash after: the claim blocks others for `CLAIM_LEASE_SECONDS`; after that a run
   takes over with the next generation and refreshes (the token was never spent). A run that
   Momento refused (so nothing was issued) releases its claim at once.
5. one Momento call issuing the successor (refresh / generate / v2), then at once
6. PutSecretValue AWSPENDING with a ClientRequestToken derived from the claim (retried).
   Crash between 5 and 6: the refresh token is spent and the new key lost. After the lease a
   run takes over, Momento refuses the spent token, and `generate` mints a replacement with
   the still-valid current key; if that key has expired too, the operator must act
   (`MomentoRefreshRefusedError` says what to do). The current secret is never touched.
7. prove the successor works (mint a one-minute token). Crash before/after: step 1 resumes.
8. move AWSCURRENT to it (the old version becomes AWSPREVIOUS), then remove AWSPENDING.
   Crash between the two: step 1 removes the leftover AWSPENDING.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

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
from rotator.strategies import KeyRequest, Strategy, may_fall_back, plan
from shared.errors import (
    KeyGuardError,
    MomentoAuthenticationError,
    MomentoError,
    MomentoPermissionError,
    MomentoRefreshRefusedError,
    MomentoUnavailableError,
    RotationInProgressError,
    RotationStateError,
    SecretFormatError,
    SecretStoreError,
)
from shared.momento_access import MomentoAccess
from shared.secret_format import KeyGeneration, MasterSecret, parse_secret, render_secret

CLAIM_LABEL = "KEYGUARD_CLAIM"
REVOKED_LABEL = "KEYGUARD_REVOKED"
#: On a small record (no key material) saying when a v2 successor became AWSCURRENT.
PROMOTED_LABEL = "KEYGUARD_PROMOTED"
#: Takeovers of abandoned claims on one AWSCURRENT version before giving up.
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
    error: KeyGuardError | None = field(default=None, repr=False)

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
        if self.error is not None:
            fields["error_code"] = self.error.code
            fields["error"] = str(self.error)
        return {name: value for name, value in fields.items() if value is not None}


@dataclass(frozen=True)
class Claim:
    generation: int
    version_id: str
    #: VersionId the successor is stored under (RotateSecret's token when one is in flight).
    pending_version_id: str


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


@dataclass
class Rotation:
    """Rotations of one secret; every dependency is handed in."""

    store: SecretStore
    momento: MomentoAccess
    settings: RotatorSettings
    clock: Clock
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log: Log = field(default_factory=lambda: logging.getLogger("rotator"))

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
        due, reason = rotation_due(secret, current.created_at, now, self.settings.rotation_threshold)
        if not (due or force):
            return self._skipped(secret, current, reason, revoke)
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
                    error=revoke.error,
                )
            return self._skipped(
                secret,
                current,
                f"the previous v2 key {revoke.key_id} is revoked first, from epoch {int(revoke.due_at or 0)}",
                revoke,
            )

        strategies = plan(self.settings.strategy, secret, self.secret_id, self.settings.v2_role_id)
        claim = self._claim(state, current, placeholder)
        new_secret, strategy = self._obtain_and_store(secret, claim, strategies)
        self._check(new_secret)
        self._promote(claim.pending_version_id, current.version_id, new_secret)
        return RotationResult(
            self.secret_id,
            Outcome.ROTATED,
            "forced" if force and not due else reason,
            strategy=strategy,
            previous_version_id=current.version_id,
            current_version_id=claim.pending_version_id,
            hours_left=hours_left(new_secret, self.clock()),
            revoke=revoke,
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

    # --- claim, obtain, store, test, promote --------------------------------------------------

    def _claim(self, state: SecretState, current: StoredVersion, placeholder: str | None) -> Claim:
        lease = self.settings.claim_lease_seconds
        for generation in range(MAX_CLAIM_GENERATIONS):
            now = self.clock()
            claim_id = _derived_id(state.arn, current.version_id, "claim", generation)
            record = json.dumps(
                {
                    "keyguardClaim": self.run_id,
                    "claimedAt": int(now),
                    "forVersion": current.version_id,
                    "generation": generation,
                }
            )
            try:
                self.store.put(claim_id, record, (CLAIM_LABEL,))
            except VersionConflictError:
                held_since = self._claimed_at(claim_id)
                if now - held_since < lease:
                    raise RotationInProgressError(
                        f"another run claimed the rotation of {self.secret_id!r} "
                        f"{int(now - held_since)} s ago; retry after its {lease} s lease"
                    ) from None
                self.log.warning(
                    "taking over a released or abandoned rotation claim",
                    extra=self._fields(
                        claim_generation=generation, claimed_seconds_ago=int(now - held_since)
                    ),
                )
                continue
            pending_id = placeholder or _derived_id(state.arn, current.version_id, "pending", generation)
            self.log.info(
                "claimed rotation",
                extra=self._fields(
                    claim_generation=generation,
                    current_version_id=current.version_id,
                    pending_version_id=pending_id,
                ),
            )
            return Claim(generation, claim_id, pending_id)
        raise RotationStateError(
            f"{MAX_CLAIM_GENERATIONS} abandoned claims on {self.secret_id!r}; is the rotator crashing?"
        )

    def _claimed_at(self, claim_id: str) -> float:
        """When the claim was taken; 0 (long ago) when it was released or a newer claim replaced it."""
        try:
            claim = self.store.get(version_id=claim_id)
            if CLAIM_LABEL not in claim.stages:
                return 0.0
            record = json.loads(claim.secret_string or "{}")
            return float(record["claimedAt"])
        except (ValueError, KeyError, TypeError):
            return 0.0

    def _release_unless_ambiguous(self, claim: Claim, exc: KeyGuardError) -> None:
        """Give the claim back when Momento certainly issued nothing, so the next run need not wait.

        A refusal (refresh token spent, key expired or not allowed, quota exceeded, bad request) is
        Momento's answer that nothing was issued. An unavailable Momento or a timeout may hide a
        success (a refresh token spent, its successor lost), so that claim is kept for its lease
        and the run after it takes the generate path. Releasing is best effort: if it fails, the
        lease expires as before.
        """
        if isinstance(exc, MomentoUnavailableError) or not isinstance(exc, MomentoError):
            return
        try:
            self.store.move_stage(CLAIM_LABEL, to_version=None, from_version=claim.version_id)
        except KeyGuardError as release_error:
            self.log.warning(
                "could not release the rotation claim; it expires after its lease",
                extra=self._fields(error_code=release_error.code),
            )
            return
        self.log.info("released the rotation claim: Momento issued nothing", extra=self._fields())

    def _obtain_and_store(
        self, secret: MasterSecret, claim: Claim, strategies: tuple[Strategy, ...]
    ) -> tuple[MasterSecret, str]:
        now = self.clock()
        request = KeyRequest(
            secret_id=self.secret_id,
            now=now,
            valid_seconds=self.settings.generated_key_valid_seconds,
            v2_role_id=self.settings.v2_role_id,
            rotation_id=claim.pending_version_id,
        )
        for index, strategy in enumerate(strategies):
            try:
                issued = strategy.obtain(self.momento, secret, request)
            except KeyGuardError as exc:
                if index + 1 < len(strategies) and may_fall_back(exc, secret, now):
                    self.log.warning(
                        "refresh token refused; generating a replacement with the current key",
                        extra=self._fields(strategy=strategies[index + 1].name, error_code=exc.code),
                    )
                    continue
                self._release_unless_ambiguous(claim, exc)
                if isinstance(exc, MomentoRefreshRefusedError):
                    raise MomentoRefreshRefusedError(
                        f"Momento refused the refresh token of {self.secret_id!r} and the current key cannot "
                        "replace itself (expired, or strategy 'refresh' forbids generating). Create a new "
                        "super-user key with a refresh token in the Momento console and store it as the "
                        "secret's value (put-secret-value); the current secret was not changed."
                    ) from None
                raise
            # Nothing between Momento's answer and the write: a refresh token is spent by now.
            successor = secret.with_issued_key(issued)
            self._store_pending(claim.pending_version_id, render_secret(successor))
            lost = successor.fields_lost_on_render()
            self.log.info(
                "stored successor as AWSPENDING",
                extra=self._fields(
                    strategy=strategy.name,
                    pending_version_id=claim.pending_version_id,
                    fields_not_stored=list(lost) or None,
                ),
            )
            return successor, strategy.name
        raise RotationStateError(f"no strategy applies to {self.secret_id!r}")  # pragma: no cover

    def _store_pending(self, version_id: str, value: str) -> None:
        try:
            self.store.put(version_id, value, (PENDING,))
        except KeyGuardError as exc:
            raise SecretStoreError(
                f"Momento issued a successor for {self.secret_id!r} but storing it as AWSPENDING failed "
                f"({exc.code}); the current key is untouched and a run after the claim lease "
                "replaces the lost successor"
            ) from exc

    def _check(self, successor: MasterSecret) -> None:
        self.momento.check_key(successor.master_key())

    def _promote(self, new_id: str, old_id: str, successor: MasterSecret) -> None:
        self.store.move_stage(CURRENT, to_version=new_id, from_version=old_id)
        self.log.info(
            "promoted successor to AWSCURRENT",
            extra=self._fields(current_version_id=new_id, previous_version_id=old_id),
        )
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
                self._record_promotion(self.store.describe().arn, new_id)
            except KeyGuardError as exc:
                # The next run records it instead, at a later time: a longer grace, never a shorter one.
                self.log.warning(
                    "could not record when the v2 successor became current; the next run will",
                    extra=self._fields(current_version_id=new_id, error_code=exc.code),
                )

    def _record_promotion(self, arn: str, version_id: str) -> float:
        """Record (once) when `version_id` became AWSCURRENT; returns the recorded time.

        The revoke grace of the key it replaced runs from this moment. The version's own
        creation is too early when a stored successor is promoted later (resumed after a
        crash, or a native rotation's finishSecret): its predecessor's tokens live on from the
        promotion. A record written late (by a later run) only lengthens the grace.
        """
        now = self.clock()
        marker_id = _derived_id(arn, version_id, "promoted", 0)
        record = json.dumps({"keyguardPromoted": version_id, "promotedAt": int(now)})
        try:
            self.store.put(marker_id, record, (PROMOTED_LABEL,))
        except VersionConflictError:
            # An earlier run recorded it: that earlier time is the one that counts.
            recorded = self._promoted_record(marker_id, version_id)
            return now if recorded is None else recorded
        return float(int(now))

    def _promoted_record(self, marker_id: str, version_id: str) -> float | None:
        try:
            record = json.loads(self.store.get(version_id=marker_id).secret_string or "{}")
            if record.get("keyguardPromoted") != version_id:
                return None
            return float(record["promotedAt"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def _became_current(self, state: SecretState, current: StoredVersion, secret: MasterSecret) -> float:
        """When the current v2 key became AWSCURRENT, never earlier than it really did."""
        marker_id = state.version_with(PROMOTED_LABEL)
        recorded = None if marker_id is None else self._promoted_record(marker_id, current.version_id)
        if recorded is None:
            recorded = self._record_promotion(state.arn, current.version_id)
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
        # The grace runs from when the successor became current (recorded at its promotion).
        due_at = self._became_current(state, current, secret) + self.settings.v2_revoke_grace_seconds
        if self.clock() < due_at:
            return RevokeStatus(previous.key_id, due_at=due_at)
        try:
            self.momento.revoke_v2(secret.master_key(), previous.key_id)
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
        strategies = plan(self.settings.strategy, secret, self.secret_id, self.settings.v2_role_id)
        claim = self._claim(state, current, token)
        _, strategy = self._obtain_and_store(secret, claim, strategies)
        return RotationResult(
            self.secret_id,
            Outcome.DONE,
            "successor stored as AWSPENDING",
            strategy=strategy,
            previous_version_id=current.version_id,
            current_version_id=token,
            revoke=revoke,
        )

    def test_pending(self, token: str) -> RotationResult:
        """testSecret: the successor under `token` mints a token."""
        pending = self.store.get(version_id=token, stage=PENDING)
        successor = parse_secret(self.secret_id, pending.secret_string)
        self._check(successor)
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
        successor = parse_secret(self.secret_id, self.store.get(version_id=token).secret_string)
        self._promote(token, current_id, successor)
        return RotationResult(
            self.secret_id,
            Outcome.ROTATED,
            "promoted by finishSecret",
            previous_version_id=current_id,
            current_version_id=token,
            hours_left=hours_left(successor, self.clock()),
        )
