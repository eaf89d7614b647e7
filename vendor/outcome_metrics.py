"""One CloudWatch count per request, in Powertools' Embedded Metric Format, serialized once per name.

`@metrics.log_metrics` builds, validates and JSON-encodes the whole metric set on every
invocation, about a third of a cached vend. The vendor only ever emits one count of one of five
outcome names (sometimes after one count of a quota metric) with the same namespace and dimensions,
so the line Powertools would print differs from one request with the same names to the next in
nothing but its `Timestamp`. `OutcomeMetrics` asks Powertools' own
`Metrics.serialize_metric_set` for each name once, keeps the JSON around the timestamp, and per
request prints that line with the current time: the same bytes `log_metrics` would print, flushed
within the invocation as Lambda requires, and still silenced by `POWERTOOLS_METRICS_DISABLED`.
"""

from __future__ import annotations

import json
import os
import sys
import time

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

_STAMP = 1_234_567_890_123_456  # an impossible millisecond timestamp marks where the time goes


class OutcomeMetrics:
    """Prints `{"_aws": ..., NAME: [1.0]}` per call; not thread-safe (the handler holds a lock)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self._lines: dict[tuple[str, ...], tuple[str, str]] = {}
        self._pending: list[str] = []
        self._disabled = is_metrics_disabled()

    def begin(self) -> None:
        """A new request: forget names `also` recorded outside one (a resolver driven directly)."""
        self._pending.clear()

    def also(self, name: str) -> None:
        """Count `name` too in this request's line (as `add_metric` before the flush would)."""
        if name not in self._pending:
            self._pending.append(name)

    def count(self, name: str) -> None:
        """Emit one count of `name` (and of `also`'s names, first) now: the line
        `Metrics.flush_metrics` would print."""
        names = (*self._pending, name) if self._pending else (name,)
        self._pending.clear()
        if self._disabled:
            return
        parts = self._lines.get(names)
        if parts is None:
            parts = self._lines[names] = self._render(names)
        sys.stdout.write(f"{parts[0]}{time.time_ns() // 1_000_000}{parts[1]}\n")  # what print() writes

    def _render(self, names: tuple[str, ...]) -> tuple[str, str]:
        for name in dict.fromkeys(names):
            self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
        try:
            blob = self._metrics.serialize_metric_set()
        finally:
            self._metrics.clear_metrics()
        blob["_aws"]["Timestamp"] = _STAMP
        before, marker, after = json.dumps(blob, separators=(",", ":")).partition(str(_STAMP))
        if not marker:  # Powertools changed its format: fail loudly at the first request
            raise RuntimeError("cannot find the EMF timestamp in Powertools' serialized metric set")
        return before, after


def emit_count(name: str) -> None:
    """One count printed now as its own EMF line (`single_metric`): not added to the metric set
    `vendor.outcome_metrics` serializes once per name and would otherwise keep in every line."""
    from aws_lambda_powertools.metrics import single_metric

    namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "MomentoKeyGuard"
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=namespace):
        pass
