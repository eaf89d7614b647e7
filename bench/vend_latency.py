"""Vend latency, in process: the real handler path (event -> resolver -> policy -> cache/mint -> JSON).

Runs against moto's Secrets Manager server and the local Momento server on 127.0.0.1 and prints
median and p95 for a cached token (memory hit), an uncached one (a mint on every request) and a
token a new container finds in the shared Momento cache (including its first key load).
Numbers, not assertions. Logging is turned down to errors so that printing does not dominate.

    .venv/bin/python bench/vend_latency.py [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "ERROR")
logging.getLogger("werkzeug").setLevel(logging.ERROR)

from local.stack import LocalStack  # noqa: E402
from shared.momento_access import SdkMomentoAccess  # noqa: E402
from vendor.app import build_app  # noqa: E402
from vendor.settings import VendorSettings  # noqa: E402
from vendor.wiring import build_vendor, secrets_manager_client  # noqa: E402

EVENTS = ROOT / "events" / "vendor"
SECRET_ID = "momento/master-key"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(name: str, samples: list[float]) -> None:
    ms = [s * 1000 for s in samples]
    print(
        f"{name:<44} n={len(ms):<5} median={statistics.median(ms):7.3f} ms"
        f"  p95={percentile(ms, 0.95):7.3f} ms  max={max(ms):7.3f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    event: dict[str, Any] = json.loads((EVENTS / "get-token-jwt.json").read_text())
    policy = (EVENTS / "policy.json").read_text()
    closers: list[SdkMomentoAccess] = []

    with LocalStack() as stack:
        stack.momento.set_quota(None)
        for cache in ("tenant-acme", "public", "keyguard-tokens"):
            stack.momento.create_cache(cache)
        sm = stack.secretsmanager_client()
        sm.create_secret(Name="bench/token-cache-key", SecretString="bench-" + "k" * 58)
        sm.create_secret(
            Name=SECRET_ID, SecretString=json.dumps(stack.momento.mint_master_key().console_json())
        )

        def app(**env: str) -> Any:
            settings = VendorSettings.from_environ(
                {
                    **stack.env(),
                    "SECRET_ID": SECRET_ID,
                    "SHARED_TOKEN_CACHE_KEY_SECRET_ID": "bench/token-cache-key",
                    "AUTH_MODE": "jwt",
                    "VENDING_POLICY": policy,
                    **env,
                }
            )
            access = SdkMomentoAccess(settings.common)
            closers.append(access)
            vendor = build_vendor(settings, access=access, secrets_manager=secrets_manager_client(settings))
            return build_app(settings, vendor)

        def timed(resolver: Any) -> float:
            start = time.perf_counter()
            response = resolver.resolve(event, None)
            elapsed = time.perf_counter() - start
            if response["statusCode"] != 200:
                raise SystemExit(f"vend failed: {response['body']}")
            return elapsed

        print(f"vend latency, in process, loopback; {args.requests} requests each")
        cold = [timed(app()) for _ in range(5)]
        report("first request of a container (key load+mint)", cold)

        uncached = app(TOKEN_REUSE_FRACTION="0")
        timed(uncached)
        report("uncached (mint every request)", [timed(uncached) for _ in range(args.requests)])

        checking = app(TOKEN_REUSE_FRACTION="0", VERSION_CHECK_INTERVAL_SECONDS="0")
        timed(checking)
        report("uncached + DescribeSecret every request", [timed(checking) for _ in range(args.requests)])

        cached = app()
        timed(cached)
        report("cached (memory hit)", [timed(cached) for _ in range(args.requests)])

        app(SHARED_TOKEN_CACHE_NAME="keyguard-tokens").resolve(event, None)
        shared_samples = []
        for _ in range(min(args.requests, 50)):
            shared_samples.append(timed(app(SHARED_TOKEN_CACHE_NAME="keyguard-tokens")))
        report("new container: key load + shared cache hit", shared_samples)
        for access in closers:
            access.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
