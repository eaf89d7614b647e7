"""Human-readable renderings of the reports (`--json` prints the reports themselves)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def when(epoch: Any, now: float) -> str:
    """`2026-12-01 21:30 UTC (in 3.2 h)`; `-` for unknown."""
    if not isinstance(epoch, int | float) or isinstance(epoch, bool) or epoch <= 0:
        return "-"
    stamp = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    delta = (epoch - now) / 3600
    relative = f"in {delta:.1f} h" if delta >= 0 else f"{-delta:.1f} h ago"
    return f"{stamp} ({relative})"


def _status(report: dict[str, Any], now: float) -> list[str]:
    lines: list[str] = []
    for secret in report["secrets"]:
        lines.append(f"secret {secret['secret_id']}")
        if secret.get("error"):
            lines.append(f"  error: {secret['error']}: {secret['message']}")
            lines.append("")
            continue
        key = secret.get("key")
        if key:
            expiry = "never" if key["expires_at"] is None else when(key["expires_at"], now)
            left = "" if key["hours_left"] is None else f", {key['hours_left']:.1f} h left"
            lines.append(f"  key: {key['kind']} ({key['shape']} shape), expires {expiry}{left}")
            if key["key_id"]:
                lines.append(f"       key id {key['key_id']}, role {key['role_id'] or '-'}")
        check = secret.get("key_check")
        if check:
            lines.append(
                f"  key check: {'works (minted a one-minute token)' if check['works'] else check['error']}"
            )
        rotation = secret.get("rotation")
        if rotation:
            how = " then ".join(rotation["strategies"]) or "nothing: it cannot rotate (see PROBLEM)"
            lines.append(
                f"  next rotation: {'due' if rotation['due'] else 'not due'} "
                f"({rotation['reason']}); via {how}"
            )
        lines.append("  versions:")
        for stage, version in secret["versions"].items():
            if version is None:
                lines.append(f"    {stage:<12} -")
            else:
                lines.append(
                    f"    {stage:<12} {version['version_id']}  created {when(version['created_at'], now)}"
                )
        claim = secret.get("claim")
        if claim is None:
            lines.append("  claim: none")
        elif claim["state"] == "released":
            lines.append(
                f"  claim: given back by run {claim['run_id']} (nothing issued; the next run goes ahead)"
            )
        else:
            lines.append(
                f"  claim: {claim['state']} by run {claim['run_id']} (generation {claim['generation']}), "
                f"claimed {when(claim['claimed_at'], now)}, lease ends {when(claim['lease_ends_at'], now)}"
            )
        revoke = secret.get("pending_revoke")
        if revoke:
            if revoke["state"] == "no_key_id":
                lines.append(
                    f"  pending revoke: AWSPREVIOUS {revoke['version_id']} has no keyId (revoke by hand)"
                )
            else:
                since = "" if revoke["grace_from_recorded"] else " (promotion not recorded yet: at least)"
                lines.append(
                    f"  pending revoke: v2 key {revoke['key_id']} (AWSPREVIOUS), {revoke['state']}, "
                    f"revoked from {when(revoke['due_at'], now)}{since}"
                )
        elif secret.get("previous_revoked"):
            lines.append("  pending revoke: none (AWSPREVIOUS is revoked)")
        orphans = secret.get("orphans")
        if orphans is None and key and key["generation"] == "v1":
            lines.append("  orphans: not checked (v1 keys cannot be listed or revoked)")
        elif orphans is None:
            lines.append("  orphans: not checked")
        elif not orphans:
            lines.append("  orphans: none")
        else:
            lines.append(f"  orphans: {len(orphans)} live v2 key(s) no stage holds:")
            lines.extend(f"    {o['key_id']}  ({o['description']})" for o in orphans)
        last = secret.get("last_rotation") or {}
        at = f" at {when(last['at'], now)}" if last.get("at") else ""
        lines.append(f"  last rotation: {last.get('outcome')}{at}: {last.get('detail')}")
        lines.extend(f"  PROBLEM: {p}" for p in secret.get("problems") or [])
        lines.append("")
    recent = report.get("rotator_metrics")
    if recent and recent.get("error"):
        lines.append(f"rotator metrics ({recent['namespace']}): not read: {recent['error']}")
    elif recent:
        lines.append(
            f"rotator runs, last {recent['days']} days (all secrets; CloudWatch {recent['namespace']}):"
        )
        for name, seen in recent["outcomes"].items():
            last = f", last in the hour from {when(seen['last_hour'], now)}" if seen["last_hour"] else ""
            lines.append(f"  {name}: {seen['count']}{last}")
    return lines


def _rotate(report: dict[str, Any], _now: float) -> list[str]:
    lines = []
    for result in report["results"]:
        why = result.get("reason") or result.get("error_code")
        line = f"{result.get('secret_id')}: {result.get('outcome')} ({why})"
        if result.get("strategy"):
            line += f" via {result['strategy']}"
        if result.get("current_version_id"):
            line += f"; AWSCURRENT {result['current_version_id']}"
        if result.get("error"):
            line += f"\n  error: {result.get('error_code')}: {result['error']}"
        lines.append(line)
    return lines


def _rollback(report: dict[str, Any], now: float) -> list[str]:
    done = report["applied"]
    head = "rolled back" if done else "DRY RUN (nothing changed; add --yes to roll back)"
    restored = report["restored_key"]
    lines = [
        f"{report['secret_id']}: {head}",
        f"  AWSCURRENT {report['from_version']} -> {report['to_version']}",
        f"  AWSPREVIOUS -> {report['from_version']} (the key rolled back from)",
        f"  restored key: {restored['kind']}, expires "
        + ("never" if restored["expires_at"] is None else when(restored["expires_at"], now)),
    ]
    lines.extend(f"  note: {w}" for w in report["warnings"])
    return lines


def _policy(report: dict[str, Any], _now: float) -> list[str]:
    lines = [
        f"{report['file']}: {'valid' if report['valid'] else 'INVALID'} "
        f"({report['compact_bytes']} bytes compacted)"
    ]
    lines.extend(f"  problem: {p}" for p in report["problems"])
    lines.extend(f"  note: {n}" for n in report["notes"])
    for identity in report.get("identities", []):
        lines.append(f"  {identity['as']}: principal {identity['principal']}")
        grants = identity.get("get_grants")
        if grants:
            lines.append(f"    GET /token grants ({grants['ttlSeconds']} s):")
            lines.extend(f"      {json.dumps(p, sort_keys=True)}" for p in grants["permissions"])
        if identity.get("refused"):
            lines.append(f"    refused: {identity['refused']}")
        extra = [
            p for p in identity.get("may_request", []) if not grants or _strip(p) not in grants["permissions"]
        ]
        if extra:
            lines.append("    may also POST for:")
            lines.extend(f"      {json.dumps(p, sort_keys=True)}" for p in extra)
    return lines


def _strip(permission: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in permission.items() if k != "maxTtlSeconds"}


def _vend(report: dict[str, Any], now: float) -> list[str]:
    if report["outcome"] != "vended":
        return [f"{report['outcome']} ({report['status']}): {report.get('error')}: {report.get('message')}"]
    lines = [
        f"vended token {report['tokenId']} (endpoint {report['endpoint']}), "
        f"expires {when(report['expiresAt'], now)}"
    ]
    lines.extend(f"  {json.dumps(p, sort_keys=True)}" for p in report.get("permissions") or [])
    return lines


_RENDERERS = {"status": _status, "rotate": _rotate, "rollback": _rollback, "policy": _policy, "vend": _vend}


def human(command: str, report: dict[str, Any], now: float) -> str:
    return "\n".join(_RENDERERS[command](report, now)).rstrip()
