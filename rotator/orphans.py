"""Keys a dead run created and never stored: how they are found, and where they are recorded.

A run issues its successor in one Momento call and stores it right after. A run killed
between the two leaves a live key nobody holds (an orphan). Its claim record names the
rotation id (the version id the successor was to be stored under), and every v2 key the
rotator creates carries that id in its description (`description_for`). The run that takes
over the abandoned claim lists the account's v2 keys, revokes those whose description names a
dead rotation id, and never touches a key held by AWSCURRENT, AWSPREVIOUS or AWSPENDING.

A v1 orphan (a refresh whose answer was lost) cannot be listed or revoked by any API: it is
recorded instead, like a v2 orphan whose revoke failed, in one small record labelled
`KEYGUARD_ORPHANS` (no key material: rotation id, key id if any, when, whether revoked).
Every later run retries the revoke of recorded unrevoked v2 orphans. `read_orphans` is what
`keyguard status` shows.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from rotator.secret_store import SecretState, SecretStore
from shared.errors import KeyGuardError
from shared.momento_access import ListedV2Key

ORPHANS_LABEL = "KEYGUARD_ORPHANS"
#: Entries kept in the record (newest last); older ones are dropped.
MAX_RECORDED = 50
_DESCRIPTION_PREFIX = "keyguard rotation "
_NAMESPACE = uuid.UUID("0b7f8e4e-2a55-5d0f-9a31-6f7270686e73")


@dataclass(frozen=True)
class OrphanRecord:
    rotation_id: str
    #: "v1" (cannot be revoked: lives until it expires) or "v2".
    kind: str
    #: The v2 key id; None for v1 (Momento gives v1 keys no listable id).
    key_id: str | None
    detected_at: int
    revoked: bool
    reason: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def description_for(rotation_id: str, secret_id: str) -> str:
    """The description of a v2 key the rotator creates; it leads back to the rotation."""
    return f"{_DESCRIPTION_PREFIX}{rotation_id} of {secret_id}"


def rotation_id_of(description: str) -> str | None:
    if not description.startswith(_DESCRIPTION_PREFIX):
        return None
    rest = description[len(_DESCRIPTION_PREFIX) :]
    rotation_id, _, _ = rest.partition(" ")
    return rotation_id or None


def v2_orphans(
    listed: Iterable[ListedV2Key], rotation_ids: Iterable[str], protected_key_ids: Iterable[str]
) -> tuple[ListedV2Key, ...]:
    """Listed keys created by one of `rotation_ids` and held by no protected version."""
    wanted = frozenset(rotation_ids)
    protected = frozenset(protected_key_ids)
    return tuple(
        key
        for key in listed
        if key.key_id and key.key_id not in protected and rotation_id_of(key.description) in wanted
    )


def _parse(text: str | None) -> tuple[OrphanRecord, ...]:
    try:
        document = json.loads(text or "{}")
        entries = document.get("keyguardOrphans", [])
        return tuple(
            OrphanRecord(
                rotation_id=str(entry["rotation_id"]),
                kind=str(entry["kind"]),
                key_id=entry.get("key_id") if isinstance(entry.get("key_id"), str) else None,
                detected_at=int(entry["detected_at"]),
                revoked=bool(entry.get("revoked", False)),
                reason=str(entry.get("reason", "")),
            )
            for entry in entries
            if isinstance(entry, dict)
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return ()


def read_orphans(store: SecretStore, state: SecretState) -> tuple[OrphanRecord, ...]:
    """The recorded orphans of this secret, oldest first (empty when none was ever recorded)."""
    version_id = state.version_with(ORPHANS_LABEL)
    if version_id is None:
        return ()
    try:
        return _parse(store.get(version_id=version_id).secret_string)
    except KeyGuardError:
        return ()


def record_orphans(store: SecretStore, state: SecretState, updates: Iterable[OrphanRecord]) -> None:
    """Add or replace (by rotation id and key id) entries of the record, as a new labelled version."""
    updates = tuple(updates)
    if not updates:
        return
    previous_id = state.version_with(ORPHANS_LABEL)
    known = {(entry.rotation_id, entry.key_id): entry for entry in read_orphans(store, state)}
    for entry in updates:
        known.pop((entry.rotation_id, entry.key_id), None)
        known[(entry.rotation_id, entry.key_id)] = entry
    entries = list(known.values())[-MAX_RECORDED:]
    text = json.dumps({"keyguardOrphans": [entry.to_json() for entry in entries]}, sort_keys=True)
    token = str(uuid.uuid5(_NAMESPACE, f"{state.arn}|{previous_id}|{text}"))
    store.put(token, text, (ORPHANS_LABEL,))
