"""Topic history and resume (`cachepubsub.proto` `_SubscriptionRequest`): a new subscriber starts with
the latest item; a resume point replays from there; a lost range is announced by a discontinuity."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from momento.responses import TopicSubscribe, TopicSubscriptionItem
from momento_wire_types.generated import cachepubsub_pb2 as pubsub_pb
from momento_wire_types.generated import cachepubsub_pb2_grpc as pubsub_grpc

from local.momento.data import TOPIC_HISTORY
from local.momento.server import MintedV1Key, MomentoLocalServer
from local.momento.testing import Sdk
from tests.local_momento.test_pubsub_and_control import read

pytestmark = pytest.mark.integration


def _texts(items: list[object]) -> list[tuple[str, int]]:
    out = []
    for item in items:
        assert isinstance(item, TopicSubscriptionItem.Text), item
        out.append((item.value, item.sequence_number))
    return out


def _subscribe(sdk: Sdk, key: str, resume_at: int = 0, page: int = 0) -> TopicSubscribe.Subscription:
    sub = sdk.topics(key).subscribe("c1", "t", resume_at, page)
    assert isinstance(sub, TopicSubscribe.Subscription), sub
    return sub


def test_a_new_subscriber_gets_the_latest_item_then_live_ones(sdk: Sdk, master: MintedV1Key) -> None:
    # GIVEN three items published before anyone subscribed
    pub = sdk.topics(master.api_key)
    for text in ("a", "b", "c"):
        pub.publish("c1", "t", text)
    # WHEN a subscriber joins, and another item is published
    sub = _subscribe(sdk, master.api_key)
    pub.publish("c1", "t", "d")
    # THEN it gets the latest earlier item, then the new one, with consecutive numbers
    assert _texts(read(sub, 2)) == [("c", 3), ("d", 4)]
    sub.unsubscribe()


def test_a_new_subscriber_of_an_empty_topic_gets_only_live_items(sdk: Sdk, master: MintedV1Key) -> None:
    sub = _subscribe(sdk, master.api_key)
    sdk.topics(master.api_key).publish("c1", "t", "x")
    assert _texts(read(sub, 1)) == [("x", 1)]
    sub.unsubscribe()


def test_resume_replays_from_the_sequence_number(sdk: Sdk, master: MintedV1Key) -> None:
    pub = sdk.topics(master.api_key)
    for text in ("a", "b", "c"):
        pub.publish("c1", "t", text)
    first = _subscribe(sdk, master.api_key)
    (latest,) = read(first, 1)
    assert isinstance(latest, TopicSubscriptionItem.Text)
    first.unsubscribe()
    # WHEN a subscriber resumes at 2 on the page it saw
    sub = _subscribe(sdk, master.api_key, resume_at=2, page=latest.sequence_page)
    pub.publish("c1", "t", "d")
    # THEN it gets 2, 3 and then 4: nothing twice, nothing missed
    assert _texts(read(sub, 3)) == [("b", 2), ("c", 3), ("d", 4)]
    sub.unsubscribe()


@pytest.fixture
def pubsub(momento_server: MomentoLocalServer) -> Iterator[pubsub_grpc.PubsubStub]:
    channel = grpc.insecure_channel(momento_server.address)
    yield pubsub_grpc.PubsubStub(channel)  # type: ignore[no-untyped-call]
    channel.close()


def _first_items(
    stub: pubsub_grpc.PubsubStub, key: str, resume_at: int, page: int, n: int
) -> list[pubsub_pb._SubscriptionItem]:
    request = pubsub_pb._SubscriptionRequest(
        cache_name="c1", topic="t", resume_at_topic_sequence_number=resume_at, sequence_page=page
    )
    stream = stub.Subscribe(request, metadata=[("authorization", key)], timeout=5)
    got = [next(stream) for _ in range(n)]
    stream.cancel()
    return got


def test_resuming_before_the_retained_history_starts_with_a_discontinuity(
    sdk: Sdk, master: MintedV1Key, pubsub: pubsub_grpc.PubsubStub
) -> None:
    pub = sdk.topics(master.api_key)
    for i in range(TOPIC_HISTORY + 5):
        pub.publish("c1", "t", str(i + 1))
    head = _first_items(pubsub, master.api_key, 0, 0, 2)[1].item
    assert head.topic_sequence_number == TOPIC_HISTORY + 5
    # WHEN resuming at 2, which is no longer kept
    heartbeat, gap, item = _first_items(pubsub, master.api_key, 2, head.sequence_page, 3)
    # THEN heartbeat, a discontinuity from 1 to just before the oldest kept item, then that item
    assert heartbeat.WhichOneof("kind") == "heartbeat"
    assert (gap.discontinuity.last_topic_sequence, gap.discontinuity.new_topic_sequence) == (1, 5)
    assert item.item.topic_sequence_number == 6


def test_resuming_on_another_sequence_page_jumps_to_the_newest(
    sdk: Sdk, master: MintedV1Key, pubsub: pubsub_grpc.PubsubStub
) -> None:
    pub = sdk.topics(master.api_key)
    for text in ("a", "b"):
        pub.publish("c1", "t", text)
    page = _first_items(pubsub, master.api_key, 0, 0, 2)[1].item.sequence_page
    _, gap = _first_items(pubsub, master.api_key, 1, page + 1000, 2)
    assert gap.discontinuity.new_topic_sequence == 2
    assert gap.discontinuity.new_sequence_page == page


def test_a_deleted_and_recreated_cache_starts_topics_afresh(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer, pubsub: pubsub_grpc.PubsubStub
) -> None:
    sdk.topics(master.api_key).publish("c1", "t", "old")
    old_page = _first_items(pubsub, master.api_key, 0, 0, 2)[1].item.sequence_page
    cache = sdk.cache(master.api_key)
    cache.delete_cache("c1")
    cache.create_cache("c1")
    sdk.topics(master.api_key).publish("c1", "t", "new")
    item = _first_items(pubsub, master.api_key, 0, 0, 2)[1].item
    assert (item.value.text, item.topic_sequence_number) == ("new", 1)
    assert item.sequence_page != old_page
