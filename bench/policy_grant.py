"""First-sight `Policy.grant`: the compiled policy beside the straightforward algorithm, interleaved.

    .venv/bin/python bench/policy_grant.py [--callers 2000] [--json out.json]

A caller seen for the first time (a fresh random `sub`, so nothing is remembered for it) asks
for its default scope (GET) and for one statement of it (POST). The product is
`vendor.policy.Policy.grant` on one long-lived policy (its per-identity memo misses: every
caller is new); the baseline is `bench/baselines/policy_reference.py`, the algorithm the policy
used before it was compiled, which recomputes everything from the parsed rules. Caller by caller
the two alternate (which goes first alternates too), so the load of a shared machine falls on
both. The sample policy is events/vendor/policy.json; a large one (40 tenant rules, shared rules
and static grants, as `keyguard policy check` sees in big accounts) shows the cost scales with
what a caller matches, not with the policy. Prints numbers; asserts nothing about time.
"""

from __future__ import annotations

import contextlib
import gc
import json
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.baselines.policy_reference import reference_grant  # noqa: E402
from bench.common import POLICY, Result, parser, say  # noqa: E402
from shared.errors import KeyGuardError  # noqa: E402
from shared.permissions import Permission, permissions_from_json  # noqa: E402
from vendor.identity import Identity  # noqa: E402
from vendor.policy import Policy  # noqa: E402


def large_policy() -> dict[str, Any]:
    """40 group rules with placeholders, 5 shared rules and 20 static grants: a big account's policy."""
    rules: list[dict[str, Any]] = [
        {
            "name": f"team {i}",
            "when": {"groups": [f"team-{i}"]},
            "allow": [
                {"cache": f"team-{i}-{{claims.tenant}}", "role": "read_only"},
                {"cache": f"team-{i}-{{claims.tenant}}", "keyPrefix": "user-{sub}-", "role": "read_write"},
            ],
            "maxTtlSeconds": 3600,
        }
        for i in range(40)
    ]
    rules += [
        {
            "name": f"feed {i}",
            "shared": True,
            "when": {"groups": ["members"]},
            "allow": [{"cache": "public", "topic": f"feed-{i}", "role": "subscribe_only"}],
        }
        for i in range(5)
    ]
    rules.append(
        {
            "name": "members",
            "when": {"groups": ["members"]},
            "allow": [
                {"cache": "tenant-{claims.tenant}", "role": "read_only"},
                {"cache": "tenant-{claims.tenant}", "keyPrefix": "user-{sub}-", "role": "read_write"},
                *({"cache": f"static-{i}", "role": "read_only"} for i in range(12)),
            ],
            "maxTtlSeconds": 3600,
        }
    )
    return {"rules": rules}


def caller(groups: tuple[str, ...]) -> Identity:
    sub = str(uuid.uuid4())
    return Identity(principal=sub, groups=groups, claims={"sub": sub, "tenant": "acme"})


def timed(call: Callable[[], object]) -> float:
    """µs of one call; a refusal (`ForbiddenError`) is an answer too, timed like a grant."""
    began = time.perf_counter()
    with contextlib.suppress(KeyGuardError):
        call()
    return (time.perf_counter() - began) * 1e6


def compare(
    result: Result,
    label: str,
    policy: Policy,
    groups: tuple[str, ...],
    requested: tuple[Permission, ...] | None,
    callers: int,
) -> None:
    product: list[float] = []
    baseline: list[float] = []
    for i in range(callers):
        identity = caller(groups)
        runs = [
            (product, lambda who=identity: policy.grant(who, requested, None)),
            (baseline, lambda who=identity: reference_grant(policy, who, requested, None)),
        ]
        for samples, call in runs if i % 2 else reversed(runs):
            samples.append(timed(call))
    result.series(f"{label}, compiled policy", product)
    result.series(f"{label}, reference algorithm", baseline)
    ratio = result.metrics[f"{label}, compiled policy p50"]["value"] / max(
        result.metrics[f"{label}, reference algorithm p50"]["value"], 1e-9
    )
    result.add(f"{label}, compiled p50 as a share of the reference p50", 100 * ratio, "%")


def main() -> None:
    p = parser(__doc__)
    p.add_argument("--callers", type=int, default=2000)
    args = p.parse_args()
    result = Result("policy_grant")
    sample = Policy.from_json(json.loads(POLICY), 3600)
    large = Policy.from_json(large_policy(), 3600)
    one = permissions_from_json([{"cache": "tenant-acme", "role": "read_only"}])
    gc.collect()
    say(f"first-sight Policy.grant, {args.callers} new callers each (µs):")
    compare(result, "sample policy, GET", sample, ("members",), None, args.callers)
    compare(result, "sample policy, POST one statement", sample, ("members",), one, args.callers)
    compare(result, "large policy, GET", large, ("members", "team-7"), None, args.callers)
    result.write(args.json)


if __name__ == "__main__":
    main()
