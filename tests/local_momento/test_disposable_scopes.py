"""Every DisposableTokenScopes kind, through the real SDK: one allowed and one denied operation each."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from momento import CacheClient, TopicClient
from momento.auth.access_control.disposable_token_scope import (
    CacheItemKey,
    CacheItemSelector,
    DisposableTokenCachePermission,
    DisposableTokenCachePermissions,
    DisposableTokenScope,
)
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes as S
from momento.auth.access_control.permission_scope import (
    AllCaches,
    AllTopics,
    CachePermission,
    CacheRole,
    CacheSelector,
    Permissions,
    TopicPermission,
    TopicRole,
    TopicSelector,
)
from momento.errors import MomentoErrorCode
from momento.responses import TopicSubscribe

from local.momento.server import MintedV1Key
from local.momento.testing import Sdk, error_code

pytestmark = pytest.mark.integration

Op = Callable[[CacheClient, TopicClient], Any]


def get(cache: str, key: str) -> Op:
    return lambda c, t: c.get(cache, key)


def put(cache: str, key: str) -> Op:
    return lambda c, t: c.set(cache, key, "v")


def publish(cache: str, topic: str) -> Op:
    return lambda c, t: t.publish(cache, topic, "m")


def subscribe(cache: str, topic: str) -> Op:
    def run(c: CacheClient, t: TopicClient) -> Any:
        resp = t.subscribe(cache, topic)
        if isinstance(resp, TopicSubscribe.Subscription):
            resp.unsubscribe()
        return resp

    return run


def multi() -> DisposableTokenScope:
    return DisposableTokenScope(
        Permissions(
            [
                CachePermission(CacheSelector("c1"), CacheRole.READ_ONLY),
                TopicPermission(TopicRole.PUBLISH_ONLY, CacheSelector(AllCaches()), TopicSelector("t")),
            ]
        )
    )


def multi_keys() -> DisposableTokenScope:
    return DisposableTokenScope(
        DisposableTokenCachePermissions(
            [
                DisposableTokenCachePermission(
                    CacheSelector("c1"), CacheRole.READ_WRITE, CacheItemSelector(CacheItemKey("a"))
                ),
                DisposableTokenCachePermission(
                    CacheSelector("c2"), CacheRole.READ_ONLY, CacheItemSelector(CacheItemKey("b"))
                ),
            ]
        )
    )


CASES: list[tuple[str, Callable[[], DisposableTokenScope], Op, Op]] = [
    ("cache_read_write", lambda: S.cache_read_write("c1"), put("c1", "k"), get("c2", "k")),
    ("cache_read_write_all", lambda: S.cache_read_write(AllCaches()), put("c2", "k"), publish("c1", "t")),
    ("cache_read_only", lambda: S.cache_read_only("c1"), get("c1", "k"), put("c1", "k")),
    ("cache_read_only_all", lambda: S.cache_read_only(AllCaches()), get("c2", "k"), put("c2", "k")),
    ("cache_write_only", lambda: S.cache_write_only("c1"), put("c1", "k"), get("c1", "k")),
    ("cache_write_only_all", lambda: S.cache_write_only(AllCaches()), put("c2", "k"), get("c2", "k")),
    ("cache_key_read_write", lambda: S.cache_key_read_write("c1", "k"), put("c1", "k"), put("c1", "other")),
    (
        "cache_key_read_write_all",
        lambda: S.cache_key_read_write(AllCaches(), "k"),
        get("c2", "k"),
        get("c2", "x"),
    ),
    ("cache_key_read_only", lambda: S.cache_key_read_only("c1", "k"), get("c1", "k"), put("c1", "k")),
    ("cache_key_write_only", lambda: S.cache_key_write_only("c1", "k"), put("c1", "k"), get("c1", "k")),
    (
        "cache_key_prefix_read_write",
        lambda: S.cache_key_prefix_read_write("c1", "p-"),
        put("c1", "p-1"),
        put("c1", "q-1"),
    ),
    (
        "cache_key_prefix_read_only",
        lambda: S.cache_key_prefix_read_only("c1", "p-"),
        get("c1", "p-1"),
        put("c1", "p-1"),
    ),
    (
        "cache_key_prefix_write_only",
        lambda: S.cache_key_prefix_write_only("c1", "p-"),
        put("c1", "p-1"),
        get("c1", "p-1"),
    ),
    (
        "topic_publish_subscribe",
        lambda: S.topic_publish_subscribe("c1", "t"),
        publish("c1", "t"),
        publish("c1", "u"),
    ),
    (
        "topic_publish_subscribe_sub",
        lambda: S.topic_publish_subscribe("c1", "t"),
        subscribe("c1", "t"),
        subscribe("c2", "t"),
    ),
    (
        "topic_all_topics",
        lambda: S.topic_publish_subscribe("c1", AllTopics()),
        publish("c1", "any"),
        get("c1", "k"),
    ),
    (
        "topic_all_caches",
        lambda: S.topic_publish_subscribe(AllCaches(), AllTopics()),
        publish("c2", "x"),
        put("c1", "k"),
    ),
    (
        "topic_subscribe_only",
        lambda: S.topic_subscribe_only("c1", "t"),
        subscribe("c1", "t"),
        publish("c1", "t"),
    ),
    ("topic_publish_only", lambda: S.topic_publish_only("c1", "t"), publish("c1", "t"), subscribe("c1", "t")),
    ("multi_permissions", multi, get("c1", "k"), put("c1", "k")),
    ("multi_permissions_topic", multi, publish("c2", "t"), subscribe("c2", "t")),
    ("multi_key_permissions", multi_keys, put("c1", "a"), put("c2", "b")),
    ("multi_key_permissions_read", multi_keys, get("c2", "b"), get("c2", "a")),
]


@pytest.mark.parametrize(("scope", "allowed", "denied"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_scope_allows_and_denies(
    sdk: Sdk, master: MintedV1Key, scope: Callable[[], DisposableTokenScope], allowed: Op, denied: Op
) -> None:
    # GIVEN a disposable token minted with this scope
    token = sdk.mint(master.api_key, scope()).auth_token
    cache, topics = sdk.cache(token), sdk.topics(token)

    # WHEN / THEN the in-scope operation succeeds and the out-of-scope one is a PERMISSION_ERROR
    assert error_code(allowed(cache, topics)) is None
    assert error_code(denied(cache, topics)) == MomentoErrorCode.PERMISSION_ERROR
