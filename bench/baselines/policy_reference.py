"""The vending policy's straightforward algorithm: every grant recomputed from the parsed rules.

This is `vendor.policy.Policy`'s grant as it was before the policy was compiled (issue 15):
each template rendered field by field, each statement parsed from its JSON form, sorted by its
JSON text. It is kept, unoptimised, as the specification the compiled path must equal
(tests/vendor/test_policy_differential.py) and as the baseline of bench/policy_grant.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from shared.errors import ForbiddenError, UnknownScopeError
from shared.permissions import ALL, MAX_PERMISSIONS, Permission, canonical, permission_from_json
from vendor.identity import Identity
from vendor.policy import (
    Allowance,
    Grant,
    Policy,
    _mixes_items_and_topics,
    _resource,
    _union,
    _whole,
    bucket_ttl,
    covers,
    default_scope,
)


def merge_same_resource(
    chosen: list[tuple[Permission, int]], allowances: Sequence[Allowance]
) -> list[tuple[Permission, int]]:
    """`vendor.policy.merge_same_resource` as it was: every statement compared with every other."""
    merged: dict[tuple[str | None, ...], tuple[Permission, int]] = {}
    for permission, ttl in chosen:
        resource = _resource(permission)
        if resource in merged:
            other, other_ttl = merged[resource]
            union = _union(other, permission)
            if union not in (other, permission) and not any(covers(a.permission, union) for a in allowances):
                refused = json.dumps(union.to_json(), sort_keys=True, separators=(",", ":"))
                raise ForbiddenError(
                    f"one token cannot hold two roles on one resource, and the policy does not allow "
                    f"their union {refused}; ask for two tokens"
                )
            permission, ttl = union, min(ttl, other_ttl)
        merged[resource] = (permission, ttl)
    kept = list(merged.values())
    return [(p, t) for p, t in kept if not any(o != p and covers(o, p) for o, _ in kept)]


def reference_allowances(policy: Policy, identity: Identity) -> tuple[Allowance, ...]:
    """Everything this caller may hold: the union of its matching rules, placeholders filled."""
    best: dict[Permission, int] = {}
    for rule in policy.rules:
        if not rule.matches(identity):
            continue
        for template in rule.allow:
            rendered = template.render(identity)
            if rendered is None:
                continue
            try:
                permission = permission_from_json(rendered)
            except UnknownScopeError:
                continue
            if policy.reserved_caches and permission.cache in (ALL, *policy.reserved_caches):
                continue  # a placeholder rendered a reserved cache's name
            best[permission] = max(best.get(permission, 0), rule.max_ttl_seconds)
    return tuple(Allowance(p, best[p]) for p in canonical(list(best)))


def reference_grant(
    policy: Policy,
    identity: Identity,
    requested: tuple[Permission, ...] | None,
    requested_ttl_seconds: int | None,
) -> Grant:
    """The permissions and lifetime this caller gets; `ForbiddenError` naming the refused part."""
    allowances = reference_allowances(policy, identity)
    if not allowances:
        raise ForbiddenError("no vending policy rule allows this caller anything")
    if requested is None:
        allowances = default_scope(allowances)
        if len(allowances) > MAX_PERMISSIONS:
            raise ForbiddenError(
                f"the policy allows more than {MAX_PERMISSIONS} permissions; POST a subset of them"
            )
        chosen = [(a.permission, a.max_ttl_seconds) for a in allowances]
    else:
        if _mixes_items_and_topics(requested):
            raise UnknownScopeError(
                "one token cannot combine topic permissions with key or key-prefix permissions "
                "(Momento's SDK has no scope for that); ask for two tokens"
            )
        chosen = []
        for permission in requested:
            caps = [a.max_ttl_seconds for a in allowances if covers(a.permission, permission)]
            if not caps:
                refused = json.dumps(permission.to_json(), sort_keys=True, separators=(",", ":"))
                raise ForbiddenError(f"not allowed: {refused}")
            chosen.append((permission, max(caps)))
    shared_rule = None
    held = reference_allowances(policy, identity)
    whole = _whole(identity, policy.rules, allowances, chosen)
    if whole is not None:
        try:  # the widened grant may not fit one token (two roles, no union): then as asked
            chosen, shared_rule = merge_same_resource(whole[0], held), whole[1]
        except ForbiddenError:
            whole = None
    if whole is None:
        chosen = merge_same_resource(chosen, held)
    ttl = bucket_ttl(requested_ttl_seconds, min(ttl for _, ttl in chosen))
    return Grant(canonical([p for p, _ in chosen]), ttl, shared_rule)
