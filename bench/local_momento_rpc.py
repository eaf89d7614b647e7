"""Disposable-token RPCs per second from one local Momento server process, driven by the real SDK.

    python bench/local_momento_rpc.py [--processes 2] [--threads 8] [--seconds 5]

Starts `python -m local.momento --quota off` (one server process), then client processes, each
with a few threads and one `AuthClient` per thread, calling `generate_disposable_token` over
loopback for a fixed time. Prints the total rate. A number, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _client(address: str, api_key: str, threads: int, start_at: float, seconds: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from momento import AuthClient
    from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes
    from momento.config.auth_configurations import AuthConfigurations
    from momento.responses import GenerateDisposableToken
    from momento.utilities import ExpiresIn

    from local.momento.sdk import credential_provider_for_address

    ok = [0] * threads
    failed = [0] * threads
    scope = DisposableTokenScopes.cache_key_read_write("orders", "user-42")
    expires = ExpiresIn.minutes(15)

    def run(i: int) -> None:
        client = AuthClient(
            AuthConfigurations.Laptop.latest(), credential_provider_for_address(api_key, address)
        )
        client.generate_disposable_token(scope, expires)  # warm the channel
        while time.time() < start_at:
            time.sleep(0.001)
        stop_at = start_at + seconds
        while time.time() < stop_at:
            resp = client.generate_disposable_token(scope, expires)
            if isinstance(resp, GenerateDisposableToken.Success):
                ok[i] += 1
            else:
                failed[i] += 1
        client.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put((sum(ok), sum(failed)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=8, help="threads (AuthClients) per client process")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    server = subprocess.Popen(
        [sys.executable, "-m", "local.momento", "--quota", "off", "--no-http", "--mint-v1", "-"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert server.stdout is not None
        address = json.loads(server.stdout.readline())["momento_local_endpoint"]
        api_key = json.loads(server.stdout.readline())["apiKey"]
        ctx = mp.get_context("spawn")
        out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        start_at = time.time() + 3.0  # every client warm and waiting
        procs = [
            ctx.Process(target=_client, args=(address, api_key, args.threads, start_at, args.seconds, out))
            for _ in range(args.processes)
        ]
        for p in procs:
            p.start()
        results = [out.get(timeout=args.seconds + 60) for _ in procs]
        for p in procs:
            p.join()
    finally:
        server.terminate()
        server.wait(timeout=10)
    ok = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    print(
        f"disposable-token RPCs/s: {ok / args.seconds:,.0f} "
        f"({args.processes} client processes x {args.threads} threads, one server process, "
        f"{args.seconds:g} s, {ok} ok, {failed} failed, cpus={os.cpu_count()})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
