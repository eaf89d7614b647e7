"""Lambda entry point: parse the event, run the request, emit metrics, fail loudly.

Dependencies (settings, the Secrets Manager client, the Momento access layer) are built once
per execution environment on first use, not at import, so a bad configuration fails the
invocation with the full list of problems instead of breaking the import.

Metrics (namespace `POWERTOOLS_METRICS_NAMESPACE`, default `MomentoKeyGuard`; dimension `service`):
`RotationSucceeded`, `RotationSkipped`, `RotationFailed` (counts), `KeyHoursLeft` (hours until
the AWSCURRENT key expires, after the run; not emitted for never-expiring keys), `RevokeFailed`
(a v2 key that should have been revoked is still alive), `OperatorActionRequired` (the rotator
cannot renew the key by itself: a person must act, see rotator/README.md), `OrphanedKeys` (keys a
dead run created that are still alive: v1 ones cannot be revoked) and `OrphansRevoked`.
"""

from __future__ import annotations

import functools
import logging
import os
import time
import warnings
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from rotator.engine import Outcome, RotationResult
from rotator.events import parse_event
from rotator.invocation import Dependencies, InvocationReport, handle
from rotator.settings import RotatorSettings
from shared.errors import ConfigError, KeyGuardError, OperatorActionRequiredError, RotationFailedError

#: The template's default; used when POWERTOOLS_METRICS_NAMESPACE is unset, so that a missing
#: variable cannot turn every invocation into a metrics schema error that hides the real result.
DEFAULT_METRICS_NAMESPACE = "MomentoKeyGuard"

logger = Logger()
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_METRICS_NAMESPACE)
tracer = Tracer()

_SUCCESS = frozenset({Outcome.ROTATED, Outcome.RESUMED})
#: Seconds kept back from the invocation's remaining time when retrying Momento's quota: enough
#: for the Secrets Manager writes that follow and for the handler to report.
_BUDGET_RESERVE_SECONDS = 15.0
#: The budget when the context cannot tell (a stand-in context in tests, `sam local`).
_DEFAULT_BUDGET_SECONDS = 45.0

# Lambda's ApplicationLogLevel=DEBUG sets the root logger to DEBUG, and botocore's DEBUG lines
# carry request and response bodies: the master key and its refresh token. Pinned as the vendor does.
logging.getLogger("botocore").setLevel(logging.WARNING)


@functools.cache
def dependencies() -> Dependencies:
    from shared.momento_access import SdkMomentoAccess

    settings = RotatorSettings.read()
    try:
        client = boto3.client(
            "secretsmanager",
            endpoint_url=settings.common.secrets_manager_endpoint_url,
            # Retries live in rotator.secret_store (bounded, visible, idempotent); botocore's
            # own would multiply them.
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=15),
        )
    except BotoCoreError as exc:  # no region, bad endpoint URL
        raise ConfigError([f"cannot build the Secrets Manager client: {exc}"]) from None
    momento = SdkMomentoAccess(settings.common)
    return Dependencies(settings=settings, secrets_client=client, momento=momento, log=logger)


def _record(result: RotationResult) -> None:
    fields = result.log_fields()
    if result.outcome is Outcome.FAILED:
        metrics.add_metric(name="RotationFailed", unit=MetricUnit.Count, value=1)
        logger.error("rotation failed", extra=fields)
    elif result.outcome is Outcome.SKIPPED:
        metrics.add_metric(name="RotationSkipped", unit=MetricUnit.Count, value=1)
        logger.info("rotation skipped", extra=fields)
    else:
        if result.outcome in _SUCCESS:
            metrics.add_metric(name="RotationSucceeded", unit=MetricUnit.Count, value=1)
        logger.info(f"rotation {result.outcome.value}", extra=fields)
    if result.hours_left is not None:
        metrics.add_metric(name="KeyHoursLeft", unit=MetricUnit.Count, value=round(result.hours_left, 2))
    if result.revoke is not None and result.revoke.error is not None:
        metrics.add_metric(name="RevokeFailed", unit=MetricUnit.Count, value=1)
    if isinstance(result.error, OperatorActionRequiredError):
        metrics.add_metric(name="OperatorActionRequired", unit=MetricUnit.Count, value=1)
    if result.orphans_left:
        metrics.add_metric(name="OrphanedKeys", unit=MetricUnit.Count, value=result.orphans_left)
    if result.orphans_revoked:
        metrics.add_metric(name="OrphansRevoked", unit=MetricUnit.Count, value=result.orphans_revoked)


def _deadline(context: LambdaContext) -> float:
    """The `monotonic` instant after which no Momento quota retry starts."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    budget = remaining() / 1000 - _BUDGET_RESERVE_SECONDS if callable(remaining) else _DEFAULT_BUDGET_SECONDS
    return time.monotonic() + max(0.0, budget)


def _raise_failures(report: InvocationReport) -> None:
    failures = report.failures
    revoke_failures = [
        r for r in report.results if r.outcome is not Outcome.FAILED and r.revoke and r.revoke.error
    ]
    if not failures and not revoke_failures:
        return
    parts = [f"{r.secret_id}: {r.error}" for r in failures]
    parts += [f"{r.secret_id}: {r.revoke.error}" for r in revoke_failures if r.revoke]
    error = RotationFailedError(
        f"{len(parts)} of {len(report.results)} secret(s) failed: " + "; ".join(parts)
    )
    first = failures[0].error if failures else None
    raise error from first


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    with warnings.catch_warnings():
        # setSecret/testSecret have nothing to count: an empty metrics flush is expected then.
        warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
        result: dict[str, Any] = _instrumented(event, context)
    return result


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def _instrumented(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        request = parse_event(event)
        report = handle(request, dependencies(), _deadline(context))
    except KeyGuardError as exc:
        metrics.add_metric(name="RotationFailed", unit=MetricUnit.Count, value=1)
        logger.error("invocation refused", extra={"error_code": exc.code, "error": str(exc)})
        raise
    for result in report.results:
        _record(result)
    _raise_failures(report)
    return report.body()
