"""The rotator's recent outcomes from CloudWatch: what the secret's versions cannot show.

A run that failed before storing anything (Momento refused, the claim given back) leaves no
trace in the secret; the rotator counts it (`RotationFailed`, `OperatorActionRequired`, ...,
dimension `service`). The counts are per stack, not per secret (the metrics carry no secret
dimension), so `status` shows them once, next to the per-secret state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

#: What a run can end in, as `rotator/app.py` counts it.
OUTCOMES = (
    "RotationSucceeded",
    "RotationSkipped",
    "RotationFailed",
    "RevokeFailed",
    "OperatorActionRequired",
    "OrphanedKeys",
)
_HOUR = 3600


def recent_outcomes(
    cloudwatch: Any, namespace: str, service: str, now: float, days: int = 7
) -> dict[str, dict[str, Any]]:
    """Per outcome: the count over `days` and the start of the last hour it happened in."""
    # Whole hours, the last one ending after `now`: CloudWatch aligns hourly periods to the hour,
    # and moto (the local stack) drops a period that would end after EndTime, so an EndTime of
    # `now` loses the current hour, which is the one an operator on a bad day asks about.
    end = datetime.fromtimestamp((int(now) // _HOUR + 1) * _HOUR, UTC)
    start = end - timedelta(days=days)
    found: dict[str, dict[str, Any]] = {}
    for name in OUTCOMES:
        answer = cloudwatch.get_metric_statistics(
            Namespace=namespace,
            MetricName=name,
            Dimensions=[{"Name": "service", "Value": service}],
            StartTime=start,
            EndTime=end,
            Period=_HOUR,
            Statistics=["Sum"],
        )
        points = [p for p in answer.get("Datapoints", []) if p.get("Sum")]
        last = max((p["Timestamp"] for p in points), default=None)
        found[name] = {
            "count": int(sum(p["Sum"] for p in points)),
            "last_hour": None if last is None else last.timestamp(),
        }
    return found
