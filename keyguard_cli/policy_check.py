"""`keyguard policy check FILE`: every problem of a vending policy, and what callers would get.

The vendor's own parser (`vendor.policy.Policy.from_json`) is the judge; it stops at the first
mistake, so each rule, and each allowed permission of a rule, is also parsed on its own to
list every problem at once (with its real index). Then each identity given with `--as` (and,
without one, a sample identity per rule, built from its `when` and the placeholders it uses)
is run through the vendor's identity reader and `Policy.grant`, as a GET would be.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from shared.errors import ConfigError, ForbiddenError, KeyGuardError
from shared.permissions import permissions_to_json
from vendor.identity import Identity, identify
from vendor.policy import Policy

#: Lambda caps all of a function's environment variables together at 4 KB.
ENVIRONMENT_LIMIT_BYTES = 4096
#: A UUID-shaped `sub`, as Cognito issues (placeholders in keyPrefix accept it with "-").
SAMPLE_SUB = "00000000-0000-4000-8000-000000000000"
_CLAIM_PLACEHOLDER = re.compile(r"\{claims\.([A-Za-z0-9_:.-]{1,128})\}")


def read_json(path: str, what: str) -> Any:
    """A JSON file, or a `ConfigError` naming the file and the exact place it breaks."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{what} {path!r}: no such file"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{what} {path!r}: not UTF-8 text"]) from None
    except OSError as exc:
        raise ConfigError([f"{what} {path!r}: cannot read it ({type(exc).__name__})"]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [f"{what} {path!r}: not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"]
        ) from None


def _renumbered(problem: str, rule: int, item: int | None = None) -> str:
    problem = problem.replace("rules[0]", f"rules[{rule}]", 1)
    return problem if item is None else problem.replace("allow[0]", f"allow[{item}]", 1)


def problems_of(document: Any, ceiling: int, reserved: frozenset[str]) -> list[str]:
    """Every problem `Policy.from_json` finds, rule by rule and permission by permission."""
    try:
        Policy.from_json(document, ceiling, reserved_caches=reserved)
    except ConfigError:
        pass
    else:
        return []
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        return ['expected {"rules": [...]}']
    found: list[str] = []
    try:
        Policy.from_json({**document, "rules": []}, ceiling, reserved_caches=reserved)
    except ConfigError as exc:
        found.extend(exc.problems)
    for index, rule in enumerate(document["rules"]):
        try:
            Policy.from_json({"rules": [rule]}, ceiling, reserved_caches=reserved)
            continue
        except ConfigError as exc:
            rule_problems = [_renumbered(p, index) for p in exc.problems]
        allow = rule.get("allow") if isinstance(rule, dict) else None
        item_problems: list[str] = []
        if isinstance(allow, list) and len(allow) > 1:
            for item_index, item in enumerate(allow):
                try:
                    Policy.from_json(
                        {"rules": [{**rule, "allow": [item]}]}, ceiling, reserved_caches=reserved
                    )
                except ConfigError as exc:
                    item_problems += [_renumbered(p, index, item_index) for p in exc.problems]
        found.extend(dict.fromkeys(item_problems or rule_problems))
    return list(dict.fromkeys(found)) or ["the policy does not load (no detail)"]


def sample_claims(rule: Any, groups_claim: str) -> dict[str, Any]:
    """Claims of a caller the rule matches: its groups and claims, each placeholder filled."""
    claims: dict[str, Any] = {"sub": SAMPLE_SUB}
    when = rule.get("when", {}) if isinstance(rule, dict) else {}
    when = when if isinstance(when, dict) else {}
    groups = when.get("groups")
    if isinstance(groups, str):
        groups = [groups]
    if isinstance(groups, list) and groups:
        claims[groups_claim] = [str(groups[0])]
    for name, values in (when.get("claims") or {}).items():
        value = values[0] if isinstance(values, list) and values else values
        claims[str(name)] = str(value)
    for name in _CLAIM_PLACEHOLDER.findall(
        json.dumps(rule.get("allow", []) if isinstance(rule, dict) else [])
    ):
        claims.setdefault(name, "sample")
    return claims


def _identity(claims: dict[str, Any], auth_mode: str, groups_claim: str) -> Identity:
    authorizer = {"jwt": {"claims": claims}, "lambda": claims, "iam": claims}
    return identify({"requestContext": {"authorizer": authorizer, "http": {}}}, auth_mode, groups_claim)


def granted(policy: Policy, claims: dict[str, Any], auth_mode: str, groups_claim: str) -> dict[str, Any]:
    """What a GET would give this caller (or why nothing), plus everything it may POST for."""
    try:
        identity = _identity(claims, auth_mode, groups_claim)
    except KeyGuardError as exc:
        return {"principal": None, "refused": f"{exc.code}: {exc}"}
    allowances = policy.allowances(identity)
    result: dict[str, Any] = {
        "principal": identity.principal,
        "groups": list(identity.groups),
        "may_request": [{**a.permission.to_json(), "maxTtlSeconds": a.max_ttl_seconds} for a in allowances],
    }
    try:
        grant = policy.grant(identity, None, None)
    except (ForbiddenError, KeyGuardError) as exc:
        result["get_grants"] = None
        result["refused"] = f"{exc.code}: {exc}"
    else:
        result["get_grants"] = {
            "permissions": permissions_to_json(grant.permissions),
            "ttlSeconds": grant.ttl_seconds,
        }
    return result


def check_policy(
    path: str,
    identities: list[tuple[str, dict[str, Any]]],
    *,
    ceiling: int,
    reserved: frozenset[str],
    auth_mode: str,
    groups_claim: str,
) -> dict[str, Any]:
    document = read_json(path, "policy file")
    size = len(json.dumps(document, separators=(",", ":")).encode())
    report: dict[str, Any] = {
        "file": path,
        "compact_bytes": size,
        "problems": problems_of(document, ceiling, reserved),
    }
    notes = []
    if size > ENVIRONMENT_LIMIT_BYTES // 2:
        notes.append(
            f"{size} bytes compacted: Lambda allows 4 KB for all environment variables together; "
            "serve it from SSM Parameter Store or AppConfig (VendingPolicySource, see vendor/README.md)"
        )
    if isinstance(document, dict) and document.get("rules") == []:
        notes.append("no rules: every caller is refused (403)")
    report["notes"] = notes
    if report["problems"]:
        report["valid"] = False
        return report
    report["valid"] = True
    policy = Policy.from_json(document, ceiling, reserved_caches=reserved)
    if not identities:
        identities = [
            (f"sample for rule {rule.get('name', f'rule-{i}')!r}", sample_claims(rule, groups_claim))
            for i, rule in enumerate(document["rules"])
        ]
    report["identities"] = [
        {"as": label, "claims": claims, **granted(policy, claims, auth_mode, groups_claim)}
        for label, claims in identities
    ]
    return report
