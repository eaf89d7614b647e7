"""One cold start: a fresh interpreter imports a handler module and serves one request.

    python bench/cold_start_child.py MODULE OUT.json

Run by `bench/cold_start.py` with the vendor's environment. Times, from the first line of this
script, the import of MODULE (`vendor.app` or `bench.baselines.eager_handler`) and the first
`handler(event, context)` (settings, clients, the master key read, one mint), and writes them with
whether the X-Ray SDK, boto3 and the Momento SDK ended up imported.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    module_name, out = sys.argv[1], sys.argv[2]
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (log lines and metrics, as Lambda ships them)
    event = json.loads((ROOT / "events" / "vendor" / "get-token-jwt.json").read_text())
    before_import = time.perf_counter()
    module = importlib.import_module(module_name)
    imported = time.perf_counter()
    from bench.hot_path import Context

    response = module.handler(event, Context())
    served = time.perf_counter()
    if response["statusCode"] != 200:
        raise SystemExit(f"first request failed: {response.get('body')}")
    Path(out).write_text(
        json.dumps(
            {
                "import_ms": (imported - before_import) * 1000,
                "first_request_ms": (served - imported) * 1000,
                "total_ms": (served - STARTED) * 1000,
                "modules": len(sys.modules),
                "xray": "aws_xray_sdk" in sys.modules,
                "boto3": "boto3" in sys.modules,
                "momento": "momento" in sys.modules,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
