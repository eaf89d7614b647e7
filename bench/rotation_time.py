"""How long one full rotation takes against the local stack (moto server + local Momento server).

Each sample is one forced `Rotation.run`: describe + read AWSCURRENT, claim, Auth.RefreshApiToken,
PutSecretValue AWSPENDING, a one-minute disposable token with the new key, and the two stage
moves. The SDK-backed Momento access layer and a boto3 client are built once, as in a warm
Lambda. Momento's auth quota is switched off so back-to-back samples are not throttled.

    .venv/bin/python bench/rotation_time.py [-n 30]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SECRET_ID = "bench/master-key"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rotations", type=int, default=30)
    args = parser.parse_args()
    from local.stack import LocalStack
    from rotator.engine import Outcome, Rotation
    from rotator.secret_store import SecretStore
    from rotator.settings import RotatorSettings
    from shared.momento_access import SdkMomentoAccess

    with LocalStack() as stack:
        stack.momento.set_quota(None)
        settings = RotatorSettings.read({**stack.env(), "SECRET_IDS": SECRET_ID})
        client = stack.secretsmanager_client()
        calls = {"n": 0}

        def count(**_: object) -> None:
            calls["n"] += 1

        client.meta.events.register("before-call.secretsmanager.*", count)
        minted = stack.momento.mint_master_key()
        client.create_secret(Name=SECRET_ID, SecretString=json.dumps(minted.console_json()))
        with SdkMomentoAccess(settings.common) as momento:
            rotation = Rotation(SecretStore(client, SECRET_ID), momento, settings, time.time)
            rotation.run(force=True)  # warm-up: channels, connection pool
            samples: list[float] = []
            calls["n"] = 0
            for _ in range(args.rotations):
                start = time.perf_counter()
                result = rotation.run(force=True)
                samples.append((time.perf_counter() - start) * 1000)
                assert result.outcome is Outcome.ROTATED, result
    samples.sort()
    p90 = samples[max(0, round(0.9 * len(samples)) - 1)]
    print(f"rotations: {len(samples)} (forced, v1 refresh, local stack on 127.0.0.1)")
    median = statistics.median(samples)
    print(f"median {median:.1f} ms  p90 {p90:.1f} ms  min {samples[0]:.1f} ms  max {samples[-1]:.1f} ms")
    print(f"Secrets Manager calls per rotation: {calls['n'] / len(samples):.1f}")


if __name__ == "__main__":
    main()
