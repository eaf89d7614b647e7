"""The local stack in its own process, so the benchmark process's CPU time is the client's alone.

    python bench/stack_process.py

Starts moto's Secrets Manager and the local Momento server (auth quota off, so back-to-back mints
are not throttled), creates the benchmark's caches, stores a v1 master key as `SECRET_ID`, prints
one JSON line (the environment for the product's code plus the key's console JSON) and runs until
its standard input closes. `bench.common.BenchStack` starts and stops it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from local.momento.server import ServerConfig  # noqa: E402
from local.stack import LocalStack  # noqa: E402

SECRET_ID = "bench/master-key"
CACHES = ("tenant-acme", "public", "orders", "pizza", "keyguard-tokens")


def main() -> int:
    with LocalStack(momento=ServerConfig(quota_rate=None)) as stack:
        for cache in CACHES:
            stack.momento.create_cache(cache)
        master = stack.momento.mint_master_key()
        spare = stack.momento.mint_master_key()
        stack.secretsmanager_client().create_secret(
            Name=SECRET_ID, SecretString=json.dumps(master.console_json())
        )
        print(
            json.dumps(
                {
                    "env": {**stack.env(), "SECRET_ID": SECRET_ID},
                    "master": master.console_json(),
                    "spare": spare.console_json(),
                }
            ),
            flush=True,
        )
        sys.stdin.read()  # until the parent closes the pipe (or exits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
