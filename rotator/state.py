"""Read-only views of the rotator's state, for `keyguard status` / `rollback` and tests.

Every fact lives in the secret's versions (never in the function), as small labelled records
without key material; this module reads them the way `rotator.engine` judges them:

- the claim (`read_claim`): the `KEYGUARD_CLAIM` record `{keyguardClaim (run id), claimedAt,
  forVersion (the AWSCURRENT it rotates from), generation, pendingVersion (where the successor
  goes; also the rotation id in a v2 successor's description)}`; a claim given back moves the
  label to a release record with the same fields plus `released: true` (and `claimedAt` 0).
- when AWSCURRENT replaced AWSPREVIOUS, from which the v2 revoke grace runs (`current_since`):
  the `KEYGUARD_PROMOTED` record `{keyguardPromoted, replaced, promotedAt}`.
- the replaced v2 key is revoked: the `KEYGUARD_REVOKED` label on the AWSPREVIOUS version.
- keys dead runs created and never stored (`read_orphans`): the `KEYGUARD_ORPHANS` record
  (v1 entries stay alive until they expire; v2 entries say whether they were revoked).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rotator.engine import CLAIM_LABEL, PROMOTED_LABEL
from rotator.orphans import OrphanRecord, read_orphans
from rotator.secret_store import PREVIOUS, SecretState, SecretStore
from shared.errors import KeyGuardError

__all__ = ["ClaimRecord", "OrphanRecord", "current_since", "read_claim", "read_orphans"]


@dataclass(frozen=True)
class ClaimRecord:
    version_id: str
    run_id: str | None
    claimed_at: float
    #: The AWSCURRENT version the claimed rotation starts from; a claim for another version is history.
    for_version: str | None
    generation: int | None
    #: Where the successor is (to be) stored, and the rotation id in a v2 successor's description.
    pending_version_id: str | None
    #: The run gave it back (Momento issued nothing): the label sits on a release record.
    released: bool = False

    def held(self, current_version_id: str, now: float, lease_seconds: float) -> bool:
        """True while it blocks rotations of `current_version_id` (younger than the lease)."""
        if self.released or self.for_version != current_version_id:
            return False
        return now - self.claimed_at < lease_seconds


def read_record(store: SecretStore, version_id: str | None) -> dict[str, Any] | None:
    """A small keyguard record (claim / release / promotion; never key material) as JSON, or None."""
    if version_id is None:
        return None
    try:
        document = json.loads(store.get(version_id=version_id).secret_string or "null")
    except (KeyGuardError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def read_claim(store: SecretStore, state: SecretState) -> ClaimRecord | None:
    """The latest claim record (the one labelled `KEYGUARD_CLAIM`), or None."""
    version_id = state.version_with(CLAIM_LABEL)
    record = read_record(store, version_id)
    if version_id is None or record is None:
        return None
    claimed_at = record.get("claimedAt")
    generation = record.get("generation")

    def text(name: str) -> str | None:
        value = record.get(name)
        return value if isinstance(value, str) else None

    return ClaimRecord(
        version_id=version_id,
        run_id=text("keyguardClaim"),
        claimed_at=float(claimed_at) if isinstance(claimed_at, int | float) else 0.0,
        for_version=text("forVersion"),
        generation=generation if isinstance(generation, int) else None,
        pending_version_id=text("pendingVersion"),
        released=record.get("released") is True,
    )


def current_since(store: SecretStore, state: SecretState, current_version_id: str) -> float | None:
    """When `current_version_id` replaced today's AWSPREVIOUS as AWSCURRENT, if recorded.

    None when no record names this pair (after a rollback, until the next run records it):
    the next run then starts the grace from its own time.
    """
    record = read_record(store, state.version_with(PROMOTED_LABEL))
    if record is None or record.get("keyguardPromoted") != current_version_id:
        return None
    previous_id = state.version_with(PREVIOUS)
    if record.get("replaced", previous_id) != previous_id:
        return None
    promoted_at = record.get("promotedAt")
    return float(promoted_at) if isinstance(promoted_at, int | float) else None
