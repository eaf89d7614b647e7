"""Keepalive pings at (faster than) the SDKs' 5 s default never get GOAWAY too_many_pings.

grpc-core's server defaults would send it after the third ping without data (checked: with the
old server options this test sees the channel drop READY -> IDLE after ~3 s)."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from momento_wire_types.generated import cacheclient_pb2 as cache_pb
from momento_wire_types.generated import cacheclient_pb2_grpc as cache_grpc

from local.momento.server import MintedV1Key, MomentoLocalServer

pytestmark = pytest.mark.integration

#: Like the SDKs (keepalive with and without calls), but every second: 5x their rate.
CLIENT_OPTIONS = [
    ("grpc.keepalive_time_ms", 1000),
    ("grpc.keepalive_timeout_ms", 1000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
]


def test_an_idle_channel_pinging_every_second_stays_connected(
    momento_server: MomentoLocalServer, master: MintedV1Key
) -> None:
    states: list[grpc.ChannelConnectivity] = []
    lock = threading.Lock()

    def record(state: grpc.ChannelConnectivity) -> None:
        with lock:
            states.append(state)

    channel = grpc.insecure_channel(momento_server.address, options=CLIENT_OPTIONS)
    channel.subscribe(record, try_to_connect=True)
    try:
        stub = cache_grpc.ScsStub(channel)  # type: ignore[no-untyped-call]
        metadata = [("authorization", master.api_key), ("cache", "c1")]
        stub.Get(cache_pb._GetRequest(cache_key=b"k"), metadata=metadata, timeout=5)
        # WHEN the channel sits idle for six pings (grpc-core's default policy: GOAWAY at the third)
        time.sleep(6.5)
        # THEN it never left READY, and the next call uses the same connection
        stub.Get(cache_pb._GetRequest(cache_key=b"k"), metadata=metadata, timeout=5)
        with lock:
            seen = list(states)
        ready = seen.index(grpc.ChannelConnectivity.READY)
        assert seen[ready:] == [grpc.ChannelConnectivity.READY], seen
    finally:
        channel.unsubscribe(record)
        channel.close()
