"""One invocation: run a parsed request against every secret it names and collect the results.

Several secrets rotate independently: a failure of one is recorded and the others still run.
The caller (`rotator.app`) turns a report with any failure into a raised error, so Lambda,
EventBridge Scheduler's retry policy and the dead-letter queue see it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rotator.engine import Clock, Log, Outcome, Rotation, RotationResult
from rotator.events import DirectRequest, NativeStepRequest, RotatorRequest, ScheduledRequest
from rotator.native import run_step
from rotator.quota import QuotaRetrying
from rotator.secret_store import SecretStore
from rotator.settings import RotatorSettings
from shared.errors import ConfigError, KeyGuardError
from shared.momento_access import MomentoAccess

if TYPE_CHECKING:
    # typing stubs only (boto3-stubs is a dev dependency, absent in Lambda)
    from mypy_boto3_secretsmanager import SecretsManagerClient


@dataclass(frozen=True)
class Dependencies:
    settings: RotatorSettings
    secrets_client: SecretsManagerClient
    momento: MomentoAccess
    clock: Clock = time.time
    sleep: Callable[[float], None] = time.sleep
    log: Log = field(default_factory=lambda: logging.getLogger("rotator"))
    monotonic: Callable[[], float] = time.monotonic

    def rotation(self, secret_id: str, deadline: float | None = None) -> Rotation:
        """A rotation whose Momento calls retry the auth quota's refusals until `deadline`
        (a `monotonic` instant: the end of the invocation's time budget)."""
        store = SecretStore(
            self.secrets_client,
            secret_id,
            max_attempts=self.settings.secrets_manager_max_attempts,
            sleep=self.sleep,
        )
        momento = QuotaRetrying(self.momento, deadline=deadline, sleep=self.sleep, monotonic=self.monotonic)
        return Rotation(store, momento, self.settings, self.clock, log=self.log)


@dataclass(frozen=True)
class InvocationReport:
    results: tuple[RotationResult, ...]

    @property
    def failures(self) -> tuple[RotationResult, ...]:
        return tuple(result for result in self.results if result.outcome is Outcome.FAILED)

    def body(self) -> dict[str, Any]:
        """The JSON the function returns: one entry per secret, no key material."""
        return {"results": [result.log_fields() for result in self.results]}


def _failed(rotation: Rotation, exc: Exception) -> RotationResult:
    error = exc if isinstance(exc, KeyGuardError) else KeyGuardError(f"unexpected {type(exc).__name__}")
    orphans = tuple(rotation.orphans_seen)
    return RotationResult(rotation.secret_id, Outcome.FAILED, error.code, orphans=orphans, error=error)


def _run(rotation: Rotation, request: RotatorRequest, force: bool) -> RotationResult:
    try:
        if isinstance(request, NativeStepRequest):
            return run_step(rotation, request)
        return rotation.run(force=force)
    except Exception as exc:
        # Whatever one secret raises, the others still rotate; the report carries the failure.
        return _failed(rotation, exc)


def handle(request: RotatorRequest, deps: Dependencies, deadline: float | None = None) -> InvocationReport:
    """Run `request`; `deadline` (a `monotonic` instant) bounds the retries of Momento's quota."""
    if isinstance(request, NativeStepRequest | DirectRequest):
        rotation = deps.rotation(request.secret_id, deadline)
        force = isinstance(request, DirectRequest) and request.force
        return InvocationReport((_run(rotation, request, force),))
    assert isinstance(request, ScheduledRequest)
    secret_ids = request.secret_ids or deps.settings.secret_ids
    if not secret_ids:
        raise ConfigError(["SECRET_IDS is empty and the schedule event names no secret_ids"])
    return InvocationReport(
        tuple(_run(deps.rotation(secret_id, deadline), request, request.force) for secret_id in secret_ids)
    )
