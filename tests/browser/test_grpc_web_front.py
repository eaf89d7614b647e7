"""The gRPC-web front, spoken to as a browser does (raw gRPC-web text over HTTP/1.1), without a browser.

These pin the wire behaviour the web SDK relies on, fast: framing, errors as trailers, CORS, and
that a closed connection cancels the upstream subscription at once.
"""

from __future__ import annotations

import base64
import http.client
import socket
import struct
import time
from collections.abc import Iterator

import pytest
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes
from momento_wire_types.generated import cacheclient_pb2 as cache_pb
from momento_wire_types.generated import cachepubsub_pb2 as pubsub_pb

from local.momento.grpc_web import GrpcWebFront, decode_request, parse_timeout, trailer_frame
from local.momento.server import MomentoLocalServer
from local.momento.testing import Sdk

pytestmark = pytest.mark.integration

CACHE = "web"
ORIGIN = "http://127.0.0.1:5999"


@pytest.fixture
def front(momento_server: MomentoLocalServer) -> Iterator[GrpcWebFront]:
    momento_server.create_cache(CACHE)
    front = GrpcWebFront(momento_server.address).start()
    yield front
    front.stop()


@pytest.fixture
def token(momento_server: MomentoLocalServer) -> str:
    master = momento_server.mint_master_key()
    sdk = Sdk(momento_server)
    try:
        scope = DisposableTokenScopes.cache_key_prefix_read_write(CACHE, "user-")
        return sdk.mint(master.api_key, scope).auth_token
    finally:
        sdk.close()


def _api_key(auth_token: str) -> str:
    import json

    return str(json.loads(base64.b64decode(auth_token))["api_key"])


def _frames(body: bytes) -> list[tuple[int, bytes]]:
    """Decode concatenated, separately padded base64 frames."""
    out: list[tuple[int, bytes]] = []
    raw = b""
    text = body
    while text:
        # each chunk ends at its padding or at a 4-char boundary that decodes a whole frame
        end = text.find(b"=")
        if end == -1:
            raw += base64.b64decode(text)
            break
        while end < len(text) and text[end : end + 1] == b"=":
            end += 1
        raw += base64.b64decode(text[:end])
        text = text[end:]
    while raw:
        flag, length = raw[0], struct.unpack(">I", raw[1:5])[0]
        out.append((flag, raw[5 : 5 + length]))
        raw = raw[5 + length :]
    return out


def _call(
    front: GrpcWebFront, path: str, message: bytes, key: str, cache: str = CACHE
) -> list[tuple[int, bytes]]:
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    body = base64.b64encode(b"\x00" + struct.pack(">I", len(message)) + message)
    conn.request(
        "POST",
        path,
        body,
        {
            "content-type": "application/grpc-web-text",
            "accept": "application/grpc-web-text",
            "authorization": key,
            "cache": cache,
            "grpc-timeout": "5000m",
            "origin": ORIGIN,
        },
    )
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("access-control-allow-origin") == ORIGIN
    data = resp.read()
    conn.close()
    return _frames(data)


def _status(frames: list[tuple[int, bytes]]) -> str:
    flag, trailers = frames[-1]
    assert flag == 0x80
    return trailers.decode()


def test_set_then_get_round_trips_through_the_real_server(front: GrpcWebFront, token: str) -> None:
    key = _api_key(token)
    put = cache_pb._SetRequest(cache_key=b"user-1", cache_body=b"hello", ttl_milliseconds=60_000)
    frames = _call(front, "/cache_client.Scs/Set", put.SerializeToString(), key)
    assert "grpc-status:0" in _status(frames)
    frames = _call(
        front, "/cache_client.Scs/Get", cache_pb._GetRequest(cache_key=b"user-1").SerializeToString(), key
    )
    assert frames[0][0] == 0
    reply = cache_pb._GetResponse.FromString(frames[0][1])
    assert reply.cache_body == b"hello"


def test_server_errors_are_trailers_the_sdk_maps(front: GrpcWebFront, token: str) -> None:
    key = _api_key(token)
    outside = cache_pb._SetRequest(cache_key=b"admin-1", cache_body=b"x", ttl_milliseconds=1000)
    status = _status(_call(front, "/cache_client.Scs/Set", outside.SerializeToString(), key))
    assert "grpc-status:7" in status  # PERMISSION_DENIED
    status = _status(_call(front, "/cache_client.Scs/Set", outside.SerializeToString(), "not-a-key"))
    assert "grpc-status:16" in status  # UNAUTHENTICATED


