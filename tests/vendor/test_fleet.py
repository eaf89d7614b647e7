"""Issue 13 as deployed: three vendor processes (the real handler each) on one local stack.

Momento's auth quota is 5/s; the processes share only the local Momento server (with the shared
token cache, where the mint counters live) and moto's Secrets Manager. Each test fails on the
code before issue 13, and the budget test also fails with per-container counters.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local.stack import LocalStack
from local.vendor_fleet import Answer, VendorFleet, request_token
from tests.vendor.conftest import POLICY, SECRET_ID

pytestmark = pytest.mark.integration

CACHE = "keyguard-tokens"
PIZZA = {"permissions": [{"cache": "public", "topic": "*", "role": "subscribe_only"}]}
FLEET_POLICY = json.dumps(
    {
        "rules": [
            *json.loads(POLICY)["rules"],
            {
                "name": "pizza tracker",
                "shared": True,
                "allow": PIZZA["permissions"],
                "maxTtlSeconds": 3600,
            },
        ]
    }
)


def claims(sub: str, tenant: str = "acme") -> dict[str, Any]:
    return {"sub": sub, "tenant": tenant, "cognito:groups": "[members]"}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, VendorFleet]]:
    with LocalStack() as stack:
        for cache in ("tenant-acme", "tenant-globex", "public", CACHE):
            stack.momento.create_cache(cache)
        stack.secretsmanager_client().create_secret(
            Name=SECRET_ID, SecretString=json.dumps(stack.momento.mint_master_key().console_json())
        )
        stack.secretsmanager_client().create_secret(
            Name="fleet/token-cache-key", SecretString=secrets.token_urlsafe(48)
        )
        env = {
            **stack.env(),
            "SECRET_ID": SECRET_ID,
            "AUTH_MODE": "jwt",
            "VENDING_POLICY": FLEET_POLICY,
            "SHARED_TOKEN_CACHE_NAME": CACHE,
            "SHARED_TOKEN_CACHE_KEY_SECRET_ID": "fleet/token-cache-key",
            "POWERTOOLS_METRICS_NAMESPACE": "FleetTest",
            "MINT_BUDGET_WINDOW_SECONDS": "3600",  # no test straddles a (fixed) window boundary
        }
        log_dir: Path = tmp_path_factory.mktemp("fleet")
        with VendorFleet(env, processes=3, log_dir=log_dir) as started:
            for url in started.urls:  # key loaded everywhere before the quota matters
                assert request_token(url, claims("warmup")).status == 200
            yield stack, started


def mints(stack: LocalStack) -> int:
    return len(stack.momento.state.credentials.disposable_tokens())


def until_served(url: str, who: dict[str, Any], body: dict[str, Any] | None = None) -> tuple[Answer, int]:
    """A well-behaved client: retries after `Retry-After` until served; returns the 429s it saw."""
    throttled = 0
    while True:
        answer = request_token(url, who, body)
        if answer.status != 429:
            return answer, throttled
        throttled += 1
        time.sleep(answer.retry_after or 1)


def test_callers_of_a_shared_rule_across_containers_cost_one_mint(
    fleet: tuple[LocalStack, VendorFleet],
) -> None:
    stack, vendors = fleet
    stack.momento.set_quota(5)
    before = mints(stack)
    callers = [f"browser-{i}" for i in range(60)]
    with ThreadPoolExecutor(max_workers=24) as pool:
        results = list(
            pool.map(
                lambda i: until_served(vendors.urls[i % 3], claims(callers[i]), PIZZA), range(len(callers))
            )
        )
    assert {answer.status for answer, _ in results} == {200}
    assert sum(throttled for _, throttled in results) == 0
    assert len({answer.body["authToken"] for answer, _ in results}) == 1
    assert results[0][0].body["tokenId"] == "rule:pizza tracker"
    assert mints(stack) - before == 1
    audited = {
        line["audit"]["caller"]
        for line in vendors.audit_lines()
        if line.get("message") == "vended token" and line["audit"].get("sharedRule") == "pizza tracker"
    }
    assert audited == set(callers)


def test_a_principal_budget_holds_across_containers(fleet: tuple[LocalStack, VendorFleet]) -> None:
    stack, vendors = fleet
    stack.momento.set_quota(5)
    time.sleep(1.2)
    topics = {
        "permissions": [{"cache": "tenant-acme", "topic": "orders-mallory", "role": "publish_subscribe"}]
    }
    asks = [{"ttlSeconds": t} for t in (60, 300, 900)] + [{**topics, "ttlSeconds": t} for t in (60, 300, 900)]
    statuses = []
    for i, ask in enumerate(asks):  # six distinct grants, spread over the three containers
        answer = request_token(vendors.urls[i % 3], claims("mallory"), ask)
        while answer.status == 429 and answer.body.get("error") == "auth_quota_reserved":
            time.sleep(0.4)
            answer = request_token(vendors.urls[i % 3], claims("mallory"), ask)
        statuses.append((answer.status, answer.body.get("error")))
        time.sleep(0.4)
    assert statuses == [(200, None)] * 5 + [(429, "mint_budget_exceeded")]
    assert request_token(vendors.urls[0], claims("globex-user", "globex")).status == 200


def test_under_load_from_every_container_a_rotation_gets_its_operations(
    fleet: tuple[LocalStack, VendorFleet],
) -> None:
    from rotator.engine import Outcome, Rotation
    from rotator.secret_store import SecretStore
    from rotator.settings import RotatorSettings
    from shared.momento_access import SdkMomentoAccess

    stack, vendors = fleet
    stack.momento.set_quota(5)
    time.sleep(1.2)
    callers = [f"user-{i}" for i in range(24)]
    settings = RotatorSettings.read({**stack.env(), "SECRET_IDS": SECRET_ID})
    with ThreadPoolExecutor(max_workers=12) as pool, SdkMomentoAccess(settings.common) as momento:
        before = mints(stack)
        start = time.monotonic()
        load = [pool.submit(until_served, vendors.urls[i % 3], claims(c)) for i, c in enumerate(callers)]
        time.sleep(1.5)  # the vendors now mint as fast as their share allows
        rotation = Rotation(
            SecretStore(stack.secretsmanager_client(), SECRET_ID), momento, settings, time.time
        )
        result = rotation.run(force=True)
        served = [f.result() for f in load]
        elapsed = time.monotonic() - start
    assert result.outcome is Outcome.ROTATED, result
    assert {answer.status for answer, _ in served} == {200}
    # The vendors never took more than their share (3 in any second); +1: the rotation's check mint.
    assert mints(stack) - before <= 3 * (int(elapsed) + 1) + 1
