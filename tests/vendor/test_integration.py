"""Vended tokens used with the REAL Momento SDK against the local server; rotations; outages; logs.

GIVEN the vendor wired to moto server + the local Momento server, WHEN a caller gets a token,
THEN the SDK can do exactly what the token's permissions allow and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from momento.errors import MomentoErrorCode
from moto.server import ThreadedMotoServer

from local.momento.testing import Sdk
from shared.momento_access import SdkMomentoAccess
from tests.vendor.conftest import SECRET_ID, Built, VendorStack, load_event
from vendor.app import build_app
from vendor.settings import VendorSettings
from vendor.wiring import build_vendor

SUB = "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c"
MINE = f"user-{SUB}-cart"
TOPICS = {
    "permissions": [
        {"cache": "tenant-acme", "topic": f"orders-{SUB}", "role": "publish_subscribe"},
        {"cache": "public", "topic": "announcements", "role": "subscribe_only"},
    ]
}

pytestmark = pytest.mark.integration


def error_code(response: Any) -> MomentoErrorCode | None:
    """The SDK's error code of a response value, None for a success."""
    code = getattr(response, "error_code", None)
    return code if isinstance(code, MomentoErrorCode) else None


def vend(built: Built, event_name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    event = load_event(event_name)
    if body is not None:
        event["body"] = json.dumps(body)
    response = built.invoke(event)
    assert response["statusCode"] == 200, response["body"]
    parsed: dict[str, Any] = json.loads(response["body"])
    return parsed


@pytest.fixture
def sdk(vendor_stack: VendorStack) -> Iterator[Sdk]:
    s = Sdk(vendor_stack.momento)
    yield s
    s.close()


def test_key_prefix_token_allows_exactly_its_keys(vendor_stack: VendorStack, sdk: Sdk) -> None:
    token = vend(vendor_stack.build(), "post-token-jwt.json")["authToken"]
    cache = sdk.cache(token)
    assert error_code(cache.set("tenant-acme", MINE, "3 items")) is None
    assert cache.get("tenant-acme", MINE).value_string == "3 items"  # type: ignore[attr-defined]
    assert (
        error_code(cache.set("tenant-acme", "user-someone-else-cart", "x"))
        == MomentoErrorCode.PERMISSION_ERROR
    )
    assert error_code(cache.get("tenant-globex", MINE)) == MomentoErrorCode.PERMISSION_ERROR


def test_default_scope_token_reads_the_tenant_cache_but_cannot_write_it(
    vendor_stack: VendorStack, sdk: Sdk
) -> None:
    token = vend(vendor_stack.build(), "get-token-jwt.json")["authToken"]
    cache = sdk.cache(token)
    assert error_code(cache.get("tenant-acme", "shared-notice")) is None
    assert error_code(cache.set("tenant-acme", "shared-notice", "x")) == MomentoErrorCode.PERMISSION_ERROR
    assert error_code(cache.set("tenant-acme", MINE, "mine")) is None


def test_topic_token_publishes_where_allowed_only(vendor_stack: VendorStack, sdk: Sdk) -> None:
    token = vend(vendor_stack.build(), "post-token-jwt.json", TOPICS)["authToken"]
    topics = sdk.topics(token)
    assert error_code(topics.publish("tenant-acme", f"orders-{SUB}", "order 1")) is None
    denied = topics.publish("public", "announcements", "spoofed announcement")
    assert error_code(denied) == MomentoErrorCode.PERMISSION_ERROR
    assert error_code(sdk.cache(token).get("tenant-acme", MINE)) == MomentoErrorCode.PERMISSION_ERROR


def test_expired_token_fails_with_an_authentication_error(vendor_stack: VendorStack, sdk: Sdk) -> None:
    body = vend(vendor_stack.build(), "post-token-jwt.json")
    cache = sdk.cache(body["authToken"])
    assert error_code(cache.get("tenant-acme", MINE)) is None
    vendor_stack.momento.clock.advance(body["expiresAt"] - vendor_stack.momento.clock.now() + 1)
    assert error_code(cache.get("tenant-acme", MINE)) == MomentoErrorCode.AUTHENTICATION_ERROR


def test_rotation_between_two_requests_is_followed_without_a_failed_request(
    vendor_stack: VendorStack,
) -> None:
    # GIVEN a vendor that will not look at Secrets Manager again for an hour, and the key it
    # caches expires; WHEN a rotation stores a new AWSCURRENT and the old key stops working,
    # THEN the next request re-reads the secret on Momento's authentication error and succeeds.
    server = vendor_stack.momento
    short_lived = server.mint_master_key(valid_for_seconds=600)
    vendor_stack.store_key(short_lived.console_json())
    built = vendor_stack.build(VERSION_CHECK_INTERVAL_SECONDS="3600", TOKEN_REUSE_FRACTION="0")
    first = vend(built, "get-token-jwt.json")
    first_record = server.credential(first["authToken"])
    assert first_record is not None
    assert first_record.parent == short_lived.key_id
    rotated = server.mint_master_key()
    vendor_stack.store_key(rotated.console_json())
    server.clock.advance(601)
    second = vend(built, "get-token-jwt.json")
    second_record = server.credential(second["authToken"])
    assert second_record is not None
    assert second_record.parent == rotated.key_id
    assert second_record.token_id == SUB


def test_rotation_is_noticed_by_the_version_check(vendor_stack: VendorStack) -> None:
    built = vendor_stack.build(VERSION_CHECK_INTERVAL_SECONDS="0", TOKEN_REUSE_FRACTION="0")
    vend(built, "get-token-jwt.json")
    new_key = vendor_stack.momento.mint_master_key(description="rotated")
    vendor_stack.store_key(new_key.console_json())
    token = vend(built, "get-token-jwt.json")["authToken"]
    record = vendor_stack.momento.credential(token)
    assert record is not None
    assert record.parent == new_key.key_id


def test_stale_while_error_keeps_vending_when_secrets_manager_is_down(vendor_stack: VendorStack) -> None:
    own = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    own.start()
    try:
        host, port = own.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        client = boto3.client(
            "secretsmanager",
            endpoint_url=endpoint,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1),
        )
        # moto's backends are process-wide: this second listener serves the stack's secret too.
        settings = VendorSettings.from_environ(
            vendor_stack.env(
                SECRETS_MANAGER_ENDPOINT_URL=endpoint,
                VERSION_CHECK_INTERVAL_SECONDS="0",
                TOKEN_REUSE_FRACTION="0",
            )
        )
        access = SdkMomentoAccess(settings.common)
        vendor = build_vendor(settings, access=access, secrets_manager=client)
        built = Built(build_app(settings, vendor), vendor, access, settings)
        vendor_stack.built.append(built)
        vend(built, "get-token-jwt.json")
    finally:
        own.stop()
    # Secrets Manager is gone: every request now fails its version check, yet tokens keep coming.
    for _ in range(3):
        vend(built, "post-token-jwt.json")


