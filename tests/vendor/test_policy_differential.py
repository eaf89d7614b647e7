"""The compiled policy answers exactly as the straightforward algorithm, for any policy and caller.

`bench/baselines/policy_reference.py` keeps the algorithm the policy used before it was compiled
(issue 15): render every template of every matching rule, parse each statement, sort by JSON
text, merge. Generated policies (groups, claim conditions, placeholders in every field, static
statements a placeholder can collide with, reserved caches, shared rules, caps) and generated
callers (hostile values: empty, unicode, `*`, a policy's own literals, a reserved cache's name,
UUIDs and UUID heads, over-long, STS sessions) must get the same `Grant` or the same error, with
the same message, from `Policy.grant` (memo and all) as from the reference, for GET and POSTs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.baselines.policy_reference import merge_same_resource as reference_merge
from bench.baselines.policy_reference import reference_allowances, reference_grant
from shared.errors import ConfigError, KeyGuardError
from shared.permissions import (
    CachePermission,
    CacheRole,
    Permission,
    TopicPermission,
    TopicRole,
    canonical,
)
from vendor.identity import Identity
from vendor.policy import Allowance, Grant, Policy, _canonical, _sort_key, merge_same_resource

RESERVED = frozenset({"keyguard-tokens"})
UUID = "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c"
#: Values a caller might bring: the policy's own literals, reserved names, wildcards, odd text.
HOSTILE = [
    "",
    "acme",
    "globex",
    "tenant-acme",
    "orders",
    "public",
    "keyguard-tokens",
    "tokens",
    "*",
    "a*",
    "u-1",
    "u:1",
    "user-",
    UUID,
    UUID[:8],
    UUID.upper(),
    "ünïcødé",
    "日本",
    " padded ",
    "a b",
    "x" * 128,
    "x" * 129,
    "y" * 300,
    "0",
    "9=+/@.",
]
GROUPS = ["members", "admins", "other", "*", ""]
LITERALS = ["acme", "tenant-acme", "orders", "public", "tenant-", "user-", "a", "*"]
PLACEHOLDERS = ["{sub}", "{principal}", "{claims.tenant}", "{claims.team}"]
DELIMITERS = ["-", ":", "/", "_", "a"]

piece = st.one_of(st.sampled_from(LITERALS), st.sampled_from(PLACEHOLDERS))


@st.composite
def name_field(draw: st.DrawFn, *, allow_all: bool) -> str:
    """A cache / topic / key value: literals and placeholders, `*` only where allowed."""
    if allow_all and draw(st.integers(0, 5)) == 0:
        return "*"
    parts = draw(st.lists(piece, min_size=1, max_size=3))
    text = "".join(parts)
    return text if text not in ("*",) or allow_all else "k"


@st.composite
def prefix_field(draw: st.DrawFn) -> str:
    """A keyPrefix: every placeholder followed by a literal delimiter."""
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(PLACEHOLDERS)) + draw(st.sampled_from(DELIMITERS)))
        else:
            parts.append(draw(st.sampled_from(["user-", "p-", "a"])))
    return "".join(parts)


#: Statements rules share, so that rules overlap: the same statement with two caps (one rule
#: shared), two roles on one cache, a key under a prefix.
COMMON = [
    {"cache": "public", "topic": "feed", "role": "subscribe_only"},
    {"cache": "public", "topic": "feed", "role": "publish_only"},
    {"cache": "tenant-acme", "role": "read_only"},
    {"cache": "tenant-acme", "role": "write_only"},
    {"cache": "tenant-acme", "role": "read_write"},
    {"cache": "tenant-acme", "keyPrefix": "user-", "role": "read_write"},
    {"cache": "orders", "key": "user-1", "role": "read_only"},
]


@st.composite
def statement(draw: st.DrawFn) -> dict[str, str]:
    if draw(st.booleans()):
        return dict(draw(st.sampled_from(COMMON)))
    kind = draw(st.sampled_from(["cache", "key", "keyPrefix", "topic"]))
    out = {"cache": draw(name_field(allow_all=True))}
    if kind == "topic":
        out["topic"] = draw(name_field(allow_all=True))
        out["role"] = draw(st.sampled_from([r.value for r in TopicRole]))
        return out
    out["role"] = draw(st.sampled_from([r.value for r in CacheRole]))
    if kind == "key":
        out["key"] = draw(name_field(allow_all=False))
    elif kind == "keyPrefix":
        out["keyPrefix"] = draw(prefix_field())
    return out


@st.composite
def rule(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = {"allow": draw(st.lists(statement(), min_size=1, max_size=5))}
    when: dict[str, Any] = {}
    if draw(st.booleans()):
        when["groups"] = draw(st.lists(st.sampled_from(GROUPS[:3]), min_size=1, max_size=2))
    if draw(st.integers(0, 3)) == 0:
        when["claims"] = {"tenant": draw(st.lists(st.sampled_from(["acme", "globex"]), min_size=1))}
    if when:
        raw["when"] = when
    if draw(st.booleans()):
        raw["maxTtlSeconds"] = draw(st.sampled_from([60, 300, 900, 3600, 7200]))
    if draw(st.integers(0, 3)) == 0:
        raw["shared"] = True
    raw["name"] = draw(st.sampled_from(["r", "pizza", "feed", "x" * 20]))
    return raw


def load(document: dict[str, Any], reserved: frozenset[str]) -> Policy | None:
    try:
        return Policy.from_json(document, 3600, reserved_caches=reserved)
    except ConfigError:
        return None


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """A policy that loads: statements a load refuses are dropped, rule by rule."""
    reserved = draw(st.sampled_from([frozenset(), RESERVED]))
    rules: list[dict[str, Any]] = []
    for raw in draw(st.lists(rule(), min_size=1, max_size=6)):
        if load({"rules": [*rules, raw]}, reserved) is not None:
            rules.append(raw)
            continue
        raw = {**raw, "shared": False}
        raw["allow"] = [s for s in raw["allow"] if load({"rules": [{**raw, "allow": [s]}]}, reserved)]
        if raw["allow"] and load({"rules": [*rules, raw]}, reserved) is not None:
            rules.append(raw)
    policy = load({"rules": rules}, reserved)
    if policy is None:  # every rule refused: a policy of one plain statement
        policy = Policy.from_json({"rules": [{"allow": [{"cache": "c", "role": "read_only"}]}]}, 3600)
    return policy


@st.composite
def callers(draw: st.DrawFn) -> Identity:
    sub = draw(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12)))
    claims = {"sub": sub} if draw(st.booleans()) else {}
    for claim in ("tenant", "team"):
        if draw(st.booleans()):
            claims[claim] = draw(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8)))
    return Identity(
        principal=draw(st.one_of(st.just(sub), st.sampled_from(HOSTILE))),
        groups=tuple(draw(st.lists(st.sampled_from(GROUPS), max_size=3))),
        claims=claims,
        names_resources=draw(st.integers(0, 4)) > 0,
    )


def outcome(call: Any, *args: Any) -> Grant | tuple[str, str]:
    """The grant, or the error's type and message."""
    try:
        result = call(*args)
    except KeyGuardError as exc:
        return (type(exc).__name__, str(exc))
    assert isinstance(result, Grant)
    return result


