"""docs/openapi.yaml is the vendor's contract: real answers, errors included, are checked against it.

Each case drives the real vendor (moto's Secrets Manager, the local Momento server) and validates
status, body schema (JSON Schema 2020-12, as OpenAPI 3.1 uses) and required headers against the
operation the spec gives for that path and method.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate as validate_spec

import vendor.app
from local.api_gateway import LocalLambdaContext, serve
from tests.vendor.conftest import VendorStack, load_event

SPEC_PATH = Path(__file__).parents[2] / "docs" / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())


def _deref(node: Any) -> Any:
    """Inline every local `$ref` (the spec has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = SPEC
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return _deref(target)
        return {k: _deref(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_deref(v) for v in node]
    return node


def _operation(path: str, method: str) -> dict[str, Any]:
    paths = SPEC["paths"]
    item = paths.get(path) or paths["/{other}"]
    op = item.get(method.lower())
    assert op is not None, f"the spec has no {method} {path}"
    return dict(_deref(op))


def check(path: str, method: str, response: dict[str, Any]) -> dict[str, Any]:
    """Validate one Lambda proxy response against the spec; returns the parsed body."""
    status = str(response["statusCode"])
    op = _operation(path, method)
    assert status in op["responses"], f"{method} {path} answered {status}, which the spec does not list"
    spec_response = op["responses"][status]
    body = json.loads(response["body"])
    schema = spec_response["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator(schema).validate(body)
    headers = {k.lower(): str(v) for k, v in (response.get("headers") or {}).items()}
    for name, header in (spec_response.get("headers") or {}).items():
        if header.get("required"):
            assert name.lower() in headers, f"{status} lacks header {name}"
            jsonschema.Draft202012Validator(header["schema"]).validate(headers[name.lower()])
    return dict(body)


def test_the_spec_is_valid_openapi() -> None:
    validate_spec(SPEC)


def _event(name: str, path: str | None = None, **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event(name))
    if path is not None:
        event["rawPath"] = path
        event["requestContext"]["http"]["path"] = path
    for key, value in changes.items():
        if key == "method":
            event["requestContext"]["http"]["method"] = value
        else:
            event[key] = value
    return event


def _method(event: dict[str, Any]) -> str:
    return str(event["requestContext"]["http"]["method"])


@pytest.mark.integration
def test_every_kind_of_answer_matches_the_spec(vendor_stack: VendorStack) -> None:
    app = vendor_stack.build()
    cases: list[tuple[str, dict[str, Any], int, str | None]] = [
        ("get", _event("get-token-jwt.json"), 200, None),
        ("post", _event("post-token-jwt.json"), 200, None),
        ("root", _event("get-token-jwt.json", "/"), 200, None),
        ("named", _event("get-token-jwt.json", queryStringParameters={"name": "Taylor"}), 200, None),
        (
            "bad name",
            _event("get-token-jwt.json", queryStringParameters={"name": "a b"}),
            400,
            "invalid_name",
        ),
        ("malformed", _event("post-token-jwt-malformed.json"), 400, "bad_request"),
        ("unknown scope", _event("post-token-jwt-unknown-scope.json"), 400, "unknown_scope"),
        ("unauthenticated", _event("get-token-jwt-unauthenticated.json"), 401, "unauthenticated"),
        ("forbidden", _event("post-token-jwt-forbidden.json"), 403, "forbidden"),
        ("not found", _event("get-token-jwt.json", "/nope"), 404, "not_found"),
        (
            "method",
            _event("delete-token-jwt-method-not-allowed.json", method="PUT"),
            405,
            "method_not_allowed",
        ),
        ("too large", _event("post-token-jwt-too-large.json"), 413, "payload_too_large"),
    ]
    seen: dict[int, set[str]] = {}
    for label, event, status, code in cases:
        response = app.invoke(event)
        assert response["statusCode"] == status, (label, response["body"])
        body = check(event["rawPath"], _method(event), response)
        seen.setdefault(status, set()).add(body.get("error", ""))
        if code is not None:
            assert body["error"] == code, label
    assert set(seen) == {200, 400, 401, 403, 404, 405, 413}


@pytest.mark.integration
def test_throttled_and_unavailable_answers_match_the_spec(vendor_stack: VendorStack) -> None:
    momento = vendor_stack.momento
    post = _event("post-token-jwt.json")

    def fresh(action: Callable[[], None]) -> dict[str, Any]:
        action()
        return vendor_stack.build().invoke(post)

    throttled = fresh(lambda: momento.set_quota(1e-9, 0.0))
    assert throttled["statusCode"] == 429, throttled["body"]
    check("/token", "POST", throttled)
    momento.set_quota(None)
    unavailable = fresh(lambda: momento.faults.set(unavailable=True))
    assert unavailable["statusCode"] == 503, unavailable["body"]
    check("/token", "POST", unavailable)
    momento.faults.set(unavailable=False)


@pytest.mark.integration
def test_bad_events_and_the_gateways_own_401_match_the_spec(
    vendor_stack: VendorStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in vendor_stack.env().items():
        monkeypatch.setenv(key, value)
    vendor.app._application.cache_clear()
    try:
        event = _event("get-token-jwt.json")
        del event["requestContext"]
        response = vendor.app.handler(event, LocalLambdaContext())
        assert response["statusCode"] == 400
        assert check("/token", "GET", response)["error"] == "bad_event"
        import http.client
        import urllib.parse

        with serve(vendor.app.handler, auth_mode="jwt") as base:
            url = urllib.parse.urlsplit(base)
            conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
            conn.request("GET", "/token")
            raw = conn.getresponse()
            gateway = {
                "statusCode": raw.status,
                "headers": dict(raw.getheaders()),
                "body": raw.read().decode(),
            }
            conn.close()
        assert gateway["statusCode"] == 401
        check("/token", "GET", gateway)
    finally:
        vendor.app._application.cache_clear()


def test_the_check_refuses_what_the_spec_does_not_say() -> None:
    ok = {
        "statusCode": 403,
        "headers": {"Cache-Control": "no-store"},
        "body": '{"error":"forbidden","message":"x"}',
    }
    check("/token", "GET", ok)
    for bad in (
        {**ok, "body": '{"error":"nope","message":"x"}'},  # an undocumented code
        {**ok, "headers": {}},  # a missing required header
        {**ok, "statusCode": 418},  # an undocumented status
        {**ok, "body": '{"error":"forbidden","message":"x","trace":"..."}'},  # an extra field
    ):
        with pytest.raises((AssertionError, jsonschema.ValidationError)):
            check("/token", "GET", bad)
    no_retry_after = {"statusCode": 429, "headers": {"Cache-Control": "no-store"}, "body": ok["body"]}
    with pytest.raises((AssertionError, jsonschema.ValidationError)):
        check("/token", "POST", no_retry_after)