def test_shared_token_cache_spares_a_second_container_the_mint(vendor_stack: VendorStack) -> None:
    first = vend(vendor_stack.build(SHARED_TOKEN_CACHE_NAME="keyguard-tokens"), "get-token-jwt.json")
    second = vend(vendor_stack.build(SHARED_TOKEN_CACHE_NAME="keyguard-tokens"), "get-token-jwt.json")
    assert second["authToken"] == first["authToken"]
    unshared = vend(vendor_stack.build(), "get-token-jwt.json")
    assert unshared["authToken"] != first["authToken"]


def test_no_token_or_key_in_logs(
    vendor_stack: VendorStack, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    secret = json.loads(vendor_stack.sm.get_secret_value(SecretId=SECRET_ID)["SecretString"])
    built = vendor_stack.build(SHARED_TOKEN_CACHE_NAME="keyguard-tokens", TOKEN_REUSE_FRACTION="0")
    tokens = [vend(built, name)["authToken"] for name in ("get-token-jwt.json", "post-token-jwt.json")]
    vendor_stack.momento.set_quota(0.001, 1)
    for name in (
        "post-token-lambda.json",
        "get-token-iam.json",
        "post-token-jwt-forbidden.json",
        "post-token-jwt-malformed.json",
    ):
        built.invoke(load_event(name))
    vendor_stack.momento.faults.set(unavailable=True)
    built.invoke(load_event("get-token-lambda.json"))
    output = capsys.readouterr()
    logged = output.out + output.err + caplog.text
    assert "vended token" in logged  # the audit lines are there ...
    assert "vend refused" in logged
    for needle in (*tokens, secret["apiKey"], secret["refreshToken"]):
        assert needle not in logged  # ... but never a token or key


def test_concurrent_requests_share_one_mint_under_the_real_quota(vendor_stack: VendorStack) -> None:
    # GIVEN Momento allows a single mint right now; WHEN eight requests for the same caller and
    # scope arrive together; THEN all get the same token: one mint, no 429.
    from concurrent.futures import ThreadPoolExecutor

    from vendor.identity import identify
    from vendor.vending import VendRequest

    built = vendor_stack.build()
    identity = identify(load_event("get-token-jwt.json"), "jwt", "cognito:groups")
    vend(built, "post-token-jwt.json")  # key loaded first (another scope), so the race is about minting
    vendor_stack.momento.set_quota(0.001, 1)
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(lambda _: built.vendor.vend(identity, VendRequest()), range(8)))
    assert len({body["authToken"] for body in bodies}) == 1


