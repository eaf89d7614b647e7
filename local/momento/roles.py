"""v2 API key roles. Momento documents Owner, Operator and Viewer; the `role_id` strings are a guess."""

from __future__ import annotations

from local.momento.grants import Access, Grants, all_data

_READ = frozenset({Access.READ})
_viewer_cache, _viewer_topic = all_data(_READ)

ROLES: dict[str, Grants] = {
    # Full access, including API key management.
    "owner": Grants(super_user=True, control=True, mint=True, manage_keys=True),
    # Full access to API/data resources, no key management.
    "operator": Grants(super_user=True, control=True, mint=True, manage_keys=False),
    # Read-only data access.
    "viewer": Grants(cache=_viewer_cache, topic=_viewer_topic, statements=2),
}
