"""v2 API key roles: Momento's system roles Owner, Operator and Viewer.

Powers from public-dev-docs `docs/platform/authentication/roles-and-permissions.md` (@019c888):
- Owner: "full access to account, auth, and resource management (a super-user)". Only Owner is
  called a super-user.
- Operator: "read/write to auth and resource management, read-only to account management". So it
  manages API keys (create non-owner keys, list, revoke) and caches (create, list, delete). It is
  **not** a super-user, so it mints no disposable tokens and generates no v1 keys: Momento documents
  minting only with "an API key with Super User scope" (`docs/platform/sdks/web/index.md`) and never
  names auth-management write as enough. Guess (safer): refused. Wrong → Momento lets an operator
  key mint where we refuse: a product set up with an operator key fails loudly here (vendor mints,
  rotator testSecret) but would work on Momento; never the other way round.
- Viewer: "read-only across account, auth, and resource management": lists API keys and caches,
  creates, revokes and deletes nothing, mints nothing.
Data access: Operator read/write, Viewer read — the doc states it for Databases only ("Operator has
read and write access to every Database", "Viewer has read access to every Database"); caches and
topics the same is a guess. The `role_id` strings are a guess (not documented).
"""

from __future__ import annotations

from local.momento.grants import Access, Grants, all_data

_operator_cache, _operator_topic = all_data(frozenset({Access.READ, Access.WRITE}))
_viewer_cache, _viewer_topic = all_data(frozenset({Access.READ}))

ROLES: dict[str, Grants] = {
    "owner": Grants(
        super_user=True, control=True, list_caches=True, mint=True, manage_keys=True, read_keys=True
    ),
    "operator": Grants(
        cache=_operator_cache,
        topic=_operator_topic,
        control=True,
        list_caches=True,
        manage_keys=True,
        read_keys=True,
        statements=2,
    ),
    "viewer": Grants(
        cache=_viewer_cache, topic=_viewer_topic, list_caches=True, read_keys=True, statements=2
    ),
}

#: A key may not create a key with a higher-ranked role (guess: no privilege escalation).
RANK: dict[str, int] = {"viewer": 0, "operator": 1, "owner": 2}
