"""What a key or token may do, parsed from the wire `Permissions` message, and the access checks.

Roles follow `permissionmessages.proto`: cache ReadWrite / ReadOnly / WriteOnly, topic
ReadWrite (publish_subscribe) / ReadOnly (subscribe_only) / WriteOnly (publish_only) and function
Invoke (the JS SDK's `AllDataReadWrite` carries `{FunctionInvoke, AllCaches, AllFunctions}`,
`packages/core/src/auth/tokens/permission-scope.ts`). Functions are parsed and kept, not served.

Two statements for the same resource (same kind, cache selector and item/topic/function selector)
are refused, whatever their roles: Momento's JS SDK integration tests expect INVALID_ARGUMENT for
"duplicate/conflicting" cache and topic permissions (`packages/common-integration-tests/src/auth/
auth-client.ts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from momento_wire_types.generated import permissionmessages_pb2 as perm_pb


class Access(Enum):
    READ = "read"
    WRITE = "write"


class BadPermissions(ValueError):
    """The request's permissions cannot be parsed (-> INVALID_ARGUMENT)."""


_CACHE_ROLES = {
    perm_pb.CacheReadWrite: frozenset({Access.READ, Access.WRITE}),
    perm_pb.CacheReadOnly: frozenset({Access.READ}),
    perm_pb.CacheWriteOnly: frozenset({Access.WRITE}),
}
_TOPIC_ROLES = {
    perm_pb.TopicReadWrite: frozenset({Access.READ, Access.WRITE}),
    perm_pb.TopicReadOnly: frozenset({Access.READ}),
    perm_pb.TopicWriteOnly: frozenset({Access.WRITE}),
}


@dataclass(frozen=True)
class CacheGrant:
    access: frozenset[Access]
    cache: str | None  # None = all caches
    key: bytes | None = None
    key_prefix: bytes | None = None

    def allows(self, cache: str, key: bytes, access: Access) -> bool:
        if access not in self.access or (self.cache is not None and self.cache != cache):
            return False
        if self.key is not None:
            return key == self.key
        if self.key_prefix is not None:
            return key.startswith(self.key_prefix)
        return True


@dataclass(frozen=True)
class TopicGrant:
    access: frozenset[Access]
    cache: str | None  # None = all caches
    topic: str | None = None  # None = all topics (or see topic_prefix)
    topic_prefix: str | None = None

    def allows(self, cache: str, topic: str, access: Access) -> bool:
        if access not in self.access or (self.cache is not None and self.cache != cache):
            return False
        if self.topic is not None:
            return topic == self.topic
        if self.topic_prefix is not None:
            return topic.startswith(self.topic_prefix)
        return True


@dataclass(frozen=True)
class FunctionGrant:
    cache: str | None  # None = all caches
    function: str | None = None  # None = all functions (or see function_prefix)
    function_prefix: str | None = None


@dataclass(frozen=True)
class Grants:
    """Everything one credential may do."""

    super_user: bool = False
    cache: tuple[CacheGrant, ...] = ()
    topic: tuple[TopicGrant, ...] = ()
    function: tuple[FunctionGrant, ...] = ()
    #: Control plane writes (create/delete caches: "resource management" write).
    control: bool = False
    #: `ListCaches` ("resource management" read; also granted by `control`).
    list_caches: bool = False
    #: Mint disposable tokens and v1 API keys.
    mint: bool = False
    #: Create and revoke v2 API keys over HTTP.
    manage_keys: bool = False
    #: List v2 API keys over HTTP.
    read_keys: bool = False
    statements: int = field(default=0, compare=False)

    def may_cache(self, cache: str, key: bytes, access: Access) -> bool:
        return self.super_user or any(g.allows(cache, key, access) for g in self.cache)

    def may_topic(self, cache: str, topic: str, access: Access) -> bool:
        return self.super_user or any(g.allows(cache, topic, access) for g in self.topic)


SUPER_USER = Grants(
    super_user=True, control=True, list_caches=True, mint=True, manage_keys=True, read_keys=True
)

#: The JS SDK's `AllDataReadWrite` (cache, topic and function-invoke statements on everything).
ALL_DATA_READ_WRITE = Grants(
    cache=(CacheGrant(frozenset({Access.READ, Access.WRITE}), None),),
    topic=(TopicGrant(frozenset({Access.READ, Access.WRITE}), None),),
    function=(FunctionGrant(None),),
    statements=3,
)


def all_data(access: frozenset[Access]) -> tuple[tuple[CacheGrant, ...], tuple[TopicGrant, ...]]:
    return (CacheGrant(access, None),), (TopicGrant(access, None),)


