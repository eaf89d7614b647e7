"""The vend hot path through the real handler, beside its baselines, in one process.

    .venv/bin/python bench/hot_path.py [--requests 2000] [--json out.json]

Out of process: moto's Secrets Manager and the local Momento server (`bench/stack_process.py`,
quota off). In process: `vendor.app.handler` as Lambda calls it (jwt mode, INFO logging to a
sink, metrics and the audit line on, tracing disabled as deployed by default), and:

* cached vend (a memory hit) against seed 001's TVM (`bench/baselines/seed_tvm.py`: a Momento
  cache get per request), interleaved request by request; then the product's vend back to back
  (the interleaved figure is the target's; on this VM anything between two vends, even a 1 ms
  spin loop, roughly doubles the next one: cold caches);
* uncached vend (a caller seen for the first time: policy, mint, cache insert) against the bare
  SDK call `AuthClient.generate_disposable_token` on a warm client with the same scope, interleaved;
* cached vends per CPU-second (`time.process_time`, every thread of this process, so the SDK's
  gRPC threads count against the seed) in alternating blocks.

Prints numbers; asserts nothing about time.
"""

from __future__ import annotations

import gc
import os
import sys
import time
import timeit
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import BenchStack, Result, jwt_event, parser, quiet_stdout, say  # noqa: E402


@dataclass(frozen=True)
class Context:
    """What Powertools reads from Lambda's context object."""

    function_name: str = "VendorFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:VendorFunction"
    aws_request_id: str = "bench"


def _timed(call: Any, *args: Any) -> float:
    start = time.perf_counter()
    response = call(*args)
    elapsed = (time.perf_counter() - start) * 1e6
    if response["statusCode"] != 200:
        raise SystemExit(f"vend failed: {response.get('body')}")
    return elapsed


def _new_caller(template: dict[str, Any]) -> dict[str, Any]:
    event = {**template, "requestContext": {**template["requestContext"]}}
    claims = dict(template["requestContext"]["authorizer"]["jwt"]["claims"])
    claims["sub"] = str(uuid.uuid4())
    event["requestContext"]["authorizer"] = {"jwt": {"claims": claims}}
    return event


def main() -> int:
    args_parser = parser(__doc__)
    args_parser.add_argument("--requests", type=int, default=2000)
    args = args_parser.parse_args()
    n = args.requests
    result = Result("hot_path")
    with BenchStack() as stack:
        os.environ.update(stack.vendor_env())
        import vendor.app
        from bench.baselines.seed_tvm import SeedTvm

        quiet_stdout()
        context = Context()
        event = jwt_event()
        handler = vendor.app.handler
        _timed(handler, event, context)  # container warm: key loaded, token minted
        seed = SeedTvm(
            os.environ["SECRET_ID"],
            stack.env["SECRETS_MANAGER_ENDPOINT_URL"],
            stack.env["MOMENTO_LOCAL_ENDPOINT"],
        )
        _timed(seed.handler, event)  # minted and stored in the pizza cache

        say(f"hot path, {n} requests per series, cpus={os.cpu_count()}")
        gc.collect()
        product: list[float] = []
        baseline: list[float] = []
        for _ in range(n):
            product.append(_timed(handler, event, context))
            baseline.append(_timed(seed.handler, event))
        result.series("cached vend (handler, memory hit)", product)
        result.series("seed-001 TVM cached (Momento cache get)", baseline)
        # The same vend back to back, nothing between: what a busy container's repeat costs when
        # its caches are warm (between two seed calls every Python step runs with cold caches).
        alone = [_timed(handler, event, context) for _ in range(n)]
        result.series("cached vend back to back (handler, memory hit)", alone)

        # Uncached: a new caller per request, against the bare SDK mint of the same grant.
        from momento import AuthClient
        from momento.auth.access_control.disposable_token_scope import DisposableTokenProps
        from momento.config.auth_configurations import AuthConfigurations
        from momento.utilities import ExpiresIn

        from local.momento.sdk import credential_provider_for_address
        from shared.momento_scopes import scope_for
        from shared.permissions import permissions_from_json

        auth = AuthClient(
            AuthConfigurations.Lambda.latest(),
            credential_provider_for_address(stack.master["apiKey"], stack.env["MOMENTO_LOCAL_ENDPOINT"]),
        )
        sub = "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c"
        scope = scope_for(
            permissions_from_json(
                [
                    {"cache": "tenant-acme", "role": "read_only"},
                    {"cache": "tenant-acme", "keyPrefix": f"user-{sub}-", "role": "read_write"},
                ]
            )
        )
        props = DisposableTokenProps(token_id=sub)

        def bare() -> dict[str, Any]:
            auth.generate_disposable_token(scope, ExpiresIn.seconds(3600), props)
            return {"statusCode": 200}

        bare()
        uncached_n = max(200, n // 4)
        events = [_new_caller(event) for _ in range(uncached_n)]
        product, baseline = [], []
        for fresh in events:
            product.append(_timed(handler, fresh, context))
            baseline.append(_timed(bare))
        result.series("uncached vend (handler, new caller, mint)", product)
        result.series("bare SDK generate_disposable_token (warm)", baseline)
        auth.close()

        # Throughput per CPU-second: alternating blocks, summed.
        cpu = {"product": 0.0, "seed": 0.0}
        block = max(100, n // 10)
        for _ in range(5):
            start = time.process_time()
            for _ in range(block):
                handler(event, context)
            cpu["product"] += time.process_time() - start
            start = time.process_time()
            for _ in range(block):
                seed.handler(event)
            cpu["seed"] += time.process_time() - start
        result.add("cached vends per CPU-second (product)", 5 * block / cpu["product"], "/CPU-s")
        reference = min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000 * 1e6
        result.add("machine reference: sum(range(1000))", reference, "µs")
        result.add("cached vends per CPU-second (seed-001 TVM)", 5 * block / cpu["seed"], "/CPU-s")
        seed.close()
    result.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
