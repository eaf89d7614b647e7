"""Every handler path, driven by HTTP API v2 events, against moto server + the local Momento server."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

import vendor.app
from local.api_gateway import LocalLambdaContext
from tests.vendor.conftest import EVENTS, VendorStack, auth_mode_of, load_event

EXPECTED_BY_SUFFIX = {
    "forbidden": (403, "forbidden"),
    "malformed": (400, "bad_request"),
    "unknown-scope": (400, "unknown_scope"),
    "too-large": (413, "payload_too_large"),
    "unauthenticated": (401, "unauthenticated"),
    "method-not-allowed": (405, "method_not_allowed"),
}


def expected_for(name: str) -> tuple[int, str | None]:
    for suffix, expected in EXPECTED_BY_SUFFIX.items():
        if name.removesuffix(".json").endswith(suffix):
            return expected
    return 200, None


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(response["body"])
    return parsed


EVENT_NAMES = sorted(p.name for p in EVENTS.glob("*-token-*.json"))


@pytest.mark.integration
def test_every_sample_event_gets_the_status_its_name_says(vendor_stack: VendorStack) -> None:
    apps = {mode: vendor_stack.build(AUTH_MODE=mode) for mode in ("jwt", "lambda", "iam", "none")}
    assert len(EVENT_NAMES) >= 8
    for name in EVENT_NAMES:
        response = apps[auth_mode_of(name)].invoke(load_event(name))
        status, code = expected_for(name)
        assert response["statusCode"] == status, (name, response["body"])
        assert response["headers"]["Cache-Control"] == "no-store"
        body = body_of(response)
        if code is None:
            assert body["authToken"] == body["token"]
            assert body["expiresAt"] == body["exp"]
            assert body["permissions"]
            assert body["tokenId"]
            assert body["endpoint"]
        else:
            assert set(body) == {"error", "message"}
            assert body["error"] == code
            assert "Traceback" not in body["message"]


@pytest.mark.integration
def test_post_returns_the_whole_part_holding_the_requested_scope_and_lifetime(
    vendor_stack: VendorStack,
) -> None:
    # The request is part of the caller's cache part, so it gets that whole part (issue 13: one
    # token per part and lifetime bucket, not one per subset).
    event = load_event("post-token-jwt.json")
    response = vendor_stack.build().invoke(event)
    body = body_of(response)
    requested = json.loads(event["body"])
    assert all(p in body["permissions"] for p in requested["permissions"])
    assert {"cache": "tenant-acme", "role": "read_only"} in body["permissions"]
    record = vendor_stack.momento.credential(body["authToken"])
    assert record is not None
    clock_now = vendor_stack.momento.clock.now()
    assert body["expiresAt"] - clock_now == pytest.approx(900, abs=5)
    assert body["tokenId"] == "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c"


@pytest.mark.integration
def test_forbidden_names_the_refused_part(vendor_stack: VendorStack) -> None:
    body = body_of(vendor_stack.build().invoke(load_event("post-token-jwt-forbidden.json")))
    assert "tenant-globex" in body["message"]


@pytest.mark.integration
def test_method_not_allowed_says_what_is(vendor_stack: VendorStack) -> None:
    response = vendor_stack.build().invoke(load_event("delete-token-jwt-method-not-allowed.json"))
    assert response["headers"]["Allow"] == "GET, POST"


@pytest.mark.integration
def test_unknown_path_is_404_json(vendor_stack: VendorStack) -> None:
    event = load_event("get-token-jwt.json")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/admin"
    response = vendor_stack.build().invoke(event)
    assert (response["statusCode"], body_of(response)["error"]) == (404, "not_found")


@pytest.mark.integration
def test_base64_body_is_decoded(vendor_stack: VendorStack) -> None:
    import base64

    event = load_event("post-token-jwt.json")
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert vendor_stack.build().invoke(event)["statusCode"] == 200


@pytest.mark.integration
@pytest.mark.parametrize("encoded", [False, True])
def test_oversized_body_is_413_before_decoding(vendor_stack: VendorStack, encoded: bool) -> None:
    import base64

    event = load_event("post-token-jwt.json")
    raw = b" " * 9000 + event["body"].encode()
    event["body"] = base64.b64encode(raw).decode() if encoded else raw.decode()
    event["isBase64Encoded"] = encoded
    response = vendor_stack.build().invoke(event)
    assert (response["statusCode"], body_of(response)["error"]) == (413, "payload_too_large")


@pytest.mark.integration
def test_quota_exceeded_is_429_with_retry_after(vendor_stack: VendorStack) -> None:
    built = vendor_stack.build(THROTTLED_RETRY_AFTER_SECONDS="2")
    vendor_stack.momento.set_quota(0.001, 1)
    assert built.invoke(load_event("get-token-jwt.json"))["statusCode"] == 200
    # A different scope cannot reuse the cached token, so it needs a mint the quota refuses.
    response = built.invoke(load_event("post-token-jwt.json"))
    assert response["statusCode"] == 429
    assert response["headers"]["Retry-After"] == "2"
    assert body_of(response)["error"] == "momento_limit_exceeded"
    # The cached token for the first scope is still served without a mint.
    assert built.invoke(load_event("get-token-jwt.json"))["statusCode"] == 200


@pytest.mark.integration
def test_momento_unavailable_is_503_with_retry_after(vendor_stack: VendorStack) -> None:
    built = vendor_stack.build(MOMENTO_TIMEOUT_SECONDS="1")
    vendor_stack.momento.faults.set(unavailable=True)
    response = built.invoke(load_event("get-token-jwt.json"))
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"] == "5"
    assert body_of(response)["error"] == "momento_unavailable"


@pytest.mark.integration
def test_secrets_manager_unavailable_with_nothing_cached_is_503(vendor_stack: VendorStack) -> None:
    built = vendor_stack.build(SECRETS_MANAGER_ENDPOINT_URL="http://127.0.0.1:9")
    response = built.invoke(load_event("get-token-jwt.json"))
    assert response["statusCode"] == 503
    assert body_of(response)["error"] == "secret_store_unavailable"
    assert "Retry-After" in response["headers"]


@pytest.mark.integration
def test_cors_headers_when_configured(vendor_stack: VendorStack) -> None:
    built = vendor_stack.build(CORS_ALLOW_ORIGINS="https://app.example.com")
    event = load_event("get-token-jwt.json")
    event["headers"]["origin"] = "https://app.example.com"
    response = built.invoke(event)
    assert response["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    event["headers"]["origin"] = "https://evil.example.com"
    assert "Access-Control-Allow-Origin" not in built.invoke(event)["headers"]


@pytest.mark.integration
def test_cors_preflight_offers_get_and_post_only(vendor_stack: VendorStack) -> None:
    built = vendor_stack.build(CORS_ALLOW_ORIGINS="https://app.example.com", CORS_ALLOW_HEADERS="X-Api-Key")
    event = load_event("get-token-jwt.json")
    event["requestContext"]["http"]["method"] = "OPTIONS"
    event["headers"]["origin"] = "https://app.example.com"
    response = built.invoke(event)
    assert response["statusCode"] == 204
    headers = response["headers"]
    assert set(headers["Access-Control-Allow-Methods"].split(",")) == {"GET", "POST", "OPTIONS"}
    assert "X-Api-Key" in headers["Access-Control-Allow-Headers"]
    assert headers["Access-Control-Max-Age"] == "600"


@pytest.mark.integration
def test_no_cors_headers_by_default(vendor_stack: VendorStack) -> None:
    event = load_event("get-token-jwt.json")
    event["headers"]["origin"] = "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in vendor_stack.build().invoke(event)["headers"]


@pytest.mark.integration
def test_powertools_dev_mode_prints_no_event(
    vendor_stack: VendorStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_DEV", "true")
    event = load_event("get-token-jwt.json")
    event["headers"]["authorization"] = "Bearer caller-id-token-never-printed"
    response = vendor_stack.build().invoke(event)
    assert response["statusCode"] == 200
    output = capsys.readouterr()
    assert "caller-id-token-never-printed" not in output.out + output.err
    assert body_of(response)["authToken"] not in output.out + output.err


def emitted_metrics(output: str) -> list[str]:
    """Names of the metrics in the Embedded Metric Format lines the handler printed."""
    names: list[str] = []
    for line in output.splitlines():
        if '"_aws"' in line:
            record = json.loads(line)
            names += [m["Name"] for d in record["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
    return names


def test_handler_reports_bad_configuration_without_details(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    vendor.app._application.cache_clear()
    monkeypatch.delenv("SECRET_ID", raising=False)
    monkeypatch.setenv("VENDING_POLICY", "{not json")
    response = vendor.app.handler(load_event("get-token-jwt.json"), LocalLambdaContext())
    vendor.app._application.cache_clear()
    assert response["statusCode"] == 500
    assert body_of(response) == {
        "error": "config_error",
        "message": "the token vending machine is misconfigured",
    }
    assert emitted_metrics(capsys.readouterr().out) == ["VendFailed"]


@pytest.mark.integration
def test_lambda_handler_end_to_end(
    vendor_stack: VendorStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in vendor_stack.env().items():
        monkeypatch.setenv(name, value)
    vendor.app._application.cache_clear()
    try:
        ok = vendor.app.handler(load_event("get-token-jwt.json"), LocalLambdaContext())
        forbidden = vendor.app.handler(load_event("post-token-jwt-forbidden.json"), LocalLambdaContext())
        vendor_stack.momento.faults.set(unavailable=True)
        unavailable = vendor.app.handler(load_event("post-token-jwt.json"), LocalLambdaContext())
    finally:
        vendor.app._application.cache_clear()
    assert (ok["statusCode"], forbidden["statusCode"], unavailable["statusCode"]) == (200, 403, 503)
    output = capsys.readouterr().out
    assert emitted_metrics(output) == ["TokensVended", "VendRefused", "VendUnavailable"]
    assert json.loads(ok["body"])["authToken"] not in output


@pytest.mark.parametrize(
    ("status", "metric"),
    [
        (200, "TokensVended"),
        (400, "VendRefused"),
        (401, "VendRefused"),
        (403, "VendRefused"),
        (404, "VendRefused"),
        (405, "VendRefused"),
        (413, "VendRefused"),
        (429, "VendThrottled"),
        (503, "VendUnavailable"),
        (500, "VendFailed"),
    ],
)
def test_every_status_counts_under_one_metric(status: int, metric: str) -> None:
    assert vendor.app.outcome_metric(status) == metric


def test_wiring_reserves_the_shared_token_cache() -> None:
    from shared.errors import ConfigError
    from vendor.settings import VendorSettings
    from vendor.wiring import build_vendor

    env = {
        "SECRET_ID": "s",
        "VENDING_POLICY": json.dumps({"rules": [{"allow": [{"cache": "*", "role": "read_only"}]}]}),
        "SHARED_TOKEN_CACHE_NAME": "keyguard-tokens",
        "SHARED_TOKEN_CACHE_KEY_SECRET_ID": "k",
    }
    with pytest.raises(ConfigError, match="shared token cache"):
        build_vendor(VendorSettings.from_environ(env), access=cast("Any", object()), secrets_manager=object())
