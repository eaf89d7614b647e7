"""Cold start: a fresh interpreter importing the handler and serving its first request.

    .venv/bin/python bench/cold_start.py [--runs 5] [--json out.json]

The product's `vendor.app` against the eager-import baseline (`bench/baselines/eager_handler.py`:
the same handler with every library imported and everything built at module load), alternating
fresh `python bench/cold_start_child.py` processes against one out-of-process local stack. The
figure is from the child's first line to the first response (import + first request: settings,
clients, the master key read, one mint); the interpreter's own start-up, the same for both, is left
out. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import compileall
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import BenchStack, Result, parser, say  # noqa: E402

PRODUCT = "vendor.app"
EAGER = "bench.baselines.eager_handler"


def _one(module: str, env: dict[str, str]) -> dict[str, float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "cold_start_child.py"), module, out.name],
            cwd=ROOT,
            env=env,
            check=True,
        )
        loaded: dict[str, float] = json.loads(Path(out.name).read_text())
        return loaded


#: The project's packages a cold start imports; Lambda gets them as bytecode (`vendor/Makefile`,
#: `shared/Makefile`: compileall), while this machine may say PYTHONDONTWRITEBYTECODE=1.
SOURCES = ("shared", "vendor", "bench", "local")


def _compile_sources() -> bool:
    """Bytecode for the project's own modules, as the deployment package has it (both sides
    import them: without it each fresh interpreter compiled them from source, 60-110 ms)."""
    return all(compileall.compile_dir(ROOT / name, quiet=1) for name in SOURCES)


def main() -> int:
    args_parser = parser(__doc__)
    args_parser.add_argument("--runs", type=int, default=5, help="cold starts of each, alternating")
    args = args_parser.parse_args()
    result = Result("cold_start")
    compiled = _compile_sources()
    with BenchStack() as stack:
        env = {**os.environ, **stack.vendor_env(), "PYTHONPATH": str(ROOT)}
        runs: dict[str, list[dict[str, float]]] = {PRODUCT: [], EAGER: []}
        _one(PRODUCT, env)  # the page cache warm for both
        for _ in range(args.runs):
            for module in (PRODUCT, EAGER):
                runs[module].append(_one(module, env))
    say(f"cold start, {args.runs} fresh interpreters each (project bytecode compiled: {compiled})")
    for module, label in ((PRODUCT, "product"), (EAGER, "eager-import baseline")):
        total = [r["total_ms"] for r in runs[module]]
        result.series(f"cold start {label} (import + first request)", total, "ms")
        imports = sorted(r["import_ms"] for r in runs[module])
        result.add(f"cold start {label}: import alone p50", imports[len(imports) // 2], "ms")
        last = runs[module][-1]
        say(
            f"  {label}: modules={last['modules']:.0f} xray={last['xray']} "
            f"boto3={last['boto3']} momento={last['momento']}"
        )
    result.write(args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
