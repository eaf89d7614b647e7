"""The kinds of event the rotator accepts, parsed into typed requests.

Besides its own (schedule, direct invoke, Secrets Manager's native steps) it accepts
`{"SecretId": "<arn>"}`, which is how Momento's refresh Lambda is invoked by hand: a forced
rotation of that secret, as that Lambda refreshes on every such invoke.

Anything else raises `InvalidEventError` naming what was wrong, before any call is made, so a
mistyped manual invoke changes nothing. Unknown extra fields are refused too: a typo such as
`"forced": true` must not silently run an unforced rotation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidEventError

SCHEDULE_SOURCE = "keyguard.schedule"
NATIVE_STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
#: Fields EventBridge puts on every scheduled event (the classic "Scheduled Event" shape).
_EVENTBRIDGE_FIELDS = frozenset(
    {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
)


@dataclass(frozen=True)
class ScheduledRequest:
    """Rotate the given secrets (None = the configured `SECRET_IDS`) if due, or all if forced."""

    secret_ids: tuple[str, ...] | None
    force: bool


@dataclass(frozen=True)
class DirectRequest:
    """A manual or `sam local invoke` rotation of one secret."""

    secret_id: str
    force: bool


@dataclass(frozen=True)
class NativeStepRequest:
    """One step of Secrets Manager's own rotation protocol."""

    secret_id: str
    token: str
    step: str
    #: Present on cross-account / assumed-role rotations; not used for anything else.
    rotation_token: str | None


RotatorRequest = ScheduledRequest | DirectRequest | NativeStepRequest


def parse_event(event: object) -> RotatorRequest:
    if not isinstance(event, Mapping):
        raise InvalidEventError(f"the event must be a JSON object, not {type(event).__name__}")
    if "Step" in event or "ClientRequestToken" in event:
        return _native(event)
    if "SecretId" in event:
        _refuse_unknown(event, frozenset({"SecretId"}), "the manual rotation event")
        return DirectRequest(secret_id=_secret_id(event.get("SecretId"), "'SecretId'"), force=True)
    if "secret_id" in event:
        return _direct(event)
    if event.get("source") == SCHEDULE_SOURCE:
        return _scheduled(event, allowed=frozenset({"source", "secret_ids", "force"}))
    if event.get("detail-type") == "Scheduled Event":
        detail = event.get("detail") or {}
        if not isinstance(detail, Mapping):
            raise InvalidEventError("a scheduled event's 'detail' must be an object")
        merged = {"secret_ids": detail.get("secret_ids"), "force": detail.get("force", False)}
        _refuse_unknown(detail, frozenset({"secret_ids", "force"}), "the scheduled event's detail")
        _refuse_unknown(event, _EVENTBRIDGE_FIELDS, "the scheduled event")
        return _scheduled(merged, allowed=frozenset({"secret_ids", "force"}))
    raise InvalidEventError(
        "unrecognised event: expected a schedule event (source 'keyguard.schedule' or detail-type "
        "'Scheduled Event'), a direct invoke {'secret_id': ..., 'force': ...} or {'SecretId': ...}, or a "
        "Secrets Manager rotation event (SecretId, ClientRequestToken, Step); "
        f"got fields {sorted(map(str, event))}"
    )


def _refuse_unknown(event: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    unknown = sorted(str(name) for name in event if name not in allowed)
    if unknown:
        raise InvalidEventError(f"{what} has unknown field(s) {unknown}; allowed: {sorted(allowed)}")


def _force(event: Mapping[str, Any]) -> bool:
    force = event.get("force", False)
    if force is None:
        return False
    if not isinstance(force, bool):
        raise InvalidEventError(f"'force' must be true or false, not {type(force).__name__}")
    return force


def _secret_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidEventError(f"{what} must be a non-empty string")
    return value.strip()


def _scheduled(event: Mapping[str, Any], allowed: frozenset[str]) -> ScheduledRequest:
    _refuse_unknown(event, allowed, "the schedule input")
    raw_ids = event.get("secret_ids")
    secret_ids: tuple[str, ...] | None = None
    if raw_ids is not None:
        if not isinstance(raw_ids, list) or not raw_ids:
            raise InvalidEventError("'secret_ids' must be a non-empty list of secret names or ARNs")
        secret_ids = tuple(dict.fromkeys(_secret_id(item, "each of 'secret_ids'") for item in raw_ids))
    return ScheduledRequest(secret_ids=secret_ids, force=_force(event))


def _direct(event: Mapping[str, Any]) -> DirectRequest:
    _refuse_unknown(event, frozenset({"secret_id", "force"}), "the direct invoke")
    return DirectRequest(secret_id=_secret_id(event.get("secret_id"), "'secret_id'"), force=_force(event))


def _native(event: Mapping[str, Any]) -> NativeStepRequest:
    _refuse_unknown(
        event, frozenset({"SecretId", "ClientRequestToken", "Step", "RotationToken"}), "the rotation event"
    )
    step = event.get("Step")
    if step not in NATIVE_STEPS:
        raise InvalidEventError(f"'Step' must be one of {list(NATIVE_STEPS)}, not {step!r}")
    rotation_token = event.get("RotationToken")
    return NativeStepRequest(
        secret_id=_secret_id(event.get("SecretId"), "'SecretId'"),
        token=_secret_id(event.get("ClientRequestToken"), "'ClientRequestToken'"),
        step=str(step),
        rotation_token=rotation_token if isinstance(rotation_token, str) else None,
    )
