"""Issue 13 through the handler (one container, per-container counters), Momento's quota at 5/s.

Each test fails on the code before issue 13: varying `ttlSeconds` minted once per value, nothing
limited a principal, rules could not be shared.
"""

from __future__ import annotations

import copy
import json
import threading
import time
from typing import Any

import pytest

from tests.vendor.conftest import POLICY, VendorStack, load_event

PIZZA_POLICY = json.dumps(
    {
        "rules": [
            *json.loads(POLICY)["rules"],
            {
                "name": "pizza tracker",
                "shared": True,
                "allow": [{"cache": "public", "topic": "*", "role": "subscribe_only"}],
                "maxTtlSeconds": 3600,
            },
        ]
    }
)
#: Momento's numbers: the vendor's budget rules as deployed by default.
#: An hour's window, so that no test straddles a window boundary (fixed windows, see README).
QUOTA_ENV = {
    "AUTH_QUOTA_PER_SECOND": "5",
    "MINT_BUDGET_PER_PRINCIPAL": "5",
    "MINT_BUDGET_WINDOW_SECONDS": "3600",
}


def event_for(sub: str, tenant: str = "acme", body: dict[str, Any] | None = None) -> dict[str, Any]:
    event = copy.deepcopy(load_event("post-token-jwt.json" if body is not None else "get-token-jwt.json"))
    claims = event["requestContext"]["authorizer"]["jwt"]["claims"]
    claims["sub"] = sub
    claims["tenant"] = tenant
    event["body"] = json.dumps(body) if body is not None else None
    return event


def mints(vendor_stack: VendorStack) -> int:
    return len(vendor_stack.momento.state.credentials.disposable_tokens())


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(response["body"])
    return parsed


def test_ttl_seconds_variations_cost_one_mint(vendor_stack: VendorStack) -> None:
    # The drain attempt: POSTs differing only in ttlSeconds (3000, 3001, ...).
    vendor_stack.momento.set_quota(5)
    built = vendor_stack.build(**QUOTA_ENV)
    statuses = [
        built.invoke(event_for("mallory", body={"ttlSeconds": 3000 + i}))["statusCode"] for i in range(25)
    ]
    assert statuses == [200] * 25
    assert mints(vendor_stack) == 1


def audits(caplog: pytest.LogCaptureFixture, message: str) -> list[dict[str, Any]]:
    return [r.audit for r in caplog.records if r.name == "vendor.audit" and r.getMessage() == message]  # type: ignore[attr-defined]


def test_over_budget_is_429_with_retry_after_an_audit_line_and_no_mint(
    vendor_stack: VendorStack, caplog: pytest.LogCaptureFixture
) -> None:
    built = vendor_stack.build(MINT_BUDGET_PER_PRINCIPAL="5", MINT_BUDGET_WINDOW_SECONDS="3600")
    topics = {"permissions": [{"cache": "public", "topic": "announcements", "role": "subscribe_only"}]}
    # Eight distinct grants (two token-sized parts x four lifetime buckets): the most a caller can ask.
    asks = [{"ttlSeconds": t} for t in (60, 300, 900, 3600)] + [
        {**topics, "ttlSeconds": t} for t in (60, 300, 900, 3600)
    ]
    responses = [built.invoke(event_for("mallory", body=ask)) for ask in asks]
    assert [r["statusCode"] for r in responses] == [200] * 5 + [429] * 3
    refused = responses[-1]
    assert body_of(refused)["error"] == "mint_budget_exceeded"
    assert 1 <= int(refused["headers"]["Retry-After"]) <= 3600
    assert mints(vendor_stack) == 5
    throttled = audits(caplog, "vend throttled")
    assert [a["caller"] for a in throttled] == ["mallory"] * 3
    assert {a["reason"] for a in throttled} == {"mint_budget_exceeded"}
    # Tokens it already holds are still served; another caller has its own budget.
    assert built.invoke(event_for("mallory", body=asks[0]))["statusCode"] == 200
    assert built.invoke(event_for("alice"))["statusCode"] == 200


