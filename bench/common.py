"""What every benchmark shares: the out-of-process local stack, statistics and the JSON result file.

A benchmark prints its numbers and, with `--json PATH`, writes them as
`{"name": ..., "metrics": {metric: {"value": float, "unit": str}}, "samples": {series: [µs...]}}`
so `bench/run_all.py` can take medians over rounds and put products beside baselines.
Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events" / "vendor"
POLICY = (EVENTS / "policy.json").read_text()


def jwt_event() -> dict[str, Any]:
    """The sample HTTP API v2 event of a Cognito member of tenant acme (GET /token)."""
    loaded: dict[str, Any] = json.loads((EVENTS / "get-token-jwt.json").read_text())
    return loaded


class BenchStack:
    """`bench/stack_process.py` as a child process: moto + local Momento, quota off."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self.env: dict[str, str] = {}
        self.master: dict[str, Any] = {}
        self.spare: dict[str, Any] = {}

    def __enter__(self) -> BenchStack:
        self._proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "stack_process.py")],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self.__exit__(None, None, None)
            raise SystemExit("bench/stack_process.py did not start")
        started = json.loads(line)
        self.env, self.master, self.spare = started["env"], started["master"], started["spare"]
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._proc is None:
            return
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def vendor_env(self, **overrides: str) -> dict[str, str]:
        """The deployed vendor's environment: jwt mode, INFO logging, the sample policy."""
        return {
            **self.env,
            "AUTH_MODE": "jwt",
            "VENDING_POLICY": POLICY,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_SERVICE_NAME": "keyguard-vendor",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "MomentoKeyGuard",
            # The local Momento server's quota is off; so is the vendor's own share of it (issue 13),
            # which would otherwise refuse the uncached benchmark's burst of new callers.
            "AUTH_QUOTA_PER_SECOND": "100000",
            "AUTH_QUOTA_RESERVE_PER_SECOND": "0",
            **overrides,
        }


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Result:
    """One benchmark run's numbers (one round)."""

    name: str
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, metric: str, value: float, unit: str) -> None:
        self.metrics[metric] = {"value": value, "unit": unit}
        print(f"  {metric:<58} {value:>12,.1f} {unit}", file=OUT, flush=True)

    def series(self, name: str, values: list[float], unit: str = "µs") -> None:
        """Median and p95 of a latency series; the samples go to the plot."""
        self.add(f"{name} p50", statistics.median(values), unit)
        self.add(f"{name} p95", percentile(values, 0.95), unit)
        self.samples[name] = values

    def write(self, path: str | None) -> None:
        if path:
            Path(path).write_text(
                json.dumps({"name": self.name, "metrics": self.metrics, "samples": self.samples})
            )


def say(text: str) -> None:
    print(text, file=OUT, flush=True)


def parser(doc: str | None) -> argparse.ArgumentParser:
    first = (doc or "").strip().splitlines()[0] if doc else ""
    p = argparse.ArgumentParser(description=first)
    p.add_argument("--json", help="also write the numbers to this JSON file (bench/run_all.py)")
    return p


#: Where the numbers go: the real standard output, even after `quiet_stdout`.
OUT = sys.stdout


def quiet_stdout() -> None:
    """Send the product's stdout (JSON log lines, EMF metrics) to /dev/null, as Lambda ships it off.

    The lines are still formatted and written, so their cost stays in the numbers; only the
    terminal is spared. The numbers keep going to `OUT`.
    """
    import logging

    sink = open(os.devnull, "w")  # noqa: SIM115  (lives as long as the process)
    sys.stdout = sink
    for name in [None, *logging.Logger.manager.loggerDict]:
        logger = logging.getLogger(name)
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.stdout, sys.__stdout__):
                handler.setStream(sink)
