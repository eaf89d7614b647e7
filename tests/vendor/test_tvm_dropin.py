"""Momento's TVM example web clients work unchanged: root path, `?name=`, their preflight headers.

client-sdk-javascript `examples/nodejs/token-vending-machine` documents `GET <api root>?name=Taylor`
(the name becomes the token id); `examples/web/vite-chat-app` fetches the root with extra headers
(`username, password` or `usergroup, cachename`) that its browser preflights.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.vendor.conftest import VendorStack, load_event
from vendor.token_id import MAX_TOKEN_ID_LENGTH, token_id

pytestmark = pytest.mark.integration


def _at(event: dict[str, Any], path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    out = copy.deepcopy(event)
    out["rawPath"] = path
    out["requestContext"]["http"]["path"] = path
    out["rawQueryString"] = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    if query:
        out["queryStringParameters"] = query
    return out


def _body(response: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(response["body"])
    return parsed


def test_root_is_an_alias_of_token_and_name_only_labels_the_token(vendor_stack: VendorStack) -> None:
    app = vendor_stack.build()
    get = load_event("get-token-jwt.json")
    plain = _body(app.invoke(get))
    root = _body(app.invoke(_at(get, "/")))
    named = app.invoke(_at(get, "/", {"name": "Taylor"}))
    assert named["statusCode"] == 200, named["body"]
    body = _body(named)
    sub = get["requestContext"]["authorizer"]["jwt"]["claims"]["sub"]
    assert root["permissions"] == plain["permissions"]
    assert body["permissions"] == plain["permissions"]  # the name never changes the scope
    assert body["tokenId"] == f"{sub}/Taylor"
    record = vendor_stack.momento.credential(body["authToken"])
    assert record is not None
    assert record.token_id == f"{sub}/Taylor"
    # a labelled token is its own token, not the unlabelled one reused
    assert body["authToken"] != plain["authToken"]


def test_post_to_root_with_name(vendor_stack: VendorStack) -> None:
    app = vendor_stack.build()
    post = load_event("post-token-jwt.json")
    response = app.invoke(_at(post, "/", {"name": "ops.bot-1"}))
    assert response["statusCode"] == 200, response["body"]
    assert _body(response)["tokenId"].endswith("/ops.bot-1")


@pytest.mark.parametrize("name", ["a b", "-x", "x" * 33, "é", "admin*", "a/b", "a@b", "{sub}"])
def test_a_malformed_name_is_a_400_with_a_stable_code(vendor_stack: VendorStack, name: str) -> None:
    response = vendor_stack.build().invoke(_at(load_event("get-token-jwt.json"), "/token", {"name": name}))
    assert response["statusCode"] == 400
    assert _body(response)["error"] == "invalid_name"


def test_long_identities_keep_the_token_id_within_momentos_limit() -> None:
    arn = "arn:aws:sts::123456789012:assumed-role/a-rather-long-role-name/session-" + "x" * 40
    tid = token_id(arn, "Taylor")
    assert len(tid) <= MAX_TOKEN_ID_LENGTH
    assert "/Taylor~" in tid  # the label survives the shortening
    assert tid == token_id(arn, "Taylor")  # stable per caller
    assert tid != token_id(arn, "Tayler")


def test_preflight_of_the_example_clients_passes(vendor_stack: VendorStack) -> None:
    origin = "http://localhost:5173"
    app = vendor_stack.build(CORS_ALLOW_ORIGINS=origin)
    for asked in ("username,password", "usergroup,cachename,authorization"):
        event = _at(load_event("get-token-jwt.json"), "/")
        event["requestContext"]["http"]["method"] = "OPTIONS"
        event["headers"] = {
            "origin": origin,
            "access-control-request-method": "GET",
            "access-control-request-headers": asked,
        }
        response = app.invoke(event)
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        multi = {k.lower(): v for k, v in response.get("multiValueHeaders", {}).items()}
        allowed = headers.get("access-control-allow-headers") or ",".join(
            multi.get("access-control-allow-headers", [])
        )
        assert response["statusCode"] == 204, response
        for header in asked.split(","):
            assert header in allowed.lower(), (asked, allowed)