def same(got: Grant | tuple[str, str], want: Grant | tuple[str, str]) -> None:
    """Equal, and for grants equal field by field (order of permissions included)."""
    assert got == want
    if isinstance(got, Grant) and isinstance(want, Grant):
        assert got.permissions == want.permissions
        assert got.permissions_json == want.permissions_json
        assert got.shared_token_id == want.shared_token_id


def merged(merge: Any, chosen: list[tuple[Permission, int]], allowed: list[Allowance]) -> Grant:
    """A merge's statements, in its order, as a grant (so `outcome` compares them or the error)."""
    return Grant(tuple(p for p, _ in merge(chosen, allowed)), 1)


def narrower(permission: Permission, variant: int) -> Permission:
    """A statement near an allowed one: another role, a key under a prefix, a topic in a cache."""
    if isinstance(permission, TopicPermission):
        roles = list(TopicRole)
        return TopicPermission(permission.cache, permission.topic, roles[variant % len(roles)])
    roles_c = list(CacheRole)
    role = roles_c[variant % len(roles_c)]
    if variant % 4 == 0 and permission.key_prefix is not None:
        return CachePermission(permission.cache, role, key=permission.key_prefix + "k")
    if variant % 4 == 1:
        return CachePermission(permission.cache, role)
    return CachePermission(permission.cache, role, permission.key, permission.key_prefix)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies(), st.lists(callers(), min_size=1, max_size=6), st.data())
def test_compiled_policy_grants_exactly_as_the_reference(
    policy: Policy, sequence: list[Identity], data: st.DataObject
) -> None:
    for identity in sequence * 2:  # twice: the second time from the memo
        assert policy.allowances(identity) == reference_allowances(policy, identity)
        same(
            outcome(policy.grant, identity, None, None),
            outcome(reference_grant, policy, identity, None, None),
        )
        held = [a.permission for a in reference_allowances(policy, identity)]
        pool = held + [narrower(p, v) for p in held for v in range(3)]
        pool += [
            CachePermission("tenant-acme", CacheRole.READ_WRITE),
            TopicPermission("public", "*", TopicRole.SUBSCRIBE_ONLY),
        ]
        for _ in range(3):
            requested = tuple(data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4)))
            ttl = data.draw(st.sampled_from([None, 1, 60, 299, 3000, 3600, 100_000]))
            same(
                outcome(policy.grant, identity, requested, ttl),
                outcome(reference_grant, policy, identity, requested, ttl),
            )
        ttl = data.draw(st.sampled_from([1, 300, 3000]))
        same(
            outcome(policy.grant, identity, None, ttl),
            outcome(reference_grant, policy, identity, None, ttl),
        )


