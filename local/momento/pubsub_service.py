"""gRPC `cache_client.pubsub.Pubsub`: Publish and Subscribe (server streaming: heartbeat, history, live)."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import grpc
from momento_wire_types.generated import cachepubsub_pb2 as pubsub_pb
from momento_wire_types.generated import cachepubsub_pb2_grpc as pubsub_grpc
from momento_wire_types.generated import common_pb2

from local.momento.credentials import Credential
from local.momento.data import CLOSE, Discontinuity, TopicMessage
from local.momento.errors import denied, invalid, not_found
from local.momento.grants import Access
from local.momento.rpc import Service, streaming, unary
from local.momento.state import State

_HEARTBEAT = pubsub_pb._SubscriptionItem(heartbeat=pubsub_pb._Heartbeat())


def _item(msg: TopicMessage) -> pubsub_pb._SubscriptionItem:
    value = (
        pubsub_pb._TopicValue(text=msg.text)
        if msg.text is not None
        else pubsub_pb._TopicValue(binary=msg.binary)
    )
    return pubsub_pb._SubscriptionItem(
        item=pubsub_pb._TopicItem(
            topic_sequence_number=msg.sequence,
            value=value,
            publisher_id=msg.publisher_id,
            sequence_page=msg.sequence_page,
        )
    )


def _discontinuity(d: Discontinuity) -> pubsub_pb._SubscriptionItem:
    return pubsub_pb._SubscriptionItem(
        discontinuity=pubsub_pb._Discontinuity(
            last_topic_sequence=d.last_topic_sequence,
            new_topic_sequence=d.new_topic_sequence,
            new_sequence_page=d.new_sequence_page,
        )
    )


class PubsubService(Service, pubsub_grpc.PubsubServicer):
    def __init__(self, state: State, heartbeat_seconds: float = 5.0) -> None:
        super().__init__(state)
        self.heartbeat_seconds = heartbeat_seconds

    def _begin(self, context: grpc.ServicerContext, cache: str, topic: str, access: Access) -> Credential:
        cred = self.caller(context)
        if not cache or not topic:
            raise invalid("cache_name and topic must not be empty")
        if not cred.grants.may_topic(cache, topic, access):
            verb = "publish to" if access is Access.WRITE else "subscribe to"
            raise denied(f"Insufficient permissions to {verb} topic {topic} in cache {cache}")
        if not self.state.caches.exists(cred.account, cache):
            raise not_found(f"Cache {cache} not found")
        return cred

    @unary("Publish")
    def Publish(self, request: pubsub_pb._PublishRequest, context: grpc.ServicerContext) -> common_pb2._Empty:
        cred = self._begin(context, request.cache_name, request.topic, Access.WRITE)
        kind = request.value.WhichOneof("kind")
        if kind is None:
            raise invalid("Topic value must be text or binary")
        self.state.topics.publish(
            cred.account,
            request.cache_name,
            request.topic,
            request.value.text if kind == "text" else None,
            request.value.binary if kind == "binary" else None,
            cred.token_id or "",
        )
        return common_pb2._Empty()

    @streaming("Subscribe")
    def Subscribe(
        self, request: pubsub_pb._SubscriptionRequest, context: grpc.ServicerContext
    ) -> Iterator[pubsub_pb._SubscriptionItem]:
        cred = self._begin(context, request.cache_name, request.topic, Access.READ)
        sub, catch_up = self.state.topics.subscribe(
            cred.account,
            request.cache_name,
            request.topic,
            request.resume_at_topic_sequence_number,
            request.sequence_page,
        )
        context.add_callback(lambda: sub.queue.put(CLOSE))
        try:
            # The Python SDK needs a heartbeat first; then history, then live items.
            yield _HEARTBEAT
            for entry in catch_up:
                yield _item(entry) if isinstance(entry, TopicMessage) else _discontinuity(entry)
            while context.is_active():
                try:
                    msg = sub.queue.get(timeout=self.heartbeat_seconds)
                except queue.Empty:
                    yield _HEARTBEAT
                    continue
                if msg is CLOSE:
                    return
                assert isinstance(msg, TopicMessage)
                yield _item(msg)
        finally:
            sub.close()
