"""Hostile input through the real Lambda handler: a 400/401 with a stable code, never a 5xx or a raise."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

import vendor.app
from local.api_gateway import LocalLambdaContext
from tests.vendor.conftest import VendorStack, load_event

pytestmark = pytest.mark.integration


@pytest.fixture
def handler(vendor_stack: VendorStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[VendorStack]:
    for name, value in vendor_stack.env().items():
        monkeypatch.setenv(name, value)
    vendor.app._application.cache_clear()
    yield vendor_stack
    vendor.app._application.cache_clear()


def call(event: Any) -> tuple[int, str, dict[str, Any]]:
    response = vendor.app.handler(event, LocalLambdaContext())
    body = json.loads(response["body"])
    return int(response["statusCode"]), str(body.get("error")), response


def post(body: str | bytes, mode_event: str = "post-token-jwt.json") -> dict[str, Any]:
    event = load_event(mode_event)
    event["body"] = body if isinstance(body, str) else body.decode()
    event["isBase64Encoded"] = False
    return event


def permission_body(**fields: Any) -> str:
    base = {
        "cache": "tenant-acme",
        "keyPrefix": "user-3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c-",
        "role": "read_write",
    }
    base.update(fields)
    return json.dumps({"permissions": [base]})


def test_deep_nesting_and_huge_integers_are_400(handler: VendorStack) -> None:
    cases = {
        "nested array": "[" * 3000 + "]" * 3000,
        "nested object": '{"a":' * 1200 + "1" + "}" * 1200,
        "nested in permissions": '{"permissions":' + "[" * 3000 + "]" * 3000 + "}",
        "huge ttl": '{"ttlSeconds": ' + "9" * 4301 + "}",
        "huge negative ttl": '{"ttlSeconds": -' + "9" * 5000 + "}",
        "huge int as a name": '{"permissions":[{"cache":' + "1" * 4400 + ',"role":"read_only"}]}',
        "NaN": '{"ttlSeconds": NaN}',
        "Infinity": '{"ttlSeconds": Infinity}',
    }
    for name, body in cases.items():
        status, code, _ = call(post(body))
        assert (status, code) == (400, "bad_request"), name


@pytest.mark.parametrize("where", ["cache", "keyPrefix", "key", "topic"])
def test_lone_surrogates_in_names_are_400(handler: VendorStack, where: str) -> None:
    fields: dict[str, Any] = {where: "x\ud800"}
    if where == "key":
        fields["keyPrefix"] = None
    if where == "topic":
        fields = {"cache": "tenant-acme", "topic": "orders-\udfff", "role": "publish_subscribe"}
        body = json.dumps({"permissions": [fields]})
    else:
        body = permission_body(**fields)
        body = body.replace(', "keyPrefix": null', "")
    # json.dumps escapes the surrogate (\ud800), exactly as a hostile client would send it.
    assert "\\ud" in body
    status, code, _ = call(post(body))
    assert (status, code) == (400, "bad_request")
    # and the raw (unescaped) surrogate in the event's body string
    status, code, _ = call(post(json.loads(json.dumps(body))))
    assert status == 400


def test_lone_surrogate_principal_is_400(handler: VendorStack) -> None:
    event = load_event("get-token-jwt.json")
    event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = "\ud800"
    assert call(event)[:2] == (400, "bad_request")


def test_events_the_gateway_cannot_send_get_a_json_error(handler: VendorStack) -> None:
    good = load_event("post-token-jwt.json")

    def variant(change: Any) -> Any:
        event = copy.deepcopy(good)
        change(event)
        return event

    cases: dict[str, Any] = {
        "no requestContext": variant(lambda e: e.pop("requestContext")),
        "requestContext not an object": variant(lambda e: e.update(requestContext="x")),
        "no http": variant(lambda e: e["requestContext"].pop("http")),
        "body is a number": variant(lambda e: e.update(body=12)),
        "body is an object": variant(lambda e: e.update(body={"permissions": []})),
        "header is a number": variant(lambda e: e["headers"].update({"origin": 1})),
        "headers is a list": variant(lambda e: e.update(headers=["a"])),
        "payload 1.0": {
            "version": "1.0",
            "resource": "/token",
            "path": "/token",
            "httpMethod": "GET",
            "headers": {},
            "requestContext": {"httpMethod": "GET", "authorizer": {"claims": {"sub": "x"}}},
            "body": None,
        },
        "no version": variant(lambda e: e.pop("version")),
        "isBase64Encoded a string": variant(lambda e: e.update(isBase64Encoded="true")),
        "cookies not a list": variant(lambda e: e.update(cookies="a=b")),
        "empty": {},
        "a list": [],
        "a string": "GET /token",
        "null": None,
    }
    for name, event in cases.items():
        status, code, response = call(event)
        assert (status, code) == (400, "bad_event"), name
        assert response["headers"]["Content-Type"] == "application/json"


def test_lambda_authorizer_sub_not_a_string_is_401(
    handler: VendorStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTH_MODE", "lambda")
    vendor.app._application.cache_clear()
    for sub in (0, 1, "", None, False, ["a"], {"a": 1}):
        event = load_event("get-token-lambda.json")
        event["requestContext"]["authorizer"]["lambda"]["sub"] = sub
        event["requestContext"]["authorizer"]["lambda"]["principalId"] = "device17"
        assert call(event)[:2] == (401, "unauthenticated"), sub
