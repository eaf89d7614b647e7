"""Secrets Manager's own rotation protocol, one function per step as AWS's templates do it.

Before every step the same checks as AWS's template: rotation is enabled, the token is a
known version, a token already on AWSCURRENT means an earlier attempt finished (return), a
token not staged AWSPENDING is an error. Each step is safe to re-run: Secrets Manager
retries a step only when the invocation fails, so failures raise.

The steps share the engine with the scheduled path, so a scheduled run and a native
rotation of the same secret meet at the same claim and the same AWSPENDING version and
never spend a refresh token twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from rotator.engine import Outcome, Rotation, RotationResult
from rotator.events import NativeStepRequest
from rotator.secret_store import CURRENT, PENDING
from shared.errors import RotationStateError


def create_secret(rotation: Rotation, token: str) -> RotationResult:
    return rotation.create_pending(token)


def set_secret(rotation: Rotation, token: str) -> RotationResult:
    # Momento issued the successor in createSecret; there is no credential to set at a
    # database or service, so this step has nothing to do (as for AWS's API-key templates).
    return RotationResult(
        rotation.secret_id, Outcome.DONE, "nothing to set at Momento", current_version_id=token
    )


def test_secret(rotation: Rotation, token: str) -> RotationResult:
    return rotation.test_pending(token)


def finish_secret(rotation: Rotation, token: str) -> RotationResult:
    return rotation.finish(token)


STEPS: Mapping[str, Callable[[Rotation, str], RotationResult]] = MappingProxyType(
    {
        "createSecret": create_secret,
        "setSecret": set_secret,
        "testSecret": test_secret,
        "finishSecret": finish_secret,
    }
)


def run_step(rotation: Rotation, request: NativeStepRequest) -> RotationResult:
    state = rotation.store.describe()
    where = f"secret {request.secret_id!r}"
    if not state.rotation_enabled:
        # moto reports RotationEnabled only when AutomaticallyAfterDays is set; AWS also for a
        # ScheduleExpression. Both mean the same here.
        raise RotationStateError(f"{where} does not have rotation enabled")
    stages = state.stages.get(request.token)
    if stages is None:
        raise RotationStateError(f"{where}: version {request.token} has no stage for rotation")
    if CURRENT in stages:
        if PENDING in stages and request.step == "finishSecret":
            return finish_secret(rotation, request.token)
        return RotationResult(
            rotation.secret_id, Outcome.DONE, "version already AWSCURRENT", current_version_id=request.token
        )
    if PENDING not in stages:
        raise RotationStateError(f"{where}: version {request.token} is not staged AWSPENDING")
    return STEPS[request.step](rotation, request.token)
