"""The budget's counters on Momento (`Increment` through the real SDK, local server): one count per fleet."""

from __future__ import annotations

import json

import pytest

from shared.errors import MintBudgetExceededError, MomentoNotFoundError
from shared.momento_access import SdkMomentoAccess
from shared.momento_types import MasterKey
from tests.vendor.conftest import VendorStack
from vendor.mint_budget import BudgetSettings, MintBudget
from vendor.wiring import MomentoCounters


def test_increment_counts_atomically_and_takes_negative_amounts(vendor_stack: VendorStack) -> None:
    built = vendor_stack.build(SHARED_TOKEN_CACHE_NAME="keyguard-tokens")
    secret = json.loads(vendor_stack.sm.get_secret_value(SecretId="momento/master-key")["SecretString"])
    key = MasterKey(api_key=secret["apiKey"])
    access = built.access
    assert access.increment(key, "keyguard-tokens", "c", 1, 60) == 1
    assert access.increment(key, "keyguard-tokens", "c", 2, 60) == 3
    assert access.increment(key, "keyguard-tokens", "c", -1, 60) == 2
    vendor_stack.momento.clock.advance(61)
    assert access.increment(key, "keyguard-tokens", "c", 1, 60) == 1
    with pytest.raises(MomentoNotFoundError):
        access.increment(key, "no-such-cache", "c", 1, 60)


def test_containers_sharing_the_momento_counter_share_one_budget(vendor_stack: VendorStack) -> None:
    # Two containers (two access layers, two vendors' worth of state) and one principal: the
    # budget of 3 holds for both together, not 3 each.
    containers = [vendor_stack.build(SHARED_TOKEN_CACHE_NAME="keyguard-tokens") for _ in range(2)]
    budgets = []
    for built in containers:
        counters = MomentoCounters(built.access, built.vendor._master_keys, "keyguard-tokens")
        budgets.append(MintBudget(BudgetSettings(principal_mints=3, account_rate=10_000), counters))
    admitted = 0
    for _ in range(3):
        for budget in budgets:
            try:
                budget.admit("principal:mallory")
                admitted += 1
            except MintBudgetExceededError:
                pass
    assert admitted == 3
    assert isinstance(containers[0].access, SdkMomentoAccess)
