"""Finding F1 of the outside test: two roles on one resource, and the budget a failed mint spent.

Seen before the fix: with events/vendor/policy.json a caller in `members` (read_only) and
`admins` (read_write) on the same cache got Momento's INVALID_ARGUMENT "duplicate or conflicting
permissions" as a 500; and every such failure spent the caller's mint budget (5 failures, then 429).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pytest

from shared.errors import ForbiddenError, MomentoInvalidRequestError, MomentoUnavailableError
from shared.momento_types import MasterKey, VendedToken
from shared.permissions import CachePermission, CacheRole, Permission
from tests.vendor.conftest import VendorStack, load_event
from vendor.identity import Identity, identify
from vendor.mint_budget import BudgetSettings, LocalCounters, MintBudget
from vendor.policy import Policy
from vendor.token_cache import TokenCache
from vendor.vending import Vendor, VendRequest

if TYPE_CHECKING:
    from shared.momento_access import MomentoAccess

CALLER = Identity(principal="u1", groups=("a", "b"), claims={"sub": "u1"})


def policy(*rules: dict[str, Any]) -> Policy:
    return Policy.from_json({"rules": list(rules)}, 3600)


def halves() -> tuple[Permission, ...]:
    return (CachePermission("c", CacheRole.READ_ONLY), CachePermission("c", CacheRole.WRITE_ONLY))


def test_a_subsumed_statement_is_dropped() -> None:
    p = policy(
        {"when": {"groups": ["a"]}, "allow": [{"cache": "c", "role": "read_only"}]},
        {"when": {"groups": ["b"]}, "allow": [{"cache": "c", "role": "read_write"}]},
    )
    assert p.grant(CALLER, None, None).permissions == (CachePermission("c", CacheRole.READ_WRITE),)


def test_a_key_prefix_under_the_whole_cache_is_dropped() -> None:
    p = policy(
        {"when": {"groups": ["a"]}, "allow": [{"cache": "c", "keyPrefix": "u1-", "role": "read_write"}]},
        {"when": {"groups": ["b"]}, "allow": [{"cache": "c", "role": "read_write"}]},
    )
    assert p.grant(CALLER, None, None).permissions == (CachePermission("c", CacheRole.READ_WRITE),)


def test_both_halves_merge_only_where_read_write_is_allowed() -> None:
    both = policy({"allow": [{"cache": "c", "role": "read_write"}]})
    assert both.grant(CALLER, halves(), None).permissions == (CachePermission("c", CacheRole.READ_WRITE),)
    split = policy({"allow": [{"cache": "c", "role": "read_only"}, {"cache": "c", "role": "write_only"}]})
    with pytest.raises(ForbiddenError, match="does not allow their union"):
        split.grant(CALLER, halves(), None)
    # One half alone is granted: not widened to a whole that cannot be one token.
    assert split.grant(CALLER, halves()[:1], None).permissions == halves()[:1]


class Refusing:
    """A Momento that answers every mint with `error` (nothing issued, or unknown outcome)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def mint_token(self, key: MasterKey, *args: Any) -> VendedToken:
        raise self.error


@pytest.mark.integration
@pytest.mark.parametrize(
    ("error", "refunded"),
    [
        (MomentoInvalidRequestError("conflicting permissions"), True),
        (MomentoUnavailableError("timeout"), False),
    ],
)
def test_a_mint_momento_refused_is_refunded(
    vendor_stack: VendorStack, error: Exception, refunded: bool
) -> None:
    built = vendor_stack.build()
    identity = identify(load_event("get-token-jwt.json"), "jwt", "cognito:groups")
    budget = MintBudget(BudgetSettings(principal_mints=1, account_rate=10_000), LocalCounters())
    access = cast("MomentoAccess", Refusing(error))
    vendor = Vendor(
        built.vendor._policy,
        built.vendor._master_keys,
        access,
        TokenCache(0.5, None),
        budget,
    )
    raised = []
    for _ in range(3):
        try:
            vendor.vend(identity, VendRequest())
        except Exception as exc:
            raised.append(type(exc).__name__)
    expected = (
        [type(error).__name__] * 3 if refunded else [type(error).__name__] + ["MintBudgetExceededError"] * 2
    )
    assert raised == expected
