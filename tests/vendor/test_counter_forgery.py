"""Finding F2 of the outside test: the shared mint counters against a broad Momento data token.

Seen before the fix: the counters were plain items (`mb:a:<slot>`, `mb:p:<sha256(principal)>:<window>`)
in the shared cache, so a token that may write every cache set them to -1000000 and one caller
minted past its budget of 5/min and the vendors' 3/s share (other tenants and the rotator
throttled), or set them to 1000000 and every caller got 429.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest

from shared.errors import MintBudgetExceededError
from shared.momento_types import MasterKey
from shared.permissions import ALL, CachePermission, CacheRole
from shared.version_hint import hint_item_key
from tests.vendor.conftest import SECRET_ID, Built, VendorStack, load_event
from vendor.identity import identify
from vendor.mint_budget import BudgetSettings, LocalCounters, MintBudget, digest, window
from vendor.sealed_store import KeyedCounters, SealingKeySource
from vendor.wiring import MomentoVersionHint

TOKENS = "keyguard-tokens"


def broad_token(vendor_stack: VendorStack, built: Built) -> MasterKey:
    master = json.loads(vendor_stack.sm.get_secret_value(SecretId=SECRET_ID)["SecretString"])
    token = built.access.mint_token(
        MasterKey(master["apiKey"]), (CachePermission(ALL, CacheRole.READ_WRITE),), 600, "attacker"
    )
    return MasterKey(token.auth_token)


def labelled(name: str) -> dict[str, Any]:
    event = load_event("get-token-jwt.json")
    event["queryStringParameters"] = {"name": name}
    return event


@pytest.mark.integration
def test_forged_plain_counters_neither_lift_nor_block_the_budget(vendor_stack: VendorStack) -> None:
    built = vendor_stack.build(SHARED_TOKEN_CACHE_NAME=TOKENS, MINT_BUDGET_PER_PRINCIPAL="2")
    attacker = broad_token(vendor_stack, built)
    principal = identify(load_event("get-token-jwt.json"), "jwt", "cognito:groups").principal
    now = time.time()
    w, _ = window(now, 60)
    for index in (w, w + 1):
        name = f"mb:p:{digest('principal:' + principal)}:{index}"
        built.access.cache_set(attacker, TOKENS, name, "-1000000", 180)
    s, _ = window(now, built.vendor._budget.settings.slot_seconds)  # type: ignore[union-attr]
    for slot in range(s - 8, s + 400):
        built.access.cache_set(attacker, TOKENS, f"mb:a:{slot}", "1000000", 180)
    statuses = [built.invoke(labelled(f"n{i}"))["statusCode"] for i in range(4)]
    # The forged "headroom full" does not refuse the first mints; the forged budget does not lift it.
    assert statuses == [200, 200, 429, 429]


def test_counter_names_are_keyed_and_need_the_key() -> None:
    seen: list[str] = []

    class Recording:
        def increment(self, key: str, amount: int, ttl_seconds: float) -> int:
            seen.append(key)
            return amount

    keyed = KeyedCounters(Recording(), SealingKeySource(lambda: "k" * 40))
    keyed.increment("mb:a:17", 1, 10)
    other = KeyedCounters(Recording(), SealingKeySource(lambda: "j" * 40))
    other.increment("mb:a:17", 1, 10)
    assert "mb:" not in seen[0]
    assert "17" not in seen[0]
    assert seen[0] != seen[1]


def test_impossible_values_fail_closed_for_a_principal_and_keep_the_headroom() -> None:
    shared = LocalCounters()
    recorded: list[str] = []
    budget = MintBudget(
        BudgetSettings(principal_mints=5, account_rate=5.0, reserve_rate=2.0),
        shared,
        clock=lambda: 1000.0,
        record=recorded.append,
    )
    index, _ = window(1000.0, 60)
    shared.increment(f"mb:p:{digest('principal:p')}:{index}", -1000, 120)
    with pytest.raises(MintBudgetExceededError):
        budget.admit("principal:p")
    slot, _ = window(1000.0, budget.settings.slot_seconds)
    for back in range(5):
        shared.increment(f"mb:a:{slot - back}", -1000, 120)
    admitted = 0
    for i in range(10):
        try:
            budget.admit(f"principal:q{i}")
            admitted += 1
        except Exception:
            pass
    assert admitted == budget.settings.headroom_limit  # 3, not 10: a negative count is no headroom
    assert "MintCounterTampered" in recorded


@pytest.mark.integration
def test_a_non_utf8_version_hint_reads_as_no_hint(vendor_stack: VendorStack) -> None:
    """Outside finding F4: bytes that are not UTF-8 at the hint's item raised UnicodeDecodeError (500)."""
    built = vendor_stack.build(SHARED_TOKEN_CACHE_NAME=TOKENS)
    attacker = broad_token(vendor_stack, built)
    arn = vendor_stack.sm.describe_secret(SecretId=SECRET_ID)["ARN"]
    raw = built.access._entry(attacker).cache
    raw.set(TOKENS, hint_item_key(arn), b"\xff\xfe", timedelta(seconds=600))
    assert MomentoVersionHint(built.access, TOKENS).read(attacker, arn) is None
