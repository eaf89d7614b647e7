"""Property: for random identities, policies and requests, a grant never exceeds the policy.

The oracle here is written independently of `vendor.policy`'s rendering: it substitutes the
caller's raw values into the templates of the rules that match (by its own reading of `when`)
and checks that every granted permission lies inside one of them, that `*` appears only where a
policy author wrote it, that no empty value justified anything, and that one caller's prefix
never reaches into another caller's keys.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.errors import ForbiddenError, UnknownScopeError
from shared.permissions import (
    CachePermission,
    CacheRole,
    Permission,
    TopicPermission,
    TopicRole,
    permission_from_json,
)
from vendor.identity import Identity
from vendor.policy import TTL_BUCKETS, Policy, covers

CEILING = 3600
TRICKY = [
    "acme",
    "4",
    "4-2",
    "42",
    "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c",
    "3f1c2a4e",
    "3f1c2",
    "*",
    "",
    "a b",
    "a/b",
    "x{y}",
    "ü",
    "-",
    "a*",
]
values = st.one_of(st.sampled_from(TRICKY), st.text(max_size=10))

CACHE_TEMPLATES = ["c", "*", "tenant-{claims.tenant}", "{sub}"]
ITEM_TEMPLATES: list[dict[str, str]] = [
    {},
    {"key": "k-{sub}"},
    {"keyPrefix": "user-{sub}-"},
    {"keyPrefix": "p-"},
    {"topic": "*"},
    {"topic": "orders-{sub}"},
    {"topic": "t"},
]


@st.composite
def identities(draw: st.DrawFn) -> Identity:
    sub = draw(values)
    tenant = draw(st.one_of(st.none(), values))
    claims = {"sub": sub} | ({"tenant": tenant} if tenant is not None else {})
    groups = tuple(draw(st.lists(st.sampled_from(["members", "admins", "other"]), max_size=2, unique=True)))
    return Identity(principal=sub or "anonymous", groups=groups, claims=claims)


@st.composite
def templates(draw: st.DrawFn) -> dict[str, str]:
    item = dict(draw(st.sampled_from(ITEM_TEMPLATES)))
    roles = [r.value for r in (TopicRole if "topic" in item else CacheRole)]
    return {"cache": draw(st.sampled_from(CACHE_TEMPLATES)), **item, "role": draw(st.sampled_from(roles))}


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {"allow": draw(st.lists(templates(), min_size=1, max_size=3))}
    when = draw(st.sampled_from(["none", "members", "tenant"]))
    if when == "members":
        rule["when"] = {"groups": ["members"]}
    elif when == "tenant":
        rule["when"] = {"claims": {"tenant": "acme"}}
    if draw(st.booleans()):
        rule["maxTtlSeconds"] = draw(st.integers(1, 2 * CEILING))
    return rule


@st.composite
def requests(draw: st.DrawFn, identity: Identity) -> tuple[Permission, ...] | None:
    if draw(st.booleans()):
        return None
    sub = identity.claims.get("sub", "")
    tenant = identity.claims.get("tenant", "")
    names = st.sampled_from(["c", "*", f"tenant-{tenant}", sub or "s", "tenant-globex", "other"])
    perms: list[Permission] = []
    for _ in range(draw(st.integers(1, 3))):
        item = draw(
            st.sampled_from(
                [
                    {},
                    {"key": f"k-{sub}"},
                    {"key": f"user-{sub}-x"},
                    {"keyPrefix": f"user-{sub}-"},
                    {"keyPrefix": "user-"},
                    {"keyPrefix": "p-q"},
                    {"topic": "*"},
                    {"topic": f"orders-{sub}"},
                    {"topic": "t"},
                ]
            )
        )
        roles = [r.value for r in (TopicRole if "topic" in item else CacheRole)]
        try:
            perms.append(
                permission_from_json({"cache": draw(names), **item, "role": draw(st.sampled_from(roles))})
            )
        except UnknownScopeError:
            continue
    return tuple(perms) or None


def _oracle_matches(rule: dict[str, Any], identity: Identity) -> bool:
    when = rule.get("when", {})
    if "groups" in when and not set(when["groups"]) & set(identity.groups):
        return False
    return all(identity.claims.get(k) == v for k, v in when.get("claims", {}).items())


def _substitute(template: str, identity: Identity) -> str | None:
    """Raw substitution; None when a value is missing or empty (nothing can be justified by it)."""
    out = template
    for name in re.findall(r"\{([^{}]*)\}", template):
        value = (
            identity.claims.get(name.removeprefix("claims.")) if name != "principal" else identity.principal
        )
        if not value:
            return None
        out = out.replace("{" + name + "}", value)
    return out


def _inside(granted: Permission, template: dict[str, str], identity: Identity) -> bool:
    rendered = {k: _substitute(v, identity) for k, v in template.items()}
    if any(v is None for v in rendered.values()):
        return False
    for field in ("cache", "topic"):
        # A `*` in a grant must come from a policy author's literal `*`, never from a value.
        if getattr(granted, field, None) == "*" and template.get(field) != "*":
            return False
    try:
        allowed = permission_from_json(rendered)
    except UnknownScopeError:
        return False
    return covers(allowed, granted)


def _mixes_items_and_topics(wanted: tuple[Any, ...]) -> bool:
    return any(isinstance(p, TopicPermission) for p in wanted) and any(
        isinstance(p, CachePermission) and (p.key or p.key_prefix) for p in wanted
    )


def _incomparable_roles_on_one_resource(wanted: tuple[Any, ...]) -> bool:
    return any(
        a != b
        and type(a) is type(b)
        and dataclasses.replace(a, role=b.role) == b
        and not covers(a, b)
        and not covers(b, a)
        for a in wanted
        for b in wanted
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), identity=identities(), rule_list=st.lists(rules(), min_size=1, max_size=3))
def test_grants_never_exceed_policy(
    data: st.DataObject, identity: Identity, rule_list: list[dict[str, Any]]
) -> None:
    policy = Policy.from_json({"rules": rule_list}, CEILING)
    requested = data.draw(requests(identity))
    ttl = data.draw(st.one_of(st.none(), st.integers(1, 10 * CEILING)))
    try:
        grant = policy.grant(identity, requested, ttl)
    except ForbiddenError:
        return
    except UnknownScopeError:
        # Only what Momento cannot hold in one token is refused so: key-level + topic grants, or
        # two roles on one resource neither of which covers the other (never widened).
        wanted = (
            requested if requested is not None else tuple(a.permission for a in policy.allowances(identity))
        )
        assert _mixes_items_and_topics(wanted) or _incomparable_roles_on_one_resource(wanted)
        return
    matching = [r for r in rule_list if _oracle_matches(r, identity)]
    for granted in grant.permissions:
        justified = [r for r in matching for t in r["allow"] if _inside(granted, t, identity)]
        assert justified, f"{granted} is outside every matching rule"
        assert grant.ttl_seconds <= max(min(r.get("maxTtlSeconds", CEILING), CEILING) for r in justified)
    if requested is not None:
        # Exactly the request, or (issue 13) the whole part of the allowance it is a subset of.
        assert set(requested) <= set(grant.permissions)
    assert grant.ttl_seconds <= CEILING
    if ttl is not None:
        assert grant.ttl_seconds <= max(ttl, TTL_BUCKETS[0])


@settings(max_examples=300, deadline=None)
@given(data=st.data(), a=values, delimiter=st.sampled_from(["-", "a", "/"]))
def test_one_callers_prefix_never_reaches_another_callers_keys(
    data: st.DataObject, a: str, delimiter: str
) -> None:
    # b is often a's value extended past the delimiter (the prefix trick), or a longer value
    # that starts with a (a UUID's first group and that UUID); "a" is a delimiter UUIDs contain.
    longer = [v for v in TRICKY if v != a and a and v.startswith(a)]
    b = data.draw(
        st.one_of(
            values,
            st.builds(lambda tail: f"{a}{delimiter}{tail}", values),
            *([st.sampled_from(longer)] if longer else []),
        )
    )
    template = f"user-{{sub}}{delimiter}"
    policy = Policy.from_json(
        {"rules": [{"allow": [{"cache": "c", "keyPrefix": template, "role": "read_write"}]}]}, CEILING
    )
    if a == b:
        return
    allowed_a = policy.allowances(Identity(principal=a or "x", claims={"sub": a}))
    allowed_b = policy.allowances(Identity(principal=b or "y", claims={"sub": b}))
    for pa in allowed_a:
        for pb in allowed_b:
            assert isinstance(pb.permission, CachePermission)
            victim_key = CachePermission("c", CacheRole.READ_ONLY, key=f"{pb.permission.key_prefix}secret")
            assert not covers(pa.permission, victim_key), f"{a!r} reaches {b!r}'s keys"