def test_faults_of_the_server_apply_to_the_front(
    front: GrpcWebFront, token: str, momento_server: MomentoLocalServer
) -> None:
    momento_server.faults.set(unavailable=True)
    get = cache_pb._GetRequest(cache_key=b"user-1").SerializeToString()
    assert "grpc-status:14" in _status(_call(front, "/cache_client.Scs/Get", get, _api_key(token)))


def test_preflight_echoes_origin_and_requested_headers(front: GrpcWebFront) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=5)
    asked = "agent, authorization, cache, content-type, grpc-timeout, x-grpc-web"
    conn.request(
        "OPTIONS",
        "/cache_client.Scs/Set",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": asked,
        },
    )
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 204
    assert resp.getheader("access-control-allow-origin") == ORIGIN
    assert resp.getheader("access-control-allow-headers") == asked
    assert "POST" in (resp.getheader("access-control-allow-methods") or "")


def test_unknown_method_and_bad_body_are_refused(front: GrpcWebFront) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=5)
    conn.request("POST", "/cache_client.Scs/Nope", b"", {"content-type": "application/grpc-web-text"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 404
    conn.request("POST", "/cache_client.Scs/Get", b"AAAA", {"content-type": "application/grpc-web-text"})
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 400


def test_closing_the_page_cancels_the_subscription_at_once(
    momento_server: MomentoLocalServer, front: GrpcWebFront
) -> None:
    master = momento_server.mint_master_key()
    sdk = Sdk(momento_server)
    try:
        scope = DisposableTokenScopes.topic_subscribe_only(CACHE, "room")
        key = _api_key(sdk.mint(master.api_key, scope).auth_token)
    finally:
        sdk.close()
    message = pubsub_pb._SubscriptionRequest(cache_name=CACHE, topic="room").SerializeToString()
    body = base64.b64encode(b"\x00" + struct.pack(">I", len(message)) + message)
    sock = socket.create_connection(("127.0.0.1", front.port), timeout=5)
    sock.sendall(
        b"POST /cache_client.pubsub.Pubsub/Subscribe HTTP/1.1\r\nhost: x\r\n"
        b"content-type: application/grpc-web-text\r\n"
        + f"authorization: {key}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    assert b"200" in sock.recv(4096).split(b"\r\n", 1)[0]  # headers (and maybe the first heartbeat)
    deadline = time.monotonic() + 3
    while momento_server.state.topics.subscriber_count("default", CACHE, "room") != 1:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    sock.close()
    started = time.monotonic()
    while momento_server.state.topics.subscriber_count("default", CACHE, "room") != 0:
        # well under the 5 s heartbeat after which a write would have failed
        assert time.monotonic() - started < 2, "the subscription outlived the closed connection"
        time.sleep(0.02)
    assert front.open_streams == 0 or _eventually(lambda: front.open_streams == 0)


def _eventually(check: object) -> bool:
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        if callable(check) and check():
            return True
        time.sleep(0.02)
    return False


def test_wire_helpers() -> None:
    assert parse_timeout("5000m") == 5.0
    assert parse_timeout("2S") == 2.0
    assert parse_timeout("x") is None
    assert parse_timeout(None) is None
    with pytest.raises(ValueError, match="frame"):
        decode_request(base64.b64encode(b"\x00\x00\x00\x00\x09abc"))
    import grpc

    frame = base64.b64decode(trailer_frame(grpc.StatusCode.PERMISSION_DENIED, "no: 100% é"))
    assert frame[0] == 0x80
    assert b"grpc-status:7" in frame
    assert b"grpc-message:no%3A 100%25 %C3%A9" in frame


def test_a_hostile_content_length_is_refused_at_once(front: GrpcWebFront) -> None:
    for length in ("-5", "abc", str(64 * 1024 * 1024)):
        sock = socket.create_connection(("127.0.0.1", front.port), timeout=3)
        sock.sendall(
            b"POST /cache_client.Scs/Get HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpc-web-text\r\n"
            + f"content-length: {length}\r\n\r\n".encode()
        )
        status = sock.recv(4096).split(b"\r\n", 1)[0]
        sock.close()
        assert status.split()[1] in (b"400", b"413"), (length, status)
