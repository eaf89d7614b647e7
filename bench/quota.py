"""Momento's auth quota as a shared resource (issue 13): the figures on the local stack, quota 5/s.

Four vendor processes (the real handler each, `local.vendor_fleet`) share one local stack (moto's
Secrets Manager + the local Momento server with its 5/s auth quota) and the shared token cache.
Clients are well behaved: on 429 they wait `Retry-After` and try again. Printed as a markdown
section next to the figures measured before this change (issue 13's text, same stack); with
`--write` the section also replaces the `## Auth quota` section of bench/results.md.

    .venv/bin/python bench/quota.py [--processes 4] [--shared-callers 200] [--per-caller 60] [--write]
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from local.stack import LocalStack  # noqa: E402
from local.vendor_fleet import Answer, VendorFleet, request_token  # noqa: E402

SECRET_ID = "bench/master-key"
CACHE_KEY_SECRET_ID = "bench/token-cache-key"
CACHE = "keyguard-tokens"
PIZZA = [{"cache": "public", "topic": "*", "role": "subscribe_only"}]
POLICY = {
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
        {"name": "pizza tracker", "shared": True, "allow": PIZZA, "maxTtlSeconds": 3600},
    ]
}
SECTION = "## Auth quota"
FIRST = "time until every caller holds a token"
#: Issue 13's figures for per-caller grants before the change: one mint per caller at 5/s.
PER_CALLER_BEFORE = {
    FIRST: "one mint per caller at 5/s (41 s for 200)",
    "mints per second while filling": "5 (the whole quota; rotations throttled)",
}


def claims(sub: str, tenant: str = "acme") -> dict[str, Any]:
    return {"sub": sub, "tenant": tenant, "cognito:groups": "[members]"}


@dataclass
class Tally:
    """What the callers saw: when each got its token, and every 429 with its time."""

    start: float = field(default_factory=time.monotonic)
    served_at: list[float] = field(default_factory=list)
    throttled_at: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def until_served(self, url: str, who: dict[str, Any], body: dict[str, Any] | None = None) -> Answer:
        while True:
            answer = request_token(url, who, body)
            now = time.monotonic() - self.start
            with self.lock:
                (self.throttled_at if answer.status == 429 else self.served_at).append(now)
            if answer.status != 429:
                return answer
            # Retry-After is a minimum; clients add jitter so retries do not arrive in waves.
            time.sleep((answer.retry_after or 1) * random.uniform(1.0, 1.5))


class Bench:
    def __init__(self, stack: LocalStack, fleet: VendorFleet) -> None:
        self.stack = stack
        self.fleet = fleet

    def mints(self, token_id: str | None = None) -> int:
        tokens = self.stack.momento.state.credentials.disposable_tokens()
        return len([t for t in tokens if token_id is None or t.token_id == token_id])

    def rest(self) -> None:
        time.sleep(1.5)  # Momento's bucket full again between scenarios

    def rotation_during(self, work: Callable[[], None], delay: float = 1.0) -> tuple[Any, float]:
        """Run `work`, and one forced rotation (the rotator's code) `delay` seconds into it."""
        from rotator.engine import Rotation
        from rotator.secret_store import SecretStore
        from rotator.settings import RotatorSettings
        from shared.momento_access import SdkMomentoAccess

        settings = RotatorSettings.read({**self.stack.env(), "SECRET_IDS": SECRET_ID})
        outcome: dict[str, Any] = {}
        with SdkMomentoAccess(settings.common) as momento:

            def rotate() -> None:
                time.sleep(delay)
                store = SecretStore(self.stack.secretsmanager_client(), SECRET_ID)
                began = time.monotonic()
                try:
                    outcome["result"] = Rotation(store, momento, settings, time.time).run(force=True)
                except Exception as exc:  # reported, not raised: the figure is the point
                    outcome["result"] = exc
                outcome["seconds"] = time.monotonic() - began

            thread = threading.Thread(target=rotate)
            thread.start()
            work()
            thread.join()
        return outcome["result"], outcome["seconds"]


def describe(result: Any) -> str:
    outcome = getattr(result, "outcome", None)
    if outcome is not None:
        error = getattr(result, "error", None)
        return f"{outcome.value}" + (f" ({error})" if error else "")
    return f"raised {type(result).__name__}: {result}"


def shared_burst(bench: Bench, callers: int) -> dict[str, str]:
    urls = bench.fleet.urls
    before = bench.mints()
    tally = Tally()
    with ThreadPoolExecutor(max_workers=min(callers, 100)) as pool:
        answers = list(
            pool.map(
                lambda i: tally.until_served(
                    urls[i % len(urls)], claims(f"browser-{i}"), {"permissions": PIZZA}
                ),
                range(callers),
            )
        )
    tokens = {a.body.get("authToken") for a in answers if a.status == 200}
    mints = bench.mints() - before
    again = Tally()
    with ThreadPoolExecutor(max_workers=min(callers, 100)) as pool:
        list(
            pool.map(
                lambda i: again.until_served(
                    urls[i % len(urls)], claims(f"browser-{i}"), {"permissions": PIZZA}
                ),
                range(callers),
            )
        )
    return {
        "time until every caller holds a token": f"{max(tally.served_at):.2f} s",
        "the same burst again, every token from memory (serving floor)": f"{max(again.served_at):.2f} s",
        "429s reaching callers": str(len(tally.throttled_at)),
        "mints": str(mints),
        "distinct tokens handed out": str(len(tokens)),
    }


def per_caller(bench: Bench, callers: int, steady_seconds: float) -> tuple[dict[str, str], str]:
    urls = bench.fleet.urls
    before = bench.mints()
    tally = Tally()

    def fill() -> None:
        with ThreadPoolExecutor(max_workers=min(callers, 60)) as pool:
            list(
                pool.map(
                    lambda i: tally.until_served(urls[i % len(urls)], claims(f"user-{i}")), range(callers)
                )
            )

    rotation, rotation_seconds = bench.rotation_during(fill, delay=2.0)
    filled_at = max(tally.served_at)
    fill_mints = bench.mints() - before
    # Steady state: everyone asks again and again for `steady_seconds`.
    steady = Tally()
    stop = time.monotonic() + steady_seconds
    mints_before_steady = bench.mints()

    def keep_asking(i: int) -> int:
        n = 0
        while time.monotonic() < stop:
            steady.until_served(urls[i % len(urls)], claims(f"user-{i}"))
            n += 1
        return n

    with ThreadPoolExecutor(max_workers=min(callers, 32)) as pool:
        list(pool.map(keep_asking, range(min(callers, 32))))
    late_429s = [t for t in tally.throttled_at if t > filled_at]
    figures = {
        "time until every caller holds a token": f"{filled_at:.1f} s",
        "mints per second while filling": f"{fill_mints / filled_at:.2f}",
        "429s while filling (callers retry after Retry-After)": str(len(tally.throttled_at)),
        "429s after everyone holds a token": str(len(late_429s) + len(steady.throttled_at)),
        "served per second at steady state": f"{len(steady.served_at) / steady_seconds:.0f}",
        "mints per second at steady state": f"{(bench.mints() - mints_before_steady) / steady_seconds:.2f}",
    }
    return figures, f"{describe(rotation)} in {rotation_seconds:.2f} s"


def issue_attack(bench: Bench, requests: int) -> dict[str, str]:
    """The issue's attack as written: POSTs differing only in `ttlSeconds` (3000, 3001, ...)."""
    url = bench.fleet.urls[0]
    answers = [request_token(url, claims("eve"), {"ttlSeconds": 3000 + i}) for i in range(requests)]
    return {
        "served": f"{sum(a.status == 200 for a in answers)} of {requests}",
        "mints": str(bench.mints("eve")),
    }


def drain(bench: Bench, seconds: float) -> tuple[dict[str, str], str]:
    """The strongest drain one caller has: every request a distinct lifetime and alternating parts."""
    urls = bench.fleet.urls
    attacker: list[tuple[float, int, str | None]] = []
    other: dict[str, Answer] = {}
    stop = threading.Event()
    start = time.monotonic()
    topic = [{"cache": "tenant-acme", "topic": "orders-mallory", "role": "publish_subscribe"}]

    def attack(worker: int) -> None:
        i = worker
        while not stop.is_set():
            ask: dict[str, Any] = {"ttlSeconds": 60 + (i * 37) % 3541}
            if i % 2:
                ask["permissions"] = topic
            answer = request_token(urls[i % len(urls)], claims("mallory"), ask)
            attacker.append((time.monotonic() - start, answer.status, answer.body.get("error")))
            i += 4

    def attack_and_probe() -> None:
        threads = [threading.Thread(target=attack, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        time.sleep(seconds / 2)
        other["get"] = request_token(urls[0], claims("globex-user", "globex"))
        time.sleep(seconds / 2)
        stop.set()
        for t in threads:
            t.join()

    rotation, rotation_seconds = bench.rotation_during(attack_and_probe, delay=seconds / 4)
    refused = [a for a in attacker if a[1] == 429]
    budget = [a for a in refused if a[2] == "mint_budget_exceeded"]
    figures = {
        "other tenant's GET": str(other["get"].status),
        "attacker requests": str(len(attacker)),
        "attacker served (its own tokens reused)": str(sum(a[1] == 200 for a in attacker)),
        "attacker mints": str(bench.mints("mallory")),
        "attacker 429 mint_budget_exceeded": str(len(budget)),
        "first of them after": f"{budget[0][0]:.2f} s" if budget else "never",
        "attacker 429 auth_quota_reserved": str(sum(a[2] == "auth_quota_reserved" for a in refused)),
    }
    return figures, f"{describe(rotation)} in {rotation_seconds:.2f} s"


def table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| figure | before (issue 13, same stack) | now |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--shared-callers", type=int, default=200)
    parser.add_argument("--per-caller", type=int, default=60)
    parser.add_argument("--steady-seconds", type=float, default=5.0)
    parser.add_argument("--drain-seconds", type=float, default=6.0)
    parser.add_argument("--write", action="store_true", help="replace the section in bench/results.md")
    args = parser.parse_args()

    with LocalStack() as stack, tempfile.TemporaryDirectory() as logs:
        stack.momento.set_quota(5)
        for cache in ("tenant-acme", "tenant-globex", "public", CACHE):
            stack.momento.create_cache(cache)
        stack.secretsmanager_client().create_secret(
            Name=SECRET_ID, SecretString=json.dumps(stack.momento.mint_master_key().console_json())
        )
        stack.secretsmanager_client().create_secret(
            Name=CACHE_KEY_SECRET_ID, SecretString=secrets.token_urlsafe(48)
        )
        env = {
            **stack.env(),
            "SECRET_ID": SECRET_ID,
            "AUTH_MODE": "jwt",
            "VENDING_POLICY": json.dumps(POLICY),
            "SHARED_TOKEN_CACHE_NAME": CACHE,
            "SHARED_TOKEN_CACHE_KEY_SECRET_ID": CACHE_KEY_SECRET_ID,
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        }
        with VendorFleet(env, args.processes, Path(logs)) as fleet:
            bench = Bench(stack, fleet)
            for i, url in enumerate(fleet.urls):  # every process has loaded the key
                warm = Tally().until_served(url, claims(f"warmup-{i}"))
                if warm.status != 200:
                    raise SystemExit(f"the vendor does not vend: {warm.status} {warm.body}")
            bench.rest()
            shared = shared_burst(bench, args.shared_callers)
            bench.rest()
            caller, caller_rotation = per_caller(bench, args.per_caller, args.steady_seconds)
            bench.rest()
            issue = issue_attack(bench, 25)
            bench.rest()
            drained, drain_rotation = drain(bench, args.drain_seconds)

    n = args.shared_callers
    out = [
        SECTION,
        "",
        f"Local stack, Momento auth quota 5/s (burst 5), {args.processes} vendor processes (the real",
        "handler each, `local/vendor_fleet.py`), shared token cache configured, default budgets",
        "(5 mints / 60 s per principal; vendors 3/s, 2/s reserved for the rotator). Clients retry",
        "after `Retry-After` (plus jitter). The 2-CPU machine is shared, so serving times are noisy;",
        "counts are not. Produced by `bench/quota.py --write`; before = issue 13's measurement.",
        "",
        f"### {n} distinct callers of a shared rule at once",
        "",
        table(
            [
                ("time until every caller holds a token", "41 s (200 mints at 5/s)", shared.pop(FIRST)),
                *[(k, "", v) for k, v in list(shared.items())[:1]],
                ("429s reaching callers", "each caller past the quota", shared["429s reaching callers"]),
                ("mints", "200", shared["mints"]),
                ("distinct tokens handed out", "200", shared["distinct tokens handed out"]),
            ]
        ),
        "",
        f"### {args.per_caller} distinct callers of per-caller rules at once (a rotation forced 2 s in)",
        "",
        table([(k, PER_CALLER_BEFORE.get(k, ""), v) for k, v in caller.items()]),
        "",
        "### Drain attempts",
        "",
        table(
            [
                (
                    "issue's attack: 25 POSTs with ttlSeconds 3000, 3001, ...",
                    "5 served, 20 got 429",
                    f"{issue['served']} served, {issue['mints']} mint",
                ),
                (
                    "strongest attack (distinct lifetimes, both token parts), other tenant's GET",
                    "429 on its first GET",
                    drained.pop("other tenant's GET"),
                ),
                *[(f"strongest attack: {k}", "", v) for k, v in drained.items()],
            ]
        ),
        "",
        "### A forced rotation during the load (`rotator.engine.Rotation`, without issue 11's quota retry)",
        "",
        table(
            [
                ("during the per-caller burst", "throttled (LIMIT_EXCEEDED)", caller_rotation),
                ("during the strongest drain attempt", "throttled (LIMIT_EXCEEDED)", drain_rotation),
            ]
        ),
        "",
    ]
    text = "\n".join(out)
    print(text)
    if args.write:
        write_section(ROOT / "bench" / "results.md", text)
    return 0


def write_section(path: Path, section: str) -> None:
    """Replace (or append) this script's section of bench/results.md, leaving the others alone."""
    existing = path.read_text() if path.exists() else "# Benchmark results\n"
    start = existing.find(SECTION + "\n")
    if start < 0:
        updated = existing.rstrip("\n") + "\n\n" + section
    else:
        end = existing.find("\n## ", start + len(SECTION))
        updated = existing[:start] + section.rstrip("\n") + "\n" + (existing[end:] if end >= 0 else "")
    path.write_text(updated.rstrip("\n") + "\n")


if __name__ == "__main__":
    sys.exit(main())
