"""Topics (publish reaches every live subscriber through the SDK's TopicClient) and the control plane."""

from __future__ import annotations

import threading
from typing import Any

import grpc
import pytest
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes as S
from momento.auth.access_control.permission_scope import AllCaches
from momento.errors import MomentoErrorCode
from momento.responses import (
    CacheSetIfNotExists,
    CreateCache,
    DeleteCache,
    ListCaches,
    TopicSubscribe,
    TopicSubscriptionItem,
)
from momento_wire_types.generated import cacheclient_pb2 as cache_pb
from momento_wire_types.generated import cacheclient_pb2_grpc as cache_grpc

from local.momento.server import MintedV1Key, MomentoLocalServer
from local.momento.testing import Sdk, error_code

pytestmark = pytest.mark.integration


def read(subscription: TopicSubscribe.Subscription, n: int, timeout: float = 5.0) -> list[Any]:
    """The next `n` items, read on a thread so a hung stream fails the test instead of blocking it."""
    items: list[Any] = []

    def run() -> None:
        for item in subscription:
            items.append(item)
            if len(items) == n:
                return

    reader = threading.Thread(target=run, daemon=True)
    reader.start()
    reader.join(timeout)
    assert len(items) == n, items
    return items


def test_subscribers_receive_published_items(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer
) -> None:
    # GIVEN two subscribers with a subscribe-only token and a publisher with a publish-only token
    sub_token = sdk.mint(master.api_key, S.topic_subscribe_only("c1", "news")).auth_token
    pub_token = sdk.mint(
        master.api_key, S.topic_publish_only("c1", "news"), token_id="publisher-1"
    ).auth_token
    subs = [sdk.topics(sub_token).subscribe("c1", "news") for _ in range(2)]
    assert all(isinstance(s, TopicSubscribe.Subscription) for s in subs)
    subscriptions = [s for s in subs if isinstance(s, TopicSubscribe.Subscription)]

    # WHEN text and binary items are published
    publisher = sdk.topics(pub_token)
    assert error_code(publisher.publish("c1", "news", "one")) is None
    assert error_code(publisher.publish("c1", "news", b"\x00two")) is None
    assert error_code(publisher.publish("c1", "other", "x")) == MomentoErrorCode.PERMISSION_ERROR

    # THEN every subscriber gets them in order with increasing sequence numbers
    for sub in subscriptions:
        first, second = read(sub, 2)
        assert isinstance(first, TopicSubscriptionItem.Text)
        assert first.value == "one"
        assert isinstance(second, TopicSubscriptionItem.Binary)
        assert second.value == b"\x00two"
        assert second.sequence_number == first.sequence_number + 1
        sub.unsubscribe()


def test_an_expired_token_cannot_subscribe(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer
) -> None:
    token = sdk.mint(master.api_key, S.topic_publish_subscribe("c1", "t"), seconds=30).auth_token
    momento_server.clock.advance(30)
    assert error_code(sdk.topics(token).subscribe("c1", "t")) == MomentoErrorCode.AUTHENTICATION_ERROR


def test_control_plane(sdk: Sdk, momento_server: MomentoLocalServer) -> None:
    key = momento_server.mint_master_key()
    cache = sdk.cache(key.api_key)
    assert isinstance(cache.create_cache("orders"), CreateCache.Success)
    assert isinstance(cache.create_cache("orders"), CreateCache.CacheAlreadyExists)
    listed = cache.list_caches()
    assert isinstance(listed, ListCaches.Success)
    assert [c.name for c in listed.caches] == ["orders"]
    assert isinstance(cache.delete_cache("orders"), DeleteCache.Success)
    assert error_code(cache.delete_cache("orders")) == MomentoErrorCode.NOT_FOUND_ERROR


def test_tokens_cannot_use_the_control_plane(sdk: Sdk, master: MintedV1Key) -> None:
    token = sdk.mint(master.api_key, S.cache_read_write(AllCaches())).auth_token
    cache = sdk.cache(token)
    assert error_code(cache.create_cache("x")) == MomentoErrorCode.PERMISSION_ERROR
    assert error_code(cache.list_caches()) == MomentoErrorCode.PERMISSION_ERROR
    assert error_code(cache.delete_cache("c1")) == MomentoErrorCode.PERMISSION_ERROR


def test_accounts_are_isolated(sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer) -> None:
    other = momento_server.mint_master_key(account="other")
    assert error_code(sdk.cache(other.api_key).get("c1", "k")) == MomentoErrorCode.NOT_FOUND_ERROR


def test_set_if_not_exists_and_keys_exist(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer
) -> None:
    cache = sdk.cache(master.api_key)
    assert isinstance(cache.set_if_not_exists("c1", "k", "v1"), CacheSetIfNotExists.Stored)
    assert isinstance(cache.set_if_not_exists("c1", "k", "v2"), CacheSetIfNotExists.NotStored)
    # the SDK has no keys_exist: call the wire stub
    with grpc.insecure_channel(momento_server.address) as channel:
        stub = cache_grpc.ScsStub(channel)  # type: ignore[no-untyped-call]
        metadata = [("authorization", master.api_key), ("cache", "c1")]
        exist = stub.KeysExist(cache_pb._KeysExistRequest(cache_keys=[b"k", b"missing"]), metadata=metadata)
        assert list(exist.exists) == [True, False]
        assert error_code(cache.delete("c1", "k")) is None
        assert list(
            stub.KeysExist(cache_pb._KeysExistRequest(cache_keys=[b"k"]), metadata=metadata).exists
        ) == [False]
