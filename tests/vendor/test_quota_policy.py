"""Grants chosen for reuse (issue 13): lifetime buckets, whole grants for subsets, shared rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ConfigError
from shared.permissions import permission_from_json
from vendor.identity import Identity
from vendor.policy import TTL_BUCKETS, Policy, bucket_ttl

SUB = "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c"
SAMPLE_POLICY = json.loads((Path(__file__).parents[2] / "events/vendor/policy.json").read_text())
PIZZA = {
    "name": "pizza tracker",
    "shared": True,
    "allow": [{"cache": "pizza", "topic": "*", "role": "subscribe_only"}],
    "maxTtlSeconds": 3600,
}


def member(sub: str = SUB, groups: tuple[str, ...] = ("members",)) -> Identity:
    return Identity(principal=sub, groups=groups, claims={"sub": sub, "tenant": "acme"})


def perm(**fields: str) -> Any:
    return permission_from_json(fields)


# --- lifetime buckets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "cap", "granted"),
    [
        (None, 3600, 3600),
        (3000, 3600, 900),
        (3599, 3600, 900),
        (3600, 3600, 3600),
        (99_999, 3600, 3600),
        (1, 3600, 60),
        (61, 3600, 60),
        (600, 600, 600),  # a cap that is no bucket is itself a lifetime
        (599, 600, 300),
        (30, 45, 45),  # a cap below a minute wins over the one-minute floor
        (86_400, 90_000, 43_200),
    ],
)
def test_lifetimes_round_down_to_a_bucket_or_the_cap(asked: int | None, cap: int, granted: int) -> None:
    assert bucket_ttl(asked, cap) == granted


def test_varying_ttl_seconds_gives_one_grant_per_bucket() -> None:
    # The drain attempt of the issue: POSTs that differ only in ttlSeconds (3000, 3001, ...).
    p = Policy.from_json(SAMPLE_POLICY, 3600)
    grants = {p.grant(member(), None, ttl) for ttl in range(3000, 3600)}
    assert len(grants) == 1
    every_ask = {p.grant(member(), None, ttl).ttl_seconds for ttl in range(1, 100_000, 7)}
    assert every_ask <= {*TTL_BUCKETS, 3600}
    assert len(every_ask) <= len(TTL_BUCKETS)


# --- whole grants for subsets --------------------------------------------------------------------


def test_subsets_of_one_part_get_that_whole_part() -> None:
    p = Policy.from_json(SAMPLE_POLICY, 3600)
    whole = p.grant(member(), None, None)
    for requested in [
        (perm(cache="tenant-acme", role="read_only"),),
        (perm(cache="tenant-acme", keyPrefix=f"user-{SUB}-", role="read_write"),),
    ]:
        assert p.grant(member(), requested, None) == whole
    topics = p.grant(member(), (perm(cache="public", topic="announcements", role="subscribe_only"),), None)
    assert {x.to_json()["topic"] for x in topics.permissions} == {"announcements", f"orders-{SUB}"}


def test_a_narrower_statement_is_granted_exactly() -> None:
    # Least privilege stays available: read-only under read-write, one key under a prefix. Such
    # requests are bounded by the mint budget instead.
    p = Policy.from_json(SAMPLE_POLICY, 3600)
    for requested in [
        (perm(cache="tenant-acme", key=f"user-{SUB}-a", role="write_only"),),
        (perm(cache="tenant-acme", keyPrefix=f"user-{SUB}-x-", role="read_write"),),
    ]:
        assert p.grant(member(), requested, None).permissions == requested


def test_widening_never_shortens_the_lifetime() -> None:
    admin = member(groups=("admins",))
    p = Policy.from_json(SAMPLE_POLICY, 3600)
    announcements = (perm(cache="public", topic="announcements", role="subscribe_only"),)
    assert p.grant(admin, announcements, None).ttl_seconds == 3600


def test_a_request_beyond_one_token_is_granted_exactly() -> None:
    rule = {"allow": [{"cache": f"c{i}", "role": "read_only"} for i in range(25)]}
    p = Policy.from_json({"rules": [rule]}, 3600)
    requested = (perm(cache="c3", role="read_only"),)
    assert p.grant(member(), requested, None).permissions == requested


# --- shared rules ----------------------------------------------------------------------------------


def test_callers_of_a_shared_rule_share_one_grant_naming_the_rule() -> None:
    p = Policy.from_json({"rules": [PIZZA]}, 3600)
    grants = {p.grant(Identity(principal=f"browser-{i}"), None, None) for i in range(50)}
    assert len(grants) == 1
    (grant,) = grants
    assert grant.shared_rule == "pizza tracker"
    assert grant.shared_token_id == "rule:pizza tracker"
    asked_whole = p.grant(Identity(principal="browser-x"), grant.permissions, 3000)
    assert (asked_whole.permissions, asked_whole.shared_rule) == (grant.permissions, "pizza tracker")
    one_topic = (perm(cache="pizza", topic="order-17", role="subscribe_only"),)
    narrower = p.grant(Identity(principal="browser-x"), one_topic, 3000)
    assert (narrower.permissions, narrower.shared_rule) == (one_topic, None)


def test_per_caller_rules_are_never_shared() -> None:
    p = Policy.from_json({"rules": [*SAMPLE_POLICY["rules"], PIZZA]}, 3600)
    assert p.grant(member(), None, None).shared_rule is None
    assert p.grant(member(), (perm(cache="pizza", topic="*", role="subscribe_only"),), None).shared_rule == (
        "pizza tracker"
    )


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({**PIZZA, "allow": [{"cache": "pizza-{sub}", "role": "read_only"}]}, "placeholders"),
        (
            {
                **PIZZA,
                "allow": [
                    {"cache": "pizza", "key": "menu", "role": "read_only"},
                    {"cache": "pizza", "topic": "t", "role": "subscribe_only"},
                ],
            },
            "one Momento token",
        ),
        ({**PIZZA, "name": "x" * 60}, "at most 59 characters"),
        ({**PIZZA, "shared": "yes"}, "true or false"),
    ],
)
def test_a_shared_rule_that_cannot_be_one_token_for_all_fails_to_load(
    rule: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Policy.from_json({"rules": [rule]}, 3600)
