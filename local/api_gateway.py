"""A tiny HTTP API (payload format 2.0) front for running a Lambda handler in-process.

Development only. `make demo` uses it so the product runs end to end in seconds on a machine
without a Docker engine; `make local-api` runs the same handler behind the real
`sam local start-api` instead. It does what API Gateway does before the function sees a
request and nothing more: it builds the v2 event, and in `jwt` mode it plays the JWT
authorizer (a missing or unreadable bearer token is answered 401 by the gateway, as API
Gateway does). With a `CorsConfiguration` it also answers CORS the way the HttpApi's
`CorsConfiguration` does: preflights are answered by the gateway itself (no authorizer, no
function call), and the configured CORS headers replace any the function returns. Without one,
preflights still pass the authorizer (they never carry Authorization) and reach the function,
which answers them with Powertools' CORS. It does NOT verify signatures — API Gateway's
authorizer does that in AWS — so never expose it beyond loopback.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class CorsConfiguration:
    """The HttpApi `CorsConfiguration` (AWS: "Configure CORS for HTTP APIs in API Gateway").

    "API Gateway automatically sends a response to preflight OPTIONS requests ... For a CORS
    request, API Gateway adds the configured CORS headers to the response from an integration
    ... [and] ignores CORS headers returned from your backend integration." Headers are only sent
    for a request with an `Origin` (and, for a preflight, `Access-Control-Request-Method`).
    Not verified against AWS: whether the authorizer's own 401 carries the headers (it does here,
    so the page can read the 401; a client must treat an unreadable answer as "unreachable").
    """

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ("GET", "POST", "OPTIONS")
    allow_headers: tuple[str, ...] = ("authorization", "content-type")
    expose_headers: tuple[str, ...] = ("retry-after",)
    max_age: int = 600

    def origin_allowed(self, origin: str | None) -> bool:
        return bool(origin) and ("*" in self.allow_origins or origin in self.allow_origins)

    def response_headers(self, origin: str) -> dict[str, str]:
        allowed = "*" if "*" in self.allow_origins else origin
        headers = {"access-control-allow-origin": allowed}
        if self.expose_headers:
            headers["access-control-expose-headers"] = ",".join(self.expose_headers)
        return headers

    def preflight_headers(self, origin: str) -> dict[str, str]:
        return {
            **self.response_headers(origin),
            "access-control-allow-methods": ",".join(self.allow_methods),
            "access-control-allow-headers": ",".join(self.allow_headers),
            "access-control-max-age": str(self.max_age),
        }


def is_preflight(method: str, headers: dict[str, str]) -> bool:
    """A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method (Fetch standard)."""
    return method == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers


def _jwt_claims(authorization: str | None) -> dict[str, Any] | None:
    if not authorization or not authorization.lower().startswith("bearer "):
        return None
    parts = authorization.split(" ", 1)[1].strip().split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def build_event(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    source_ip: str,
    claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """The event API Gateway HTTP APIs send with payload format 2.0 (route `ANY /token`)."""
    now = time.time()
    context: dict[str, Any] = {
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": headers.get("host", "localhost"),
        "domainPrefix": "local",
        "http": {
            "method": method,
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": f"ANY {path}",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    text = body.decode("utf-8", errors="replace") if body else None
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"ANY {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": False,
    }
    params = query_string_parameters(query)
    if params:
        event["queryStringParameters"] = params
    return event


def query_string_parameters(query: str) -> dict[str, str]:
    """Payload 2.0's `queryStringParameters`: decoded, repeated names joined with commas (AWS docs,
    "Working with AWS Lambda proxy integrations for HTTP APIs"); absent when there is no query."""
    params: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        params[name] = f"{params[name]},{value}" if name in params else value
    return params


class LocalLambdaContext:
    """The attributes Powertools reads from a Lambda context object."""

    function_version = "$LATEST"
    memory_limit_in_mb = 256
    log_stream_name = "local"

    def __init__(self, function_name: str = "VendorFunction") -> None:
        self.function_name = function_name
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _make_request_handler(
    handler: Handler, auth_mode: str, cors: CorsConfiguration | None
) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        _origin: str | None = None

        def _serve(self) -> None:
            path, _, query = self.path.partition("?")
            raw_length = (self.headers.get("content-length") or "0").strip()
            if not raw_length.isdigit():  # reading a negative length would block: refuse at once
                self.close_connection = True
                self._reply(400, {"content-type": "application/json"}, b'{"message":"Bad Request"}')
                return
            length = int(raw_length)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            self._origin = headers.get("origin")
            preflight = is_preflight(self.command, headers)
            if preflight and cors is not None:
                origin = self._origin or ""
                extra = cors.preflight_headers(origin) if cors.origin_allowed(origin) else {}
                self._reply(204, extra, b"")
                return
            claims = None
            if auth_mode == "jwt" and not preflight:
                claims = _jwt_claims(headers.get("authorization"))
                if claims is None:
                    self._reply(401, {"content-type": "application/json"}, b'{"message":"Unauthorized"}')
                    return
            event = build_event(self.command, path, query, headers, body, self.client_address[0], claims)
            result = handler(event, LocalLambdaContext())
            payload = result.get("body") or ""
            raw = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
            out: dict[str, str] = result.get("headers") or {}
            if cors is not None:
                # The gateway's CORS headers replace the function's.
                out = {k: v for k, v in out.items() if not k.lower().startswith("access-control-")}
            self._reply(int(result.get("statusCode", 200)), out, raw)

        def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
            origin = self._origin
            if cors is not None and origin and cors.origin_allowed(origin):
                headers = {**cors.response_headers(origin), **headers}
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, str(value))
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silenced: request lines would be noise next to the function's structured logs."""

    return RequestHandler


@contextmanager
def serve(
    handler: Handler,
    *,
    auth_mode: str = "jwt",
    host: str = "127.0.0.1",
    cors: CorsConfiguration | None = None,
    port: int = 0,
) -> Iterator[str]:
    """Serve `handler` on a loopback port (default: a free one); yields the base URL, stops on exit."""
    server = ThreadingHTTPServer((host, port), _make_request_handler(handler, auth_mode, cors))
    # poll every 50 ms (not 500): stopping the front is then as quick as the tests that start it.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="local-api-gateway", daemon=True
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
