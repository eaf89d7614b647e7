"""Outsider pass (issue 13): drain attempts written from the issue's text, not from the design.

"Nobody can drain it": whatever one caller varies, it gets at most its budget of mints; many
callers cannot take the rotator's share; a shared rule cannot be starved by one of its callers.
Through the handler, one container, Momento's quota at 5/s.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.vendor.conftest import VendorStack
from tests.vendor.test_quota_handler import PIZZA_POLICY, QUOTA_ENV, body_of, event_for, mints


def with_query(event: dict[str, Any], **query: str) -> dict[str, Any]:
    event["queryStringParameters"] = query
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    return event


def spaced(built: Any, event: dict[str, Any]) -> dict[str, Any]:
    """One request, retried past the rotator's headroom slot so only the budget decides."""
    while True:
        response: dict[str, Any] = built.invoke(event)
        if response["statusCode"] != 429 or body_of(response)["error"] != "auth_quota_reserved":
            return response
        time.sleep(0.34)


def test_varying_the_token_label_is_bounded_by_the_budget(vendor_stack: VendorStack) -> None:
    # `?name=` changes the token id, so each label is a distinct token: a drain vector.
    vendor_stack.momento.set_quota(5)
    built = vendor_stack.build(**QUOTA_ENV)
    statuses = [spaced(built, with_query(event_for("mallory"), name=f"n{i}"))["statusCode"] for i in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    assert mints(vendor_stack) == 5


def test_varying_keys_under_the_prefix_is_bounded_by_the_budget(vendor_stack: VendorStack) -> None:
    vendor_stack.momento.set_quota(5)
    built = vendor_stack.build(**QUOTA_ENV)
    statuses = []
    for i in range(8):
        ask = {"permissions": [{"cache": "tenant-acme", "key": f"user-mallory-{i}", "role": "read_only"}]}
        statuses.append(spaced(built, event_for("mallory", body=ask))["statusCode"])
    assert statuses == [200] * 5 + [429] * 3
    assert mints(vendor_stack) == 5


def test_one_caller_asking_every_lifetime_of_a_shared_rule_does_not_starve_it(
    vendor_stack: VendorStack,
) -> None:
    vendor_stack.momento.set_quota(5)
    built = vendor_stack.build(**QUOTA_ENV, VENDING_POLICY=PIZZA_POLICY)
    pizza = [{"cache": "public", "topic": "*", "role": "subscribe_only"}]
    for _ in range(3):
        for ttl in (60, 300, 900, 3600, 120, 1000):
            response = spaced(built, event_for("mallory", body={"permissions": pizza, "ttlSeconds": ttl}))
            assert response["statusCode"] == 200
    assert mints(vendor_stack) == 4  # one per bucket, never more
    honest = body_of(spaced(built, event_for("browser-1", body={"permissions": pizza})))
    assert honest["tokenId"] == "rule:pizza tracker"


def test_many_principals_cannot_take_the_rotators_share(vendor_stack: VendorStack) -> None:
    # A Sybil attack (many identities, each within its budget) is not stopped by the budget; the
    # headroom still leaves the rotator its operations, and other callers are served on retry.
    from shared.momento_access import SdkMomentoAccess
    from shared.momento_types import MasterKey

    vendor_stack.momento.set_quota(5)
    built = vendor_stack.build(**QUOTA_ENV)
    assert built.invoke(event_for("warmup"))["statusCode"] == 200
    time.sleep(1.2)
    flood = [built.invoke(event_for(f"sybil-{i}"))["statusCode"] for i in range(60)]
    assert 429 in flood
    secret = json.loads(vendor_stack.sm.get_secret_value(SecretId="momento/master-key")["SecretString"])
    with SdkMomentoAccess(built.settings.common) as access:
        access.check_key(MasterKey(api_key=secret["apiKey"]))
    other = spaced(built, event_for("globex-user", tenant="globex"))
    assert other["statusCode"] == 200