def test_rotation_by_the_rotator_between_two_requests(vendor_stack: VendorStack) -> None:
    # GIVEN a vendor caching a key that expires in 10 minutes and not re-checking for an hour;
    # WHEN the rotator refreshes the key and the old one then expires; THEN the next request
    # is served with the rotated key (re-read on Momento's authentication error), no failure.
    from rotator.events import DirectRequest
    from rotator.invocation import Dependencies, handle
    from rotator.settings import RotatorSettings

    server = vendor_stack.momento
    original = server.mint_master_key(valid_for_seconds=600)
    vendor_stack.store_key(original.console_json())
    built = vendor_stack.build(VERSION_CHECK_INTERVAL_SECONDS="3600", TOKEN_REUSE_FRACTION="0")
    vend(built, "get-token-jwt.json")
    server.clock.advance(300)
    settings = RotatorSettings.read({**vendor_stack.stack.env(), "SECRET_IDS": SECRET_ID})
    with SdkMomentoAccess(settings.common) as momento:
        report = handle(
            DirectRequest(SECRET_ID, force=True), Dependencies(settings, vendor_stack.sm, momento)
        )
    assert not report.failures, report.body()
    server.clock.advance(301)  # the original key has expired; the rotated one has not
    token = vend(built, "get-token-jwt.json")["authToken"]
    record = server.credential(token)
    assert record is not None
    assert record.parent not in (None, original.key_id)


def test_a_refused_master_key_with_no_successor_fails_once_without_detail(vendor_stack: VendorStack) -> None:
    # GIVEN the stored key has expired and no rotation stored a successor; WHEN a caller asks,
    # THEN the vendor re-reads the secret, retries once, and answers a 500 that names no key.
    server = vendor_stack.momento
    expiring = server.mint_master_key(valid_for_seconds=600)
    vendor_stack.store_key(expiring.console_json())
    built = vendor_stack.build(VERSION_CHECK_INTERVAL_SECONDS="3600")
    vend(built, "get-token-jwt.json")
    server.clock.advance(601)
    response = built.invoke(load_event("post-token-jwt.json"))
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {
        "error": "internal_error",
        "message": "the token vending machine failed; see its logs",
    }
    assert expiring.api_key not in response["body"]
