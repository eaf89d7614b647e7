"""The vending policy: default deny, placeholders that cannot widen scope, subset checks, caps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.errors import ConfigError, ForbiddenError, UnknownScopeError
from shared.permissions import CachePermission, CacheRole, TopicPermission, TopicRole, permission_from_json
from vendor.identity import Identity
from vendor.policy import Policy, covers

SUB = "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c"
SAMPLE_POLICY = json.loads((Path(__file__).parents[2] / "events/vendor/policy.json").read_text())


def policy(*rules: dict[str, Any], ceiling: int = 3600) -> Policy:
    return Policy.from_json({"rules": list(rules)}, ceiling)


def perm(**fields: str) -> Any:
    return permission_from_json(fields)


def member(sub: str = SUB, tenant: str = "acme", groups: tuple[str, ...] = ("members",)) -> Identity:
    return Identity(principal=sub, groups=groups, claims={"sub": sub, "tenant": tenant})


# --- covers: the subset relation --------------------------------------------------------------


@pytest.mark.parametrize(
    ("allowed", "requested", "expected"),
    [
        ({"cache": "c", "role": "read_write"}, {"cache": "c", "role": "read_only"}, True),
        ({"cache": "c", "role": "read_only"}, {"cache": "c", "role": "read_write"}, False),
        ({"cache": "c", "role": "read_only"}, {"cache": "c", "role": "write_only"}, False),
        ({"cache": "*", "role": "read_only"}, {"cache": "any", "role": "read_only"}, True),
        ({"cache": "c", "role": "read_only"}, {"cache": "*", "role": "read_only"}, False),
        ({"cache": "c", "role": "read_only"}, {"cache": "d", "role": "read_only"}, False),
        ({"cache": "c", "role": "read_only"}, {"cache": "c", "key": "k", "role": "read_only"}, True),
        ({"cache": "c", "key": "k", "role": "read_only"}, {"cache": "c", "role": "read_only"}, False),
        (
            {"cache": "c", "key": "k", "role": "read_only"},
            {"cache": "c", "key": "k2", "role": "read_only"},
            False,
        ),
        (
            {"cache": "c", "keyPrefix": "u-", "role": "read_only"},
            {"cache": "c", "key": "u-1", "role": "read_only"},
            True,
        ),
        (
            {"cache": "c", "keyPrefix": "u-", "role": "read_only"},
            {"cache": "c", "keyPrefix": "u-1-", "role": "read_only"},
            True,
        ),
        (
            {"cache": "c", "keyPrefix": "u-1-", "role": "read_only"},
            {"cache": "c", "keyPrefix": "u-", "role": "read_only"},
            False,
        ),
        ({"cache": "c", "keyPrefix": "u-", "role": "read_only"}, {"cache": "c", "role": "read_only"}, False),
        ({"cache": "c", "role": "read_write"}, {"cache": "c", "topic": "t", "role": "subscribe_only"}, False),
        (
            {"cache": "c", "topic": "*", "role": "subscribe_only"},
            {"cache": "c", "topic": "t", "role": "subscribe_only"},
            True,
        ),
        (
            {"cache": "c", "topic": "t", "role": "subscribe_only"},
            {"cache": "c", "topic": "t", "role": "publish_only"},
            False,
        ),
        (
            {"cache": "c", "topic": "t", "role": "publish_subscribe"},
            {"cache": "c", "topic": "t", "role": "publish_only"},
            True,
        ),
        (
            {"cache": "c", "topic": "t", "role": "publish_only"},
            {"cache": "c", "topic": "*", "role": "publish_only"},
            False,
        ),
    ],
)
def test_covers(allowed: dict[str, str], requested: dict[str, str], expected: bool) -> None:
    assert covers(permission_from_json(allowed), permission_from_json(requested)) is expected


# --- grants -------------------------------------------------------------------------------------


def test_allowance_has_placeholders_filled() -> None:
    allowances = Policy.from_json(SAMPLE_POLICY, 3600).allowances(member())
    assert {a.permission for a in allowances} == {
        CachePermission("tenant-acme", CacheRole.READ_ONLY),
        CachePermission("tenant-acme", CacheRole.READ_WRITE, key_prefix=f"user-{SUB}-"),
        TopicPermission("tenant-acme", f"orders-{SUB}", TopicRole.PUBLISH_SUBSCRIBE),
        TopicPermission("public", "announcements", TopicRole.SUBSCRIBE_ONLY),
    }


def test_get_grants_the_cache_part_when_one_token_cannot_hold_everything() -> None:
    # Key-prefix and topic grants cannot share one Momento token (shared/momento_scopes.py).
    grant = Policy.from_json(SAMPLE_POLICY, 3600).grant(member(), None, None)
    assert set(grant.permissions) == {
        CachePermission("tenant-acme", CacheRole.READ_ONLY),
        CachePermission("tenant-acme", CacheRole.READ_WRITE, key_prefix=f"user-{SUB}-"),
    }
    assert grant.ttl_seconds == 3600


def test_get_grants_the_whole_allowance_when_it_fits_one_token() -> None:
    p = policy(
        {
            "allow": [
                {"cache": "c", "role": "read_only"},
                {"cache": "c", "topic": "t-{sub}", "role": "subscribe_only"},
            ]
        }
    )
    grant = p.grant(member(), None, None)
    assert set(grant.permissions) == {
        CachePermission("c", CacheRole.READ_ONLY),
        TopicPermission("c", f"t-{SUB}", TopicRole.SUBSCRIBE_ONLY),
    }


def test_post_grants_exactly_the_covered_request_and_caps_lifetime() -> None:
    requested = (perm(cache="tenant-acme", key=f"user-{SUB}-cart", role="write_only"),)
    grant = Policy.from_json(SAMPLE_POLICY, 3600).grant(member(), requested, 99_999)
    assert grant.permissions == requested
    assert grant.ttl_seconds == 3600


def test_shorter_requested_lifetime_is_kept_when_it_is_a_bucket() -> None:
    assert Policy.from_json(SAMPLE_POLICY, 3600).grant(member(), None, 300).ttl_seconds == 300
    assert Policy.from_json(SAMPLE_POLICY, 3600).grant(member(), None, 899).ttl_seconds == 300


def test_rule_cap_applies_to_permissions_only_that_rule_allows() -> None:
    admin = member(groups=("admins",))
    p = Policy.from_json(SAMPLE_POLICY, 3600)
    assert p.grant(admin, (perm(cache="tenant-acme", role="read_write"),), None).ttl_seconds == 900
    announcements = (perm(cache="public", topic="announcements", role="subscribe_only"),)
    assert p.grant(admin, announcements, None).ttl_seconds == 3600


def test_ceiling_caps_rule_lifetimes() -> None:
    p = policy({"allow": [{"cache": "c", "role": "read_only"}], "maxTtlSeconds": 7200}, ceiling=600)
    assert p.grant(member(), None, None).ttl_seconds == 600


def test_forbidden_names_the_refused_permission() -> None:
    requested = (perm(cache="tenant-globex", role="read_only"),)
    with pytest.raises(ForbiddenError, match="tenant-globex"):
        Policy.from_json(SAMPLE_POLICY, 3600).grant(member(), requested, None)


def test_key_level_and_topic_grants_in_one_request_are_400() -> None:
    requested = (
        perm(cache="tenant-acme", keyPrefix=f"user-{SUB}-", role="read_write"),
        perm(cache="public", topic="announcements", role="subscribe_only"),
    )
    with pytest.raises(UnknownScopeError, match="two tokens"):
        Policy.from_json(SAMPLE_POLICY, 3600).grant(member(), requested, None)


def test_default_deny() -> None:
    p = policy({"when": {"groups": ["admins"]}, "allow": [{"cache": "c", "role": "read_only"}]})
    with pytest.raises(ForbiddenError, match="no vending policy rule"):
        p.grant(member(), None, None)


def test_claim_condition() -> None:
    p = policy({"when": {"claims": {"tenant": ["acme"]}}, "allow": [{"cache": "c", "role": "read_only"}]})
    assert p.grant(member(tenant="acme"), None, None).permissions
    with pytest.raises(ForbiddenError):
        p.grant(member(tenant="globex"), None, None)


# --- placeholder values cannot widen scope ------------------------------------------------------


@pytest.mark.parametrize("tenant", ["*", "", " acme", "acme corp", "tenant/../x{", "ä", "x" * 200])
def test_unsafe_claim_values_get_nothing(tenant: str) -> None:
    p = policy({"allow": [{"cache": "tenant-{claims.tenant}", "role": "read_write"}]})
    assert p.allowances(member(tenant=tenant)) == ()


def test_missing_claim_gets_nothing() -> None:
    p = policy({"allow": [{"cache": "tenant-{claims.tenant}", "role": "read_write"}]})
    assert p.allowances(Identity(principal=SUB, claims={"sub": SUB})) == ()


def test_prefix_trick_is_refused() -> None:
    # Caller "4" would hold `user-4-`, which also covers caller "4-2"'s `user-4-2-...` keys.
    p = policy({"allow": [{"cache": "c", "keyPrefix": "user-{sub}-", "role": "read_write"}]})
    assert p.allowances(member(sub="4-2")) == ()
    (allowed,) = p.allowances(member(sub="4"))
    assert allowed.permission == CachePermission("c", CacheRole.READ_WRITE, key_prefix="user-4-")


def test_any_literal_delimiter_works() -> None:
    p = policy({"allow": [{"cache": "c", "keyPrefix": "user{sub}x", "role": "read_write"}]})
    assert [a.permission for a in p.allowances(member(sub="42"))] == [
        CachePermission("c", CacheRole.READ_WRITE, key_prefix="user42x")
    ]
    assert p.allowances(member(sub="4x2")) == ()


def test_uuid_values_may_contain_the_delimiter() -> None:
    p = policy({"allow": [{"cache": "c", "keyPrefix": "user-{sub}-", "role": "read_write"}]})
    assert len(p.allowances(member(sub=SUB))) == 1


def test_a_uuids_first_group_cannot_reach_that_uuids_keys() -> None:
    # Caller "3f1c2a4e" (no "-", so no plain prefix trick) would hold `user-3f1c2a4e-`, which
    # starts the prefix of every caller whose sub is a UUID beginning with that group.
    p = policy({"allow": [{"cache": "c", "keyPrefix": "user-{sub}-", "role": "read_write"}]})
    victim = CachePermission("c", CacheRole.READ_ONLY, key=f"user-{SUB}-cart")
    for head in (SUB[:8], SUB[:8].upper()):
        assert p.allowances(member(sub=head)) == ()
    (own,) = p.allowances(member(sub=SUB))
    assert covers(own.permission, victim)
    # Not eight hex digits: an ordinary value, allowed, and it reaches nobody else's keys.
    (other,) = p.allowances(member(sub="3f1c2a4"))
    assert not covers(other.permission, victim)


def test_uuids_get_no_exception_when_the_delimiter_is_not_a_dash() -> None:
    # "a" is a hex digit: a UUID holding `u<uuid>a` and caller "3f1c2" holding `u3f1c2a` would overlap.
    p = policy({"allow": [{"cache": "c", "keyPrefix": "u{sub}a", "role": "read_write"}]})
    assert p.allowances(member(sub=SUB)) == ()
    assert len(p.allowances(member(sub="3f1c2"))) == 1
    (own,) = policy({"allow": [{"cache": "c", "keyPrefix": "u{sub}/", "role": "read_write"}]}).allowances(
        member(sub=SUB)
    )
    assert own.permission == CachePermission("c", CacheRole.READ_WRITE, key_prefix=f"u{SUB}/")


def test_only_safe_permissions_of_a_rule_are_dropped() -> None:
    p = policy(
        {
            "allow": [
                {"cache": "tenant-{claims.tenant}", "role": "read_only"},
                {"cache": "public", "role": "read_only"},
            ]
        }
    )
    assert [a.permission.cache for a in p.allowances(member(tenant="*"))] == ["public"]


# --- the shared token cache is never granted -----------------------------------------------------

TOKENS = frozenset({"keyguard-tokens"})


@pytest.mark.parametrize(
    "allowed",
    [
        {"cache": "keyguard-tokens", "role": "read_only"},
        {"cache": "*", "role": "read_only"},
        {"cache": "*", "topic": "t", "role": "subscribe_only"},
        {"cache": "keyguard-tokens", "keyPrefix": "vend-", "role": "read_only"},
    ],
)
def test_a_policy_granting_the_shared_token_cache_fails_at_load(allowed: dict[str, str]) -> None:
    # Its items hold every caller's tokens under guessable keys: reading it would widen scope.
    document = {"rules": [{"allow": [allowed]}]}
    assert Policy.from_json(document, 3600).allowances(member())  # fine without a shared cache
    with pytest.raises(ConfigError, match="shared token cache"):
        Policy.from_json(document, 3600, reserved_caches=TOKENS)


def test_a_placeholder_rendering_the_shared_token_cache_gets_nothing() -> None:
    p = Policy.from_json(
        {"rules": [{"allow": [{"cache": "keyguard-{claims.tenant}", "role": "read_only"}]}]},
        3600,
        reserved_caches=TOKENS,
    )
    assert p.allowances(member(tenant="tokens")) == ()
    assert [a.permission.cache for a in p.allowances(member(tenant="acme"))] == ["keyguard-acme"]
    with pytest.raises(ForbiddenError):
        p.grant(member(tenant="tokens"), (perm(cache="keyguard-tokens", role="read_only"),), None)


# --- policy validation at cold start ------------------------------------------------------------


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"rules": {}},
        {"rules": [], "extra": 1},
        {"rules": [{"allow": []}]},
        {"rules": [{"allow": [{"cache": "c", "role": "admin"}]}]},
        {"rules": [{"allow": [{"cache": "c", "role": "read_only"}], "colour": "red"}]},
        {"rules": [{"when": {"group": ["x"]}, "allow": [{"cache": "c", "role": "read_only"}]}]},
        {"rules": [{"allow": [{"cache": "{tenant}", "role": "read_only"}]}]},
        {"rules": [{"allow": [{"cache": "c-{sub", "role": "read_only"}]}]},
        {"rules": [{"allow": [{"cache": "c", "keyPrefix": "user-{sub}", "role": "read_only"}]}]},
        {"rules": [{"allow": [{"cache": "c", "keyPrefix": "{sub}{principal}-", "role": "read_only"}]}]},
        {"rules": [{"allow": [{"cache": "c", "role": "{claims.role}"}]}]},
        {"rules": [{"allow": [{"cache": "c", "role": "read_only"}], "maxTtlSeconds": 0}]},
        {"rules": [{"allow": [{"cache": "c", "key": "*", "role": "read_only"}]}]},
    ],
)
def test_invalid_policies_fail_at_load(document: Any) -> None:
    with pytest.raises(ConfigError):
        Policy.from_json(document, 3600)