def _cache_name(
    msg: perm_pb.PermissionsType.CachePermissions
    | perm_pb.PermissionsType.TopicPermissions
    | perm_pb.PermissionsType.FunctionPermissions,
) -> str | None:
    which = msg.WhichOneof("cache")
    if which == "all_caches":
        return None
    if which == "cache_selector":
        if not msg.cache_selector.cache_name:
            raise BadPermissions("empty cache name in permissions")
        return str(msg.cache_selector.cache_name)
    raise BadPermissions("a permission must select a cache or all caches")


def _cache_grant(msg: perm_pb.PermissionsType.CachePermissions) -> CacheGrant:
    if msg.role not in _CACHE_ROLES:
        raise BadPermissions("cache permission without a role")
    cache = _cache_name(msg)
    which = msg.WhichOneof("cache_item")
    if which == "item_selector":
        sel = msg.item_selector
        kind = sel.WhichOneof("kind")
        if kind == "key":
            return CacheGrant(_CACHE_ROLES[msg.role], cache, key=bytes(sel.key))
        if kind == "key_prefix":
            return CacheGrant(_CACHE_ROLES[msg.role], cache, key_prefix=bytes(sel.key_prefix))
        raise BadPermissions("item selector without key or key prefix")
    return CacheGrant(_CACHE_ROLES[msg.role], cache)


def _topic_grant(msg: perm_pb.PermissionsType.TopicPermissions) -> TopicGrant:
    if msg.role not in _TOPIC_ROLES:
        raise BadPermissions("topic permission without a role")
    cache = _cache_name(msg)
    which = msg.WhichOneof("topic")
    if which == "topic_selector":
        sel = msg.topic_selector
        kind = sel.WhichOneof("kind")
        if kind == "topic_name" and sel.topic_name:
            return TopicGrant(_TOPIC_ROLES[msg.role], cache, topic=str(sel.topic_name))
        if kind == "topic_name_prefix":
            return TopicGrant(_TOPIC_ROLES[msg.role], cache, topic_prefix=str(sel.topic_name_prefix))
        raise BadPermissions("topic selector without a topic name")
    if which == "all_topics":
        return TopicGrant(_TOPIC_ROLES[msg.role], cache)
    raise BadPermissions("a topic permission must select a topic or all topics")


def _function_grant(msg: perm_pb.PermissionsType.FunctionPermissions) -> FunctionGrant:
    if msg.role != perm_pb.FunctionInvoke:
        raise BadPermissions("function permission without a role")
    cache = _cache_name(msg)
    which = msg.WhichOneof("function")
    if which == "all_functions":
        return FunctionGrant(cache)
    if which == "function_selector":
        sel = msg.function_selector
        kind = sel.WhichOneof("kind")
        if kind == "function_name" and sel.function_name:
            return FunctionGrant(cache, function=str(sel.function_name))
        if kind == "function_name_prefix":
            return FunctionGrant(cache, function_prefix=str(sel.function_name_prefix))
        raise BadPermissions("function selector without a function name")
    raise BadPermissions("a function permission must select a function or all functions")


def _resource(grant: CacheGrant | TopicGrant | FunctionGrant) -> tuple[object, ...]:
    """What a statement is about, without its role: two statements with the same one conflict."""
    if isinstance(grant, CacheGrant):
        return ("cache", grant.cache, grant.key, grant.key_prefix)
    if isinstance(grant, TopicGrant):
        return ("topic", grant.cache, grant.topic, grant.topic_prefix)
    return ("function", grant.cache, grant.function, grant.function_prefix)


def from_wire(msg: perm_pb.Permissions) -> Grants:
    """Parse a wire `Permissions`; raises `BadPermissions`."""
    kind = msg.WhichOneof("kind")
    if kind == "super_user":
        return SUPER_USER
    if kind != "explicit":
        raise BadPermissions("permissions must be super_user or explicit")
    caches: list[CacheGrant] = []
    topics: list[TopicGrant] = []
    functions: list[FunctionGrant] = []
    seen: set[tuple[object, ...]] = set()
    for p in msg.explicit.permissions:
        which = p.WhichOneof("kind")
        grant: CacheGrant | TopicGrant | FunctionGrant
        if which == "cache_permissions":
            grant = _cache_grant(p.cache_permissions)
            caches.append(grant)
        elif which == "topic_permissions":
            grant = _topic_grant(p.topic_permissions)
            topics.append(grant)
        elif which == "function_permissions":
            grant = _function_grant(p.function_permissions)
            functions.append(grant)
        else:
            raise BadPermissions(f"unsupported permission kind {which!r}")
        resource = _resource(grant)
        if resource in seen:
            raise BadPermissions("duplicate or conflicting permissions for the same resource")
        seen.add(resource)
    if not seen:
        raise BadPermissions("permissions must not be empty")
    return Grants(
        cache=tuple(caches),
        topic=tuple(topics),
        function=tuple(functions),
        statements=len(msg.explicit.permissions),
    )