def test_handler_counts_budget_refusals_in_a_metric(
    vendor_stack: VendorStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import vendor.app
    from local.api_gateway import LocalLambdaContext
    from vendor.settings import VendorSettings

    env = vendor_stack.env(MINT_BUDGET_PER_PRINCIPAL="1", MINT_BUDGET_WINDOW_SECONDS="3600")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Test")
    vendor.app._application.cache_clear()
    try:
        assert VendorSettings.from_environ().mint_budget_per_principal == 1
        first = vendor.app.handler(event_for("mallory", body={"ttlSeconds": 60}), LocalLambdaContext())
        second = vendor.app.handler(event_for("mallory", body={"ttlSeconds": 300}), LocalLambdaContext())
    finally:
        vendor.app._application.cache_clear()
    assert (first["statusCode"], second["statusCode"]) == (200, 429)
    assert "Retry-After" in second["headers"]
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(m.get("MintBudgetExceeded") == [1.0] or m.get("MintBudgetExceeded") == 1.0 for m in emitted)


def test_drain_attempt_leaves_the_other_tenant_served(vendor_stack: VendorStack) -> None:
    vendor_stack.momento.set_quota(5)
    built = vendor_stack.build(**QUOTA_ENV)
    assert built.invoke(event_for("warmup"))["statusCode"] == 200  # key loaded
    time.sleep(1.2)  # Momento's bucket full again
    stop = threading.Event()
    attacker: list[int] = []

    topics = [{"cache": "public", "topic": "announcements", "role": "subscribe_only"}]

    def attack() -> None:
        # Every request a new lifetime below the cap, alternating the caller's two token parts:
        # thousands of distinct asks, six distinct grants once lifetimes are bucketed.
        i = 0
        while not stop.is_set():
            ask: dict[str, Any] = {"ttlSeconds": 61 + (i * 37) % 3500}
            if i % 2:
                ask["permissions"] = topics
            attacker.append(built.invoke(event_for("mallory", body=ask))["statusCode"])
            i += 1

    thread = threading.Thread(target=attack)
    thread.start()
    try:
        time.sleep(2.5)
        other = built.invoke(event_for("globex-user", tenant="globex"))
    finally:
        stop.set()
        thread.join()
    assert other["statusCode"] == 200, other["body"]
    assert 429 in attacker
    assert attacker.count(200) >= 1


def test_vendors_leave_the_rotator_its_operations(vendor_stack: VendorStack) -> None:
    # Forty distinct callers at once against a 5/s quota: the vendor mints at most 3 per second,
    # so a key operation (the rotator's check mint with the master key) right after succeeds.
    from shared.momento_access import SdkMomentoAccess
    from shared.momento_types import MasterKey

    vendor_stack.momento.set_quota(5)
    built = vendor_stack.build(**QUOTA_ENV)
    assert built.invoke(event_for("warmup"))["statusCode"] == 200
    time.sleep(1.2)
    start = time.monotonic()
    statuses = [built.invoke(event_for(f"user-{i}"))["statusCode"] for i in range(40)]
    elapsed = time.monotonic() - start
    assert 429 in statuses
    assert statuses.count(200) <= 3 * (int(elapsed) + 1)  # at most 3 in any one second
    secret = json.loads(vendor_stack.sm.get_secret_value(SecretId="momento/master-key")["SecretString"])
    with SdkMomentoAccess(built.settings.common) as access:
        access.check_key(MasterKey(api_key=secret["apiKey"]))


def test_callers_of_a_shared_rule_get_one_token_naming_the_rule(
    vendor_stack: VendorStack, caplog: pytest.LogCaptureFixture
) -> None:
    vendor_stack.momento.set_quota(5)
    built = vendor_stack.build(**QUOTA_ENV, VENDING_POLICY=PIZZA_POLICY)
    pizza = {"permissions": [{"cache": "public", "topic": "*", "role": "subscribe_only"}]}
    bodies = [body_of(built.invoke(event_for(f"browser-{i}", body=pizza))) for i in range(50)]
    assert len({b["authToken"] for b in bodies}) == 1
    assert bodies[0]["tokenId"] == "rule:pizza tracker"
    assert mints(vendor_stack) == 1
    record = vendor_stack.momento.credential(bodies[0]["authToken"])
    assert record is not None
    assert record.token_id == "rule:pizza tracker"
    vended = audits(caplog, "vended token")
    assert sorted(a["caller"] for a in vended) == sorted(f"browser-{i}" for i in range(50))
    assert {a["sharedRule"] for a in vended} == {"pizza tracker"}
    # A per-caller grant is never shared, even for a caller who also matches the shared rule.
    time.sleep(0.34)  # the next headroom slot: this one is a new (per-caller) mint
    mine = body_of(built.invoke(event_for("browser-1")))
    assert mine["tokenId"] == "browser-1"
