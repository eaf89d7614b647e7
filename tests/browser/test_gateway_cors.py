"""The local API front answers CORS as the HttpApi CorsConfiguration does, in jwt mode too.

Before: a browser's preflight (which never carries Authorization) was answered 401 in jwt mode,
so every cross-origin token fetch failed with "No 'Access-Control-Allow-Origin' header".
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from typing import Any

from local.api_gateway import CorsConfiguration, serve

ORIGIN = "http://127.0.0.1:5173"
BEARER = "Bearer e30.eyJzdWIiOiJ1MSJ9.x"  # claims {"sub": "u1"}


class Recorder:
    """A function behind the gateway that answers with CORS headers of its own, like Powertools'."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], _context: Any) -> dict[str, Any]:
        self.events.append(event)
        return {
            "statusCode": 200,
            "headers": {
                "content-type": "application/json",
                "access-control-allow-origin": "https://evil.example",
            },
            "body": json.dumps({"method": event["requestContext"]["http"]["method"]}),
        }


def _request(base: str, method: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)
    conn.request(method, "/token", headers=headers)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


PREFLIGHT = {
    "origin": ORIGIN,
    "access-control-request-method": "GET",
    "access-control-request-headers": "authorization",
}


def test_preflight_is_answered_by_the_gateway_without_auth_or_function() -> None:
    fn = Recorder()
    cors = CorsConfiguration(allow_origins=(ORIGIN,), allow_headers=("authorization", "username", "password"))
    with serve(fn, auth_mode="jwt", cors=cors) as base:
        resp = _request(base, "OPTIONS", PREFLIGHT)
    assert resp.status == 204
    assert resp.getheader("access-control-allow-origin") == ORIGIN
    assert resp.getheader("access-control-allow-headers") == "authorization,username,password"
    assert resp.getheader("access-control-max-age") == "600"
    assert fn.events == []


def test_cors_headers_replace_the_functions_and_reach_401s() -> None:
    fn = Recorder()
    cors = CorsConfiguration(allow_origins=(ORIGIN,))
    with serve(fn, auth_mode="jwt", cors=cors) as base:
        ok = _request(base, "GET", {"origin": ORIGIN, "authorization": BEARER})
        refused = _request(base, "GET", {"origin": ORIGIN})
        other = _request(base, "GET", {"origin": "http://elsewhere.example", "authorization": BEARER})
    assert ok.status == 200
    assert ok.getheader("access-control-allow-origin") == ORIGIN
    assert "retry-after" in (ok.getheader("access-control-expose-headers") or "")
    assert refused.status == 401
    assert refused.getheader("access-control-allow-origin") == ORIGIN
    assert other.getheader("access-control-allow-origin") is None


def test_origin_not_allowed_gets_no_cors_headers_on_preflight() -> None:
    cors = CorsConfiguration(allow_origins=(ORIGIN,))
    with serve(Recorder(), auth_mode="jwt", cors=cors) as base:
        resp = _request(base, "OPTIONS", {**PREFLIGHT, "origin": "http://elsewhere.example"})
    assert resp.getheader("access-control-allow-origin") is None


def test_without_a_gateway_cors_configuration_preflights_reach_the_function_in_jwt_mode() -> None:
    fn = Recorder()
    with serve(fn, auth_mode="jwt") as base:
        resp = _request(base, "OPTIONS", PREFLIGHT)
        plain_options = _request(base, "OPTIONS", {"origin": ORIGIN})  # not a preflight: authorizer applies
    assert resp.status == 200
    assert [e["requestContext"]["http"]["method"] for e in fn.events] == ["OPTIONS"]
    assert plain_options.status == 401


def test_query_string_parameters_are_in_the_event_as_api_gateway_sends_them() -> None:
    fn = Recorder()
    with serve(fn, auth_mode="none") as base:
        url = urllib.parse.urlsplit(base)
        conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=5)
        conn.request("GET", "/token?name=Tay%20lor&x=1&x=2")
        conn.getresponse().read()
        conn.close()
    event = fn.events[0]
    assert event["rawQueryString"] == "name=Tay%20lor&x=1&x=2"
    assert event["queryStringParameters"] == {"name": "Tay lor", "x": "1,2"}


def test_a_hostile_content_length_is_a_400_not_a_hang() -> None:
    import socket

    with serve(Recorder(), auth_mode="none") as base:
        url = urllib.parse.urlsplit(base)
        sock = socket.create_connection((url.hostname or "", url.port or 0), timeout=3)
        sock.sendall(b"POST /token HTTP/1.1\r\nhost: x\r\ncontent-length: -1\r\n\r\n")
        status = sock.recv(4096).split(b"\r\n", 1)[0]
        sock.close()
    assert status.split()[1] == b"400"
