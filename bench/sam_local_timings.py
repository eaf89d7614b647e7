"""How long the offline SAM path takes here: image, `sam build`, `sam local invoke`, start-api.

Needs the Docker engine and the Lambda image (`make lambda-image`). Prints wall-clock seconds
for `build.sh` when the image is current, one `sam build` into a temporary directory, three
`sam local invoke VendorFunction` runs as built (SAM re-adds the layer every time) and three
with the layer baked into the image (what tests/sam does), the time until `sam local
start-api` answers, and the median of GET /token through it. Numbers, not assertions.

    .venv/bin/python bench/sam_local_timings.py [--requests 20]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
logging.getLogger("werkzeug").setLevel(logging.ERROR)

import httpx  # noqa: E402

from local import sam_local  # noqa: E402
from local.stack import LocalStack  # noqa: E402


def timed(label: str, started: float) -> float:
    elapsed = time.monotonic() - started
    print(f"{label:<48} {elapsed:7.2f} s", flush=True)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()
    sam_local.require_engine_and_image()

    started = time.monotonic()
    subprocess.run([str(ROOT / "local" / "lambda-image" / "build.sh")], check=True, capture_output=True)
    timed("lambda image, already built", started)

    with tempfile.TemporaryDirectory() as scratch:
        started = time.monotonic()
        built = sam_local.sam_build(Path(scratch) / "build")
        timed("sam build (no cache)", started)
        images_before = sam_local.sam_layer_images()
        gateway = sam_local.bridge_gateway()
        with LocalStack(("127.0.0.1", gateway)) as stack:
            master = stack.momento.mint_master_key()
            arn = stack.secretsmanager_client().create_secret(
                Name="bench/master", SecretString=json.dumps(master.console_json())
            )["ARN"]
            policy = (ROOT / "events" / "vendor" / "policy.json").read_text()
            env_vars = sam_local.write_env_vars(
                Path(scratch) / "env.json",
                {
                    "VendorFunction": {
                        **sam_local.stack_variables(stack, gateway),
                        "SECRET_ID": arn,
                        "AUTH_MODE": "none",
                        "VENDING_POLICY": policy,
                    }
                },
            )
            event = ROOT / "events" / "vendor" / "get-token-none.json"
            sts = sam_local.sts_override(stack)
            for run in range(3):
                started = time.monotonic()
                sam_local.invoke(built, "VendorFunction", event, env_vars, environ=sts)
                timed(f"sam local invoke, as built (run {run + 1})", started)
            with sam_local.layer_baked_into_image(built, "bench") as (template, image):
                for run in range(3):
                    started = time.monotonic()
                    sam_local.invoke(
                        template, "VendorFunction", event, env_vars, invoke_image=image, environ=sts
                    )
                    timed(f"sam local invoke, layer baked in (run {run + 1})", started)
            started = time.monotonic()
            with sam_local.start_api(built, env_vars, sam_local.free_port(), environ=sts) as base:
                timed("sam local start-api until it answers", started)
                latencies = []
                with httpx.Client(timeout=60) as client:
                    for _ in range(args.requests):
                        started = time.monotonic()
                        client.get(f"{base}/token").raise_for_status()
                        latencies.append(time.monotonic() - started)
                print(
                    f"{'start-api GET /token, warm (median, max)':<48} "
                    f"{statistics.median(latencies) * 1000:7.1f} ms {max(latencies) * 1000:7.1f} ms"
                )
        sam_local.remove_images(sam_local.sam_layer_images() - images_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
