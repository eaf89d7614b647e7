"""Grants become one SDK `DisposableTokenScope`, never wider than asked."""

from __future__ import annotations

import pytest
from momento.auth.access_control import permission_scope as sdk
from momento.auth.access_control.disposable_token_scope import (
    AllCacheItems,
    CacheItemKey,
    CacheItemKeyPrefix,
    DisposableTokenCachePermission,
    DisposableTokenCachePermissions,
)
from momento.internal._utilities._permissions import permissions_from_disposable_token_scope

from shared.errors import UnknownScopeError
from shared.momento_scopes import scope_for
from shared.permissions import ALL, CachePermission, CacheRole, TopicPermission, TopicRole


def test_whole_caches_and_topics_use_the_permissions_list() -> None:
    scope = scope_for(
        [CachePermission(ALL, CacheRole.READ_ONLY), TopicPermission("chat", ALL, TopicRole.SUBSCRIBE_ONLY)]
    )

    inner = scope.disposable_token_scope
    assert isinstance(inner, sdk.Permissions)
    cache, topic = inner.permissions
    assert isinstance(cache, sdk.CachePermission)
    assert isinstance(cache.cache_selector.cache, sdk.AllCaches)
    assert cache.role is sdk.CacheRole.READ_ONLY
    assert isinstance(topic, sdk.TopicPermission)
    assert isinstance(topic.topic_selector.topic, sdk.AllTopics)
    assert topic.role is sdk.TopicRole.SUBSCRIBE_ONLY


def test_key_level_grants_keep_their_item_selector_next_to_a_whole_cache() -> None:
    scope = scope_for(
        [
            CachePermission("orders", CacheRole.READ_WRITE),
            CachePermission("carts", CacheRole.WRITE_ONLY, key="k1"),
            CachePermission("carts", CacheRole.READ_ONLY, key_prefix="p-"),
        ]
    )

    inner = scope.disposable_token_scope
    assert isinstance(inner, DisposableTokenCachePermissions)
    whole, one_key, prefix = inner.disposable_token_permissions
    assert all(isinstance(p, DisposableTokenCachePermission) for p in inner.disposable_token_permissions)
    assert isinstance(whole.cache_item_selector.cache_item, AllCacheItems)
    assert one_key.cache_item_selector.cache_item == CacheItemKey("k1")
    assert one_key.role is sdk.CacheRole.WRITE_ONLY
    assert prefix.cache_item_selector.cache_item == CacheItemKeyPrefix("p-")
    # and the SDK's own converter turns it into exactly three statements on the wire
    wire = permissions_from_disposable_token_scope(scope)
    assert len(wire.explicit.permissions) == 3
    assert wire.explicit.permissions[1].cache_permissions.item_selector.key == b"k1"


def test_key_level_and_topic_grants_are_refused() -> None:
    with pytest.raises(UnknownScopeError, match="topic"):
        scope_for(
            [
                CachePermission("c", CacheRole.READ_ONLY, key="k"),
                TopicPermission("c", "t", TopicRole.PUBLISH_ONLY),
            ]
        )


def test_no_grants_are_refused() -> None:
    with pytest.raises(UnknownScopeError):
        scope_for([])
