"""v2 API key roles: Momento's system roles Owner, Operator and Viewer.

Powers from public-dev-docs `docs/platform/authentication/roles-and-permissions.md`: Owner = super-user;
Operator = read/write auth and resource management (so it may manage API keys), read-only account
management; Viewer = read-only across account, auth and resource management (so it may list keys,
not create or revoke them). Data access: Operator read/write, Viewer read (the doc's Database rules;
assumed the same for caches and topics). The `role_id` strings are a guess (not documented).
"""

from __future__ import annotations

from local.momento.grants import Access, Grants, all_data

_READ = frozenset({Access.READ})
_viewer_cache, _viewer_topic = all_data(_READ)

ROLES: dict[str, Grants] = {
    "owner": Grants(super_user=True, control=True, mint=True, manage_keys=True, read_keys=True),
    "operator": Grants(super_user=True, control=True, mint=True, manage_keys=True, read_keys=True),
    "viewer": Grants(cache=_viewer_cache, topic=_viewer_topic, read_keys=True, statements=2),
}

#: A key may not create a key with a higher-ranked role (guess: no privilege escalation).
RANK: dict[str, int] = {"viewer": 0, "operator": 1, "owner": 2}
