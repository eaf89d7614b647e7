"""A tiny HTTP API (payload format 2.0) front for running a Lambda handler in-process.

Development only. `make demo` uses it so the product runs end to end in seconds on a machine
without a Docker engine; `make local-api` runs the same handler behind the real
`sam local start-api` instead. It does what API Gateway does before the function sees a
request and nothing more: it builds the v2 event, and in `jwt` mode it plays the JWT
authorizer (a missing or unreadable bearer token is answered 401 by the gateway, as API
Gateway does). It does NOT verify signatures — API Gateway's authorizer does that in AWS —
so never expose it beyond loopback.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


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
    return {
        "version": "2.0",
        "routeKey": f"ANY {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": context,
        "body": text,
        "isBase64Encoded": False,
    }


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


def _make_request_handler(handler: Handler, auth_mode: str) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            claims = None
            if auth_mode == "jwt":
                claims = _jwt_claims(headers.get("authorization"))
                if claims is None:
                    self._reply(401, {"content-type": "application/json"}, b'{"message":"Unauthorized"}')
                    return
            event = build_event(self.command, path, query, headers, body, self.client_address[0], claims)
            result = handler(event, LocalLambdaContext())
            payload = result.get("body") or ""
            raw = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
            self._reply(int(result.get("statusCode", 200)), result.get("headers") or {}, raw)

        def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
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
def serve(handler: Handler, *, auth_mode: str = "jwt", host: str = "127.0.0.1") -> Iterator[str]:
    """Serve `handler` on a free loopback port; yields the base URL and stops on exit."""
    server = ThreadingHTTPServer((host, 0), _make_request_handler(handler, auth_mode))
    thread = threading.Thread(target=server.serve_forever, name="local-api-gateway", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
