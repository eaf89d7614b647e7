"""Turn `shared.permissions` grants into the SDK's `DisposableTokenScope`.

Each grant goes through the SDK's own `DisposableTokenScopes` helpers; several grants are
then merged into ONE scope. The SDK (1.29.1) has two list forms and no mixed one:

- `Permissions([...])`: whole caches and topics (`CachePermission`, `TopicPermission`);
- `DisposableTokenCachePermissions([...])`: cache grants that may name a key or key prefix;
  a whole cache is a `DisposableTokenCachePermission` with `AllCacheItems()`.

A key-level grant must never land in a `Permissions` list: the SDK's converter there reads
only the cache selector and would silently widen it to the whole cache. So key or prefix
grants together with topic grants cannot be minted as one token, and are refused with
`UnknownScopeError` (HTTP 400) before any call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from momento.auth.access_control import permission_scope as sdk
from momento.auth.access_control.disposable_token_scope import (
    AllCacheItems,
    CacheItemSelector,
    DisposableTokenCachePermission,
    DisposableTokenCachePermissions,
    DisposableTokenScope,
)
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes
from momento.auth.access_control.permission_scope import AllCaches, AllTopics

from shared.errors import UnknownScopeError
from shared.permissions import ALL, CachePermission, CacheRole, Permission, TopicPermission, TopicRole

_Target = AllCaches | str

_WHOLE_CACHE: dict[CacheRole, Callable[[_Target], DisposableTokenScope]] = {
    CacheRole.READ_WRITE: DisposableTokenScopes.cache_read_write,
    CacheRole.READ_ONLY: DisposableTokenScopes.cache_read_only,
    CacheRole.WRITE_ONLY: DisposableTokenScopes.cache_write_only,
}
_ONE_KEY: dict[CacheRole, Callable[[_Target, str], DisposableTokenScope]] = {
    CacheRole.READ_WRITE: DisposableTokenScopes.cache_key_read_write,
    CacheRole.READ_ONLY: DisposableTokenScopes.cache_key_read_only,
    CacheRole.WRITE_ONLY: DisposableTokenScopes.cache_key_write_only,
}
_KEY_PREFIX: dict[CacheRole, Callable[[_Target, str], DisposableTokenScope]] = {
    CacheRole.READ_WRITE: DisposableTokenScopes.cache_key_prefix_read_write,
    CacheRole.READ_ONLY: DisposableTokenScopes.cache_key_prefix_read_only,
    CacheRole.WRITE_ONLY: DisposableTokenScopes.cache_key_prefix_write_only,
}
_TOPIC: dict[TopicRole, Callable[[_Target, AllTopics | str], DisposableTokenScope]] = {
    TopicRole.PUBLISH_SUBSCRIBE: DisposableTokenScopes.topic_publish_subscribe,
    TopicRole.SUBSCRIBE_ONLY: DisposableTokenScopes.topic_subscribe_only,
    TopicRole.PUBLISH_ONLY: DisposableTokenScopes.topic_publish_only,
}


def _cache(name: str) -> _Target:
    return AllCaches() if name == ALL else name


def single_scope(permission: Permission) -> DisposableTokenScope:
    """The SDK scope for one grant, built by the SDK's helper for that grant kind."""
    if isinstance(permission, TopicPermission):
        topic: AllTopics | str = AllTopics() if permission.topic == ALL else permission.topic
        return _TOPIC[permission.role](_cache(permission.cache), topic)
    if permission.key is not None:
        return _ONE_KEY[permission.role](_cache(permission.cache), permission.key)
    if permission.key_prefix is not None:
        return _KEY_PREFIX[permission.role](_cache(permission.cache), permission.key_prefix)
    return _WHOLE_CACHE[permission.role](_cache(permission.cache))


def _is_item_level(permission: Permission) -> bool:
    return isinstance(permission, CachePermission) and (
        permission.key is not None or permission.key_prefix is not None
    )


def _as_item_permission(entry: object) -> DisposableTokenCachePermission:
    if isinstance(entry, DisposableTokenCachePermission):
        return entry
    if isinstance(entry, sdk.CachePermission):
        every_item = CacheItemSelector(AllCacheItems())
        return DisposableTokenCachePermission(entry.cache_selector, entry.role, every_item)
    raise UnknownScopeError("topic permissions cannot be combined with key or key-prefix permissions")


def scope_for(permissions: Sequence[Permission]) -> DisposableTokenScope:
    """One `DisposableTokenScope` holding every grant; refuses combinations the SDK cannot express."""
    if not permissions:
        raise UnknownScopeError("a token needs at least one permission")
    has_topics = any(isinstance(p, TopicPermission) for p in permissions)
    item_level = any(_is_item_level(p) for p in permissions)
    if has_topics and item_level:
        raise UnknownScopeError(
            "one token cannot combine topic permissions with key or key-prefix permissions "
            "(the Momento SDK has no scope for that); ask for two tokens"
        )
    entries: list[object] = []
    for permission in permissions:
        inner = single_scope(permission).disposable_token_scope
        if isinstance(inner, DisposableTokenCachePermissions):
            entries.extend(inner.disposable_token_permissions)
        else:
            entries.extend(inner.permissions)
    if item_level:
        items = [_as_item_permission(entry) for entry in entries]
        return DisposableTokenScope(DisposableTokenCachePermissions(items))
    return DisposableTokenScope(
        sdk.Permissions([e for e in entries if isinstance(e, sdk.CachePermission | sdk.TopicPermission)])
    )
