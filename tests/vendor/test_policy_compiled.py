"""The policy is compiled once per container: one computation per identity, then a lookup.

What a grant depends on (principal, groups, the claims the policy reads) is the memo's key, so
the property below checks that a long-lived policy answers every caller exactly as a fresh one
would, however callers that differ only in unread claims or only in read ones interleave.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import ForbiddenError
from vendor import policy as policy_module
from vendor.identity import Identity
from vendor.policy import Grant, Policy

DOCUMENT: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "events" / "vendor" / "policy.json").read_text()
)


def member(sub: str = "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c", **claims: str) -> Identity:
    return Identity(principal=sub, groups=("members",), claims={"sub": sub, "tenant": "acme", **claims})


def test_claims_read_are_those_in_when_and_placeholders() -> None:
    assert Policy.from_json(DOCUMENT, 3600).claims_read == ("accountId", "sub", "tenant")


def test_default_grant_renders_templates_once_per_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    renders = {"n": 0}
    original = policy_module._CompiledTemplate._render

    def counting(self: Any, looked_up: dict[str, str | None]) -> Any:
        renders["n"] += 1
        return original(self, looked_up)

    policy = Policy.from_json(DOCUMENT, 3600)
    monkeypatch.setattr(policy_module._CompiledTemplate, "_render", counting)
    first = policy.grant(member(), None, None)
    once = renders["n"]
    assert once > 0
    for _ in range(5):
        assert policy.grant(member(), None, None) is first
    # An unread claim (iat) changes nothing: still the remembered grant, no rendering.
    assert policy.grant(member(iat="1795789800"), None, None) is first
    assert renders["n"] == once


def test_refusal_is_remembered_and_raised_every_time() -> None:
    policy = Policy.from_json(
        {"rules": [{"when": {"groups": "admins"}, "allow": [{"cache": "c", "role": "read_only"}]}]}, 3600
    )
    for _ in range(3):
        with pytest.raises(ForbiddenError, match="no vending policy rule"):
            policy.grant(member(), None, None)


def test_memo_is_bounded_and_drops_the_oldest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy_module, "MAX_REMEMBERED_IDENTITIES", 3)
    policy = Policy.from_json(DOCUMENT, 3600)
    grants = [policy.grant(member(f"user{i}"), None, None) for i in range(5)]
    assert len(policy._defaults) == 3
    assert policy.grant(member("user4"), None, None) is grants[4]  # newest kept
    assert policy.grant(member("user0"), None, None) is not grants[0]  # oldest recomputed
    assert policy.grant(member("user0"), None, None) == grants[0]


def test_grant_json_is_built_once() -> None:
    grant = Policy.from_json(DOCUMENT, 3600).grant(member(), None, None)
    assert isinstance(grant, Grant)
    assert grant.permissions_json is grant.permissions_json
    assert grant.permissions_json == [p.to_json() for p in grant.permissions]


callers = st.builds(
    lambda sub, tenant, groups, account, noise: Identity(
        principal=sub,
        groups=tuple(sorted(set(groups))),
        claims={
            k: v for k, v in {"sub": sub, "tenant": tenant, "accountId": account, "iat": noise}.items() if v
        },
    ),
    sub=st.sampled_from(["u1", "u2", "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c", "a b"]),
    tenant=st.sampled_from(["acme", "globex", "", "x*"]),
    groups=st.lists(st.sampled_from(["members", "admins", "other"]), max_size=2),
    account=st.sampled_from(["", "123456789012", "999"]),
    noise=st.sampled_from(["", "1", "2"]),
)


def _answer(policy: Policy, identity: Identity) -> Grant | str:
    try:
        return policy.grant(identity, None, None)
    except ForbiddenError as exc:
        return f"forbidden: {exc}"


@settings(max_examples=150, deadline=None)
@given(st.lists(callers, min_size=1, max_size=12))
def test_long_lived_policy_answers_as_a_fresh_one(sequence: list[Identity]) -> None:
    long_lived = Policy.from_json(DOCUMENT, 3600)
    for identity in sequence:
        assert _answer(long_lived, identity) == _answer(Policy.from_json(DOCUMENT, 3600), identity)
        assert long_lived.allowances(identity) == Policy.from_json(DOCUMENT, 3600).allowances(identity)
