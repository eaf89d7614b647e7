"""Secrets Manager traffic of one container for an hour, and how soon each design notices a rotation.

    .venv/bin/python bench/secrets_traffic.py [--request-every 1.0] [--json out.json]

A virtual hour: one vend every `--request-every` seconds of virtual time and one rotation (a new
AWSCURRENT written by another client) a little after minute 30, at four different offsets so no
design's period happens to line up with it. Twice: with the old key still accepted by Momento
(a v1 refresh leaves it valid), which gives the calls per hour and the time to notice; and with
the old key refused from the rotation on (a v2 rotation revokes it right after promotion), which
gives the failed vends. Every design reads the real moto
Secrets Manager server of `bench/stack_process.py` through its own boto3 client, whose calls are
counted with a botocore `before-call` hook; only the clock is virtual (the designs' `datetime.now`
/ `clock` read it), so an hour takes seconds.

Designs: the product's `MasterKeySource` (and its version hint, when the stack publishes one),
Powertools `SecretsProvider.get` with its default `max_age` (300 s) and with 30 s and 5 s, and
`aws-secretsmanager-caching`'s `SecretCache` with its defaults. For each: Secrets Manager calls in
the hour, seconds from the rotation to the first vend with the new key, and vends that would have
failed (served the refused key with nothing to fall back on; the product re-reads once and retries,
as `Vendor._mint` does, so its refused vends cost a call instead of failing).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import BenchStack, Result, parser, say  # noqa: E402
from shared.momento_types import MasterKey  # noqa: E402

HOUR = 3600.0
#: Rotations at minute 30 plus these offsets (s), so no design's period lines up with all of them.
ROTATION_OFFSETS = (0.5, 101.1, 229.7)
#: Virtual time starts now: the stored keys' `validUntil` (30 days ahead) must stay in the future.
EPOCH = float(int(time.time()))


class VirtualClock:
    def __init__(self) -> None:
        self.now = EPOCH

    def __call__(self) -> float:
        return self.now

    def datetime_class(self) -> type[datetime]:
        clock = self

        class VirtualDatetime(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Any:
                real = datetime.fromtimestamp(clock.now, tz or UTC)
                return real if tz is not None else real.replace(tzinfo=None)

        return VirtualDatetime


@dataclass
class Design:
    name: str
    #: Returns the SecretString it would vend with now.
    serve: Callable[[], str]
    #: Called when Momento refused that key; returns the one to retry with, or None (the vend fails).
    refused: Callable[[], str | None]
    #: What the rotator does after promoting `version_id` (publish the hint), if anything.
    rotated: Callable[[str], None] = lambda _version_id: None
    #: Momento calls this design made (hint reads and writes).
    momento_calls: Callable[[], int] = lambda: 0


def _counted_client(endpoint: str, counter: dict[str, int]) -> Any:
    import boto3

    client = boto3.client("secretsmanager", endpoint_url=endpoint)

    def count(**_: Any) -> None:
        counter["calls"] += 1

    client.meta.events.register("before-call.secretsmanager.*", count)
    return client


def run_design(
    build: Callable[[Any, VirtualClock], Design],
    stack: BenchStack,
    every: float,
    seed: int,
    rotate_at: float,
    revoked: bool,
) -> dict[str, Any]:
    import boto3

    random.seed(seed)
    endpoint = stack.env["SECRETS_MANAGER_ENDPOINT_URL"]
    secret_id = stack.env["SECRET_ID"]
    writer = boto3.client("secretsmanager", endpoint_url=endpoint)
    old, new = json.dumps(stack.master), json.dumps(stack.spare)
    writer.put_secret_value(SecretId=secret_id, SecretString=old)  # every design starts on `old`
    clock = VirtualClock()
    counter = {"calls": 0}
    _UNCOUNT.clear()
    design = build(_counted_client(endpoint, counter), clock)
    counter["calls"] -= sum(_UNCOUNT)
    rotated = False
    noticed: float | None = None
    failed = 0
    stale = 0
    step = 0
    while (t := step * every) < HOUR:
        clock.now = EPOCH + t
        step += 1
        if not rotated and t >= rotate_at:
            version = writer.put_secret_value(SecretId=secret_id, SecretString=new)["VersionId"]
            design.rotated(version)
            rotated = True
        served = design.serve()
        if revoked and rotated and served == old:
            retry = design.refused()
            if retry is None or retry == old:
                failed += 1
                continue
            served = retry
        if rotated and served == old:
            stale += 1
        if rotated and noticed is None and served == new:
            noticed = t - rotate_at
    return {
        "calls": counter["calls"],
        "noticed_s": noticed,
        "failed": failed,
        "stale_vends": stale,
        "momento_calls": design.momento_calls(),
    }


def product_with_hint(stack: BenchStack) -> Callable[[Any, VirtualClock], Design]:
    """The deployed design: the rotator publishes the version hint in the shared Momento cache."""

    def build(client: Any, clock: VirtualClock) -> Design:
        from shared.config import CommonSettings, Env
        from shared.momento_access import SdkMomentoAccess
        from shared.version_hint import HINT_TTL_SECONDS, hint_item_key
        from vendor.master_key import MasterKeySource, parse_with_secret_format
        from vendor.wiring import MomentoVersionHint

        access = SdkMomentoAccess(CommonSettings.read(Env(stack.env)))
        _ACCESS.append(access)
        by_key = {
            stack.master["apiKey"]: json.dumps(stack.master),
            stack.spare["apiKey"]: json.dumps(stack.spare),
        }
        calls = {"n": 0}

        class Counted(MomentoVersionHint):
            def read(self, key: MasterKey, secret_arn: str) -> str | None:
                calls["n"] += 1
                return super().read(key, secret_arn)

            def write(self, key: MasterKey, secret_arn: str, version_id: str) -> None:
                calls["n"] += 1
                super().write(key, secret_arn, version_id)

        source = MasterKeySource(
            client,
            _SECRET_ID[0],
            30.0,
            parser=parse_with_secret_format,
            clock=clock,
            hint=Counted(access, "keyguard-tokens"),
        )
        arn = client.describe_secret(SecretId=_SECRET_ID[0])["ARN"]
        client_calls_before_start = 1  # the ARN lookup above is the harness's, not the design's

        def publish(version_id: str) -> None:  # what rotator/version_hint.py does after promotion
            new_key = MasterKey(api_key=stack.spare["apiKey"])
            access.cache_set(new_key, "keyguard-tokens", hint_item_key(arn), version_id, HINT_TTL_SECONDS)

        # The rotator published the first version's hint when it promoted it.
        first = MasterKey(api_key=stack.master["apiKey"])
        current = client.describe_secret(SecretId=_SECRET_ID[0])["VersionIdsToStages"]
        version = next(v for v, stages in current.items() if "AWSCURRENT" in stages)
        access.cache_set(first, "keyguard-tokens", hint_item_key(arn), version, HINT_TTL_SECONDS)
        _UNCOUNT.append(client_calls_before_start + 1)
        return Design(
            "product MasterKeySource + version hint (hint every 2 s, DescribeSecret every 15 min)",
            lambda: by_key[source.get().api_key],
            lambda: by_key[source.force_refresh().api_key],
            publish,
            lambda: calls["n"],
        )

    return build


#: SdkMomentoAccess objects to close at the end; harness-made calls not to count per design.
_ACCESS: list[Any] = []
_UNCOUNT: list[int] = []


def product(interval: float) -> Callable[[Any, VirtualClock], Design]:
    def build(client: Any, clock: VirtualClock) -> Design:
        from vendor.master_key import MasterKeySource

        source = MasterKeySource(client, _SECRET_ID[0], interval, parser=_whole_string, clock=clock)
        return Design(
            f"product MasterKeySource (DescribeSecret every {interval:g} s)",
            lambda: source.get().api_key,
            lambda: source.force_refresh().api_key,
        )

    return build


def _whole_string(_secret_id: str, text: str) -> tuple[MasterKey, int | None]:
    """The SecretString itself as the key, so the harness can tell versions apart."""
    return MasterKey(api_key=text), None


_SECRET_ID = [""]


def powertools(max_age: int | None) -> Callable[[Any, VirtualClock], Design]:
    def build(client: Any, clock: VirtualClock) -> Design:
        import aws_lambda_powertools.utilities.parameters.base as base
        from aws_lambda_powertools.utilities.parameters import SecretsProvider

        setattr(base, "datetime", clock.datetime_class())  # noqa: B010  (the virtual clock)
        provider = SecretsProvider(boto3_client=client)
        label = "default max_age (300 s)" if max_age is None else f"max_age={max_age}"
        return Design(
            f"Powertools get_secret, {label}",
            lambda: str(
                provider.get(_SECRET_ID[0]) if max_age is None else provider.get(_SECRET_ID[0], max_age)
            ),
            lambda: None,
        )

    return build


def secretsmanager_caching(client: Any, clock: VirtualClock) -> Design:
    import aws_secretsmanager_caching.cache.items as items  # type: ignore[import-untyped]
    from aws_secretsmanager_caching import SecretCache, SecretCacheConfig

    items.datetime = clock.datetime_class()  # the virtual clock
    cache = SecretCache(config=SecretCacheConfig(), client=client)
    return Design(
        "aws-secretsmanager-caching, defaults",
        lambda: str(cache.get_secret_string(_SECRET_ID[0])),
        lambda: None,
    )


def designs(stack: BenchStack) -> list[tuple[str, Callable[[Any, VirtualClock], Design], bool]]:
    """(key, builder, re-reads when Momento refuses the key)."""
    return [
        ("product", product_with_hint(stack), True),
        ("product_polling_only", product(30.0), True),
        ("powertools_300", powertools(None), False),
        ("powertools_30", powertools(30), False),
        ("powertools_5", powertools(5), False),
        ("secretsmanager_caching", secretsmanager_caching, False),
    ]


def main() -> int:
    args_parser = parser(__doc__)
    args_parser.add_argument("--request-every", type=float, default=1.0, help="virtual seconds between vends")
    args_parser.add_argument("--seed", type=int, default=15)
    args = args_parser.parse_args()
    result = Result("secrets_traffic")
    with BenchStack() as stack:
        os.environ.update(stack.env)
        _SECRET_ID[0] = stack.env["SECRET_ID"]
        say(
            f"Secrets Manager traffic, one container-hour, a vend every {args.request_every:g} s, "
            "rotation at 30 min"
        )
        for key, build, backstop in designs(stack):
            kept = [
                run_design(build, stack, args.request_every, args.seed, HOUR / 2 + o, revoked=False)
                for o in ROTATION_OFFSETS
            ]
            say(f"  {key}")
            calls = statistics.median(r["calls"] for r in kept)
            result.add(f"{key}: Secrets Manager calls per container-hour", calls, "calls")
            noticed = [HOUR if r["noticed_s"] is None else r["noticed_s"] for r in kept]
            result.add(f"{key}: rotation noticed after, worst of {len(noticed)}", max(noticed), "s")
            result.add(f"{key}: rotation noticed after, mean", statistics.mean(noticed), "s")
            if backstop:  # re-reads when Momento refuses the key: measure it with the key refused
                refused = [
                    run_design(build, stack, args.request_every, args.seed, HOUR / 2 + o, revoked=True)
                    for o in ROTATION_OFFSETS
                ]
                failed = statistics.mean(r["failed"] for r in refused)
            else:  # nothing to fall back on: every vend with the old key after the rotation fails
                failed = statistics.mean(r["stale_vends"] for r in kept)
            result.add(f"{key}: failed vends per rotation (old key refused)", failed, "vends")
            momento = statistics.median(r["momento_calls"] for r in kept)
            if momento:
                result.add(f"{key}: Momento calls per container-hour (hint reads)", momento, "calls")
        for access in _ACCESS:
            access.close()
    result.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
