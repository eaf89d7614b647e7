"""A gRPC-web (text) front for the local Momento server, so `@gomomento/sdk-web` runs in a page.

Development only. Browsers cannot speak gRPC (HTTP/2 trailers), so Momento's web SDK speaks
gRPC-web text over HTTP/1.1 (`grpc-web` 1.4, `application/grpc-web-text`). Momento's hosted
service answers it on `web.cache.<region>`; locally this front translates each call into a real
gRPC call to the local server's port. Because every call goes through the same grpcio server as
the Python SDK's, authentication, scopes, faults, the clock and the auth quota are the server's
own; nothing is re-implemented here.

Wire format (grpc-web PROTOCOL-WEB.md): the body is base64 of frames `flag(1) length(4, big
endian) message`; flag 0x00 = message, 0x80 = trailers (`grpc-status:N\\r\\ngrpc-message:..\\r\\n`).
Each response frame is base64-encoded on its own (the client accepts concatenated padded chunks).
Errors travel as trailers inside an HTTP 200, as Envoy's grpc_web filter sends them.

Server streaming (topic Subscribe): chunked transfer, one chunk per message. A page that
unsubscribes or closes aborts the request; the front notices at once (a watcher thread peeks the
socket, which reads b"" on close) and cancels the upstream call, so the server drops the
subscription instead of waiting for the next failed heartbeat write.

CORS: any Origin is echoed (the front only listens on loopback), preflights are answered 204 with
the requested headers, and `grpc-status`/`grpc-message` are exposed to the page.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import importlib
import pkgutil
import socket
import struct
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
from google.protobuf import descriptor_pool

#: Request metadata forwarded to gRPC (what sdk-web sends; everything else is HTTP plumbing).
FORWARDED_METADATA = ("authorization", "cache", "agent", "runtime-version", "read-concern")
#: How long a browser may cache a preflight answer.
PREFLIGHT_MAX_AGE_SECONDS = 600
#: A unary call without `grpc-timeout` gets this deadline (sdk-web always sends about 5 s).
DEFAULT_TIMEOUT_SECONDS = 30.0
#: Refuse request bodies above this (Momento's own item limit is 5 MB; base64 adds a third).
MAX_BODY_BYTES = 8 * 1024 * 1024
_TEXT = "application/grpc-web-text"
_TIMEOUT_UNITS = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}


def _load_descriptors() -> None:
    """Import every generated `*_pb2` module so the default pool knows every Momento service."""
    import momento_wire_types.generated as generated

    for info in pkgutil.iter_modules(generated.__path__):
        if info.name.endswith("_pb2"):
            importlib.import_module(f"{generated.__name__}.{info.name}")


def method_streams(path: str) -> bool | None:
    """True for a server-streaming method, False for unary, None for an unknown `/pkg.Svc/Method`."""
    service, _, method = path.strip("/").partition("/")
    try:
        found = descriptor_pool.Default().FindServiceByName(service).FindMethodByName(method)
    except KeyError:
        return None
    if found is None or found.client_streaming:
        return None
    return bool(found.server_streaming)


def parse_timeout(value: str | None) -> float | None:
    """A `grpc-timeout` header (`5000m`, `5S`, ...) in seconds; None when absent or unreadable."""
    if not value or len(value) < 2 or value[-1] not in _TIMEOUT_UNITS or not value[:-1].isdigit():
        return None
    return int(value[:-1]) * _TIMEOUT_UNITS[value[-1]]


def decode_request(body: bytes) -> bytes:
    """The one message of a gRPC-web text request; ValueError when the body is not one frame."""
    try:
        raw = base64.b64decode(body, validate=False)
    except (binascii.Error, ValueError):
        raise ValueError("body is not base64") from None
    if len(raw) < 5 or raw[0] != 0:
        raise ValueError("body is not one uncompressed gRPC-web message frame")
    (length,) = struct.unpack(">I", raw[1:5])
    if len(raw) != 5 + length:
        raise ValueError("frame length does not match the body")
    return raw[5:]


def data_frame(message: bytes) -> bytes:
    return base64.b64encode(b"\x00" + struct.pack(">I", len(message)) + message)


def trailer_frame(code: grpc.StatusCode, message: str | None) -> bytes:
    text = f"grpc-status:{code.value[0]}\r\n"
    if message:
        text += f"grpc-message:{urllib.parse.quote(message, safe=' ')}\r\n"
    raw = text.encode()
    return base64.b64encode(b"\x80" + struct.pack(">I", len(raw)) + raw)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: GrpcWebFront._Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: request lines would be noise next to the product's logs."""

    # -- CORS -------------------------------------------------------------------------------------
    def _cors_headers(self) -> None:
        origin = self.headers.get("origin")
        if origin:
            self.send_header("access-control-allow-origin", origin)
            self.send_header("vary", "origin")
        self.send_header("access-control-expose-headers", "grpc-status, grpc-message")

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self._cors_headers()
        self.send_header("access-control-allow-methods", "POST, OPTIONS")
        requested = self.headers.get("access-control-request-headers")
        if requested:
            self.send_header("access-control-allow-headers", requested)
        self.send_header("access-control-max-age", str(PREFLIGHT_MAX_AGE_SECONDS))
        self.send_header("content-length", "0")
        self.end_headers()

    def _plain(self, status: int, text: str) -> None:
        body = text.encode()
        self.send_response(status)
        self._cors_headers()
        self.send_header("content-type", "text/plain; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _not_post(self) -> None:
        self._plain(405, "gRPC-web takes POST only")

    do_GET = do_PUT = do_DELETE = do_PATCH = _not_post

    # -- calls ------------------------------------------------------------------------------------
    def do_POST(self) -> None:
        streams = method_streams(self.path)
        if streams is None:
            self._plain(404, f"no such gRPC method: {self.path}")
            return
        if not (self.headers.get("content-type") or "").startswith(_TEXT):
            self._plain(415, f"only {_TEXT} is served")
            return
        raw_length = (self.headers.get("content-length") or "0").strip()
        if not raw_length.isdigit():  # negative or junk: reading would block until the client gives up
            self.close_connection = True
            self._plain(400, "content-length must be a non-negative integer")
            return
        length = int(raw_length)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._plain(413, "request body too large")
            return
        try:
            message = decode_request(self.rfile.read(length))
        except ValueError as exc:
            self._plain(400, str(exc))
            return
        metadata = tuple(
            (name, value) for name in FORWARDED_METADATA if (value := self.headers.get(name)) is not None
        )
        timeout = parse_timeout(self.headers.get("grpc-timeout"))
        if streams:
            self._stream(message, metadata, timeout)
        else:
            self._unary(message, metadata, timeout or DEFAULT_TIMEOUT_SECONDS)

    def _start(self, chunked: bool, length: int = 0) -> None:
        self.send_response(200)
        self._cors_headers()
        self.send_header("content-type", _TEXT)
        self.send_header("cache-control", "no-store")
        if chunked:
            self.send_header("transfer-encoding", "chunked")
        else:
            self.send_header("content-length", str(length))
        self.end_headers()

    def _unary(self, message: bytes, metadata: tuple[tuple[str, str], ...], timeout: float) -> None:
        call = self.server.channel.unary_unary(self.path, request_serializer=None, response_deserializer=None)
        try:
            reply, _ = call.with_call(message, metadata=metadata, timeout=timeout)
            body = data_frame(reply) + trailer_frame(grpc.StatusCode.OK, None)
        except grpc.RpcError as err:
            body = trailer_frame(err.code(), err.details())
        self._start(chunked=False, length=len(body))
        self.wfile.write(body)

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _stream(self, message: bytes, metadata: tuple[tuple[str, str], ...], timeout: float | None) -> None:
        call = self.server.channel.unary_stream(
            self.path, request_serializer=None, response_deserializer=None
        )
        replies: Any = call(message, metadata=metadata, timeout=timeout)
        self.server.track(replies)
        watcher = threading.Thread(target=self._watch_close, args=(replies,), daemon=True)
        self._start(chunked=True)
        watcher.start()
        try:
            try:
                for reply in replies:
                    self._chunk(data_frame(reply))
                trailer = trailer_frame(grpc.StatusCode.OK, None)
            except grpc.RpcError as err:
                trailer = trailer_frame(err.code(), err.details())
            self._chunk(trailer)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:  # the page went away mid-write
            self.close_connection = True
        finally:
            replies.cancel()
            self.server.untrack(replies)
            # A streamed response is the connection's last: the watcher is still peeking it.
            self.close_connection = True

    def _watch_close(self, call: Any) -> None:
        """Cancel the upstream stream as soon as the page closes the connection (unsubscribe, tab closed)."""
        with contextlib.suppress(OSError):
            while call.is_active():
                try:
                    data = self.connection.recv(1, socket.MSG_PEEK)
                except TimeoutError:
                    continue
                if not data:
                    break
                # The client sent more bytes (pipelining, which browsers do not do): stop watching.
                return
        call.cancel()


class GrpcWebFront:
    """Serves gRPC-web text on `host:port` for the gRPC server at `upstream` (`host:port`)."""

    class _Server(ThreadingHTTPServer):
        daemon_threads = True
        channel: grpc.Channel
        _calls: set[Any]
        _lock: threading.Lock

        def track(self, call: Any) -> None:
            with self._lock:
                self._calls.add(call)

        def untrack(self, call: Any) -> None:
            with self._lock:
                self._calls.discard(call)

        def cancel_all(self) -> None:
            with self._lock:
                calls = list(self._calls)
            for call in calls:
                call.cancel()

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0) -> None:
        _load_descriptors()
        self._server = self._Server((host, port), _Handler)
        self._server.channel = grpc.insecure_channel(upstream)
        self._server._calls = set()
        self._server._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._server.server_address[0])
        return f"http://{host}:{self.port}"

    def start(self) -> GrpcWebFront:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="grpc-web", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.cancel_all()
        self._server.shutdown()
        self._server.server_close()
        self._server.channel.close()

    @property
    def open_streams(self) -> int:
        """Streams (subscriptions) currently relayed (tests: a closed page leaves none)."""
        with self._server._lock:
            return len(self._server._calls)
