"""The permission vocabulary of disposable tokens, independent of the Momento SDK.

The vendor's policy, its request bodies, its responses and the Momento access layer all
speak this one model; only `shared.momento_access` turns it into SDK scope objects. Role
names are the SDK's own enum values (`read_write`, `subscribe_only`, ...), so a reader who
knows Momento's docs recognises them.

JSON form (request bodies, policy documents, responses):
    {"cache": "orders", "role": "read_only"}                         whole cache
    {"cache": "orders", "key": "k1", "role": "read_write"}           one key
    {"cache": "orders", "keyPrefix": "user-42-", "role": "write_only"} a key prefix
    {"cache": "orders", "topic": "updates", "role": "subscribe_only"}  one topic
`"*"` as cache or topic means all caches / all topics.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.errors import UnknownScopeError

ALL = "*"
#: Momento's limit on permission statements in one token.
MAX_PERMISSIONS = 20


class CacheRole(StrEnum):
    READ_WRITE = "read_write"
    READ_ONLY = "read_only"
    WRITE_ONLY = "write_only"


class TopicRole(StrEnum):
    PUBLISH_SUBSCRIBE = "publish_subscribe"
    SUBSCRIBE_ONLY = "subscribe_only"
    PUBLISH_ONLY = "publish_only"


@dataclass(frozen=True)
class CachePermission:
    """Access to cache items: a whole cache (or all caches), one key, or a key prefix."""

    cache: str
    role: CacheRole
    key: str | None = None
    key_prefix: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"cache": self.cache, "role": self.role.value}
        if self.key is not None:
            out["key"] = self.key
        if self.key_prefix is not None:
            out["keyPrefix"] = self.key_prefix
        return out


@dataclass(frozen=True)
class TopicPermission:
    """Access to a topic (or all topics) in a cache (or all caches)."""

    cache: str
    topic: str
    role: TopicRole

    def to_json(self) -> dict[str, str]:
        return {"cache": self.cache, "topic": self.topic, "role": self.role.value}


Permission = CachePermission | TopicPermission


def _name(value: Any, field: str, *, allow_all: bool) -> str:
    if not isinstance(value, str) or not value or value != value.strip():
        raise UnknownScopeError(f"{field} must be a non-empty string without surrounding spaces")
    if value == ALL and not allow_all:
        raise UnknownScopeError(f"{field} may not be '*'")
    if len(value) > 255:
        raise UnknownScopeError(f"{field} is longer than 255 characters")
    return value


def permission_from_json(item: Any) -> Permission:
    """Parse one permission statement; anything unknown is an `UnknownScopeError` (HTTP 400)."""
    if not isinstance(item, dict):
        raise UnknownScopeError("each permission must be a JSON object")
    allowed = {"cache", "role", "key", "keyPrefix", "topic"}
    extra = sorted(set(item) - allowed)
    if extra:
        raise UnknownScopeError(f"unknown permission field(s): {', '.join(extra)}")
    cache = _name(item.get("cache"), "cache", allow_all=True)
    role = item.get("role")
    if not isinstance(role, str):
        raise UnknownScopeError("role must be a string")
    if "topic" in item:
        if "key" in item or "keyPrefix" in item:
            raise UnknownScopeError("a topic permission cannot also name a key or key prefix")
        topic = _name(item["topic"], "topic", allow_all=True)
        try:
            return TopicPermission(cache=cache, topic=topic, role=TopicRole(role))
        except ValueError:
            raise UnknownScopeError(
                f"unknown topic role {role!r}; expected one of {[r.value for r in TopicRole]}"
            ) from None
    try:
        cache_role = CacheRole(role)
    except ValueError:
        raise UnknownScopeError(
            f"unknown cache role {role!r}; expected one of {[r.value for r in CacheRole]}"
        ) from None
    if "key" in item and "keyPrefix" in item:
        raise UnknownScopeError("a permission names either key or keyPrefix, not both")
    key = _name(item["key"], "key", allow_all=False) if "key" in item else None
    prefix = _name(item["keyPrefix"], "keyPrefix", allow_all=False) if "keyPrefix" in item else None
    return CachePermission(cache=cache, role=cache_role, key=key, key_prefix=prefix)


def permissions_from_json(items: Any) -> tuple[Permission, ...]:
    """Parse a list of permission statements into a canonical (sorted, de-duplicated) tuple."""
    if not isinstance(items, list) or not items:
        raise UnknownScopeError("permissions must be a non-empty list")
    if len(items) > MAX_PERMISSIONS:
        raise UnknownScopeError(f"at most {MAX_PERMISSIONS} permissions per token (Momento's limit)")
    return canonical([permission_from_json(item) for item in items])


def canonical(perms: list[Permission] | tuple[Permission, ...]) -> tuple[Permission, ...]:
    """A stable order without duplicates, so equal grants compare (and cache) as equal."""
    return tuple(sorted(set(perms), key=lambda p: json.dumps(p.to_json(), sort_keys=True)))


def permissions_to_json(perms: tuple[Permission, ...]) -> list[dict[str, str]]:
    return [p.to_json() for p in perms]