SAMPLE = {
    "rules": [
        {
            "name": "tenant members",
            "when": {"groups": ["members"]},
            "allow": [
                {"cache": "tenant-{claims.tenant}", "role": "read_only"},
                {"cache": "tenant-{claims.tenant}", "keyPrefix": "user-{sub}-", "role": "read_write"},
                {"cache": "tenant-{claims.tenant}", "topic": "orders-{sub}", "role": "publish_subscribe"},
            ],
            "maxTtlSeconds": 3600,
        },
        {
            "name": "admins",
            "when": {"groups": ["admins"]},
            "allow": [{"cache": "tenant-{claims.tenant}", "role": "read_write"}],
            "maxTtlSeconds": 900,
        },
        {
            "name": "static twin",
            "when": {"groups": ["members"]},
            "allow": [{"cache": "tenant-acme", "role": "write_only"}],
        },
        {
            "name": "feed",
            "shared": True,
            "allow": [{"cache": "public", "topic": "feed", "role": "subscribe_only"}],
            "maxTtlSeconds": 300,
        },
        {
            "name": "feed for members, longer",
            "when": {"groups": ["members"]},
            "allow": [{"cache": "public", "topic": "feed", "role": "subscribe_only"}],
        },
        {"name": "reserved by name", "allow": [{"cache": "{claims.tenant}", "role": "read_only"}]},
    ]
}


@pytest.mark.parametrize("sub", HOSTILE)
@pytest.mark.parametrize("tenant", ["acme", "keyguard-tokens", "*", "", "a" * 300, UUID])
@pytest.mark.parametrize("groups", [("members",), ("admins",), ("members", "admins"), ()])
def test_hostile_callers_of_a_colliding_policy(sub: str, tenant: str, groups: tuple[str, ...]) -> None:
    """Literals a placeholder renders to (`tenant-acme`), two roles that need a union, a reserved
    cache a claim names: every corner on which the compiled path could differ, for every value."""
    policy = Policy.from_json(SAMPLE, 3600, reserved_caches=RESERVED)
    identity = Identity(principal=sub, groups=groups, claims={"sub": sub, "tenant": tenant})
    assert policy.allowances(identity) == reference_allowances(policy, identity)
    same(
        outcome(policy.grant, identity, None, None),
        outcome(reference_grant, policy, identity, None, None),
    )
    asks: list[tuple[Permission, ...]] = [
        (CachePermission("tenant-acme", CacheRole.READ_WRITE),),
        (CachePermission("tenant-acme", CacheRole.READ_ONLY),),
        (TopicPermission("public", "feed", TopicRole.SUBSCRIBE_ONLY),),
        (CachePermission(f"tenant-{tenant}", CacheRole.READ_ONLY, key_prefix=f"user-{sub}-"),),
    ]
    for requested, ttl in [(ask, ttl) for ask in asks for ttl in (None, 120, 600)]:
        same(
            outcome(policy.grant, identity, requested, ttl),
            outcome(reference_grant, policy, identity, requested, ttl),
        )


@given(st.text(), st.text(), st.sampled_from(["cache", "key", "keyPrefix", "topic"]))
def test_sort_key_is_the_json_text_canonical_sorts_by(cache: str, other: str, kind: str) -> None:
    permission: Permission
    if kind == "topic":
        permission = TopicPermission(cache, other, TopicRole.PUBLISH_ONLY)
    elif kind == "cache":
        permission = CachePermission(cache, CacheRole.READ_WRITE)
    else:
        permission = CachePermission(
            cache, CacheRole.WRITE_ONLY, **{"key" if kind == "key" else "key_prefix": other}
        )
    assert _sort_key(permission) == json.dumps(permission.to_json(), sort_keys=True)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "*", "ä"]),
            st.sampled_from(list(CacheRole)),
            st.sampled_from([None, "k", "k-"]),
        ),
        max_size=8,
    )
)
def test_merge_and_canonical_as_before(raw: list[tuple[str, CacheRole, str | None]]) -> None:
    """The merge's cheaper comparison (same cache or all caches only) keeps its result."""
    permissions: list[Permission] = [CachePermission(c, r, key_prefix=k) for c, r, k in raw]
    assert _canonical(permissions) == canonical(permissions)
    chosen = [(p, 60 * (i + 1)) for i, p in enumerate(permissions)]
    allowed = [Allowance(CachePermission("*", CacheRole.READ_WRITE), 60)] if len(raw) % 2 else []
    assert outcome(merged, merge_same_resource, chosen, allowed) == outcome(
        merged, reference_merge, chosen, allowed
    )
