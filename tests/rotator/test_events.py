"""Event parsing: the three accepted kinds, and a clear refusal of anything else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rotator.events import DirectRequest, NativeStepRequest, ScheduledRequest, parse_event
from shared.errors import InvalidEventError

EVENTS = Path(__file__).resolve().parents[2] / "events" / "rotator"


def load(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


def test_the_scheduler_input_rotates_the_configured_secrets() -> None:
    assert parse_event(load("scheduled.json")) == ScheduledRequest(secret_ids=None, force=False)


def test_the_scheduler_input_may_name_secrets_and_force() -> None:
    event = {"source": "keyguard.schedule", "secret_ids": ["a", "b", "a"], "force": True}
    assert parse_event(event) == ScheduledRequest(secret_ids=("a", "b"), force=True)


def test_the_classic_eventbridge_scheduled_event_is_accepted() -> None:
    event = {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-27T12:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/keyguard"],
        "detail": {},
    }
    assert parse_event(event) == ScheduledRequest(secret_ids=None, force=False)


def test_rotate_now_is_a_forced_direct_invoke() -> None:
    assert parse_event(load("rotate-now.json")) == DirectRequest("momento/master-key", force=True)


@pytest.mark.parametrize(
    ("name", "step"),
    [
        ("create-secret.json", "createSecret"),
        ("set-secret.json", "setSecret"),
        ("test-secret.json", "testSecret"),
        ("finish-secret.json", "finishSecret"),
    ],
)
def test_the_four_native_steps(name: str, step: str) -> None:
    request = parse_event(load(name))
    assert isinstance(request, NativeStepRequest)
    assert (request.secret_id, request.step) == ("momento/master-key", step)
    assert request.token == "6f2c1b9e-7a7d-4c6e-9b1a-2f3e4d5c6b7a"


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ([], "JSON object"),
        ({}, "unrecognised event"),
        ({"source": "aws.events"}, "unrecognised event"),
        ({"secret_id": ""}, "'secret_id'"),
        ({"secret_id": "x", "forced": True}, "forced"),
        ({"secret_id": "x", "force": "yes"}, "'force'"),
        ({"source": "keyguard.schedule", "secret_ids": "x"}, "'secret_ids'"),
        ({"source": "keyguard.schedule", "secret_ids": []}, "'secret_ids'"),
        ({"SecretId": "x", "ClientRequestToken": "t", "Step": "rotateSecret"}, "'Step'"),
        ({"SecretId": "x", "Step": "createSecret"}, "'ClientRequestToken'"),
        ({"detail-type": "Scheduled Event", "detail": {"secrets": ["x"]}}, "secrets"),
    ],
)
def test_anything_else_is_refused_naming_the_problem(event: Any, named: str) -> None:
    with pytest.raises(InvalidEventError, match=named):
        parse_event(event)


def test_the_refresh_lambdas_manual_invoke_is_a_forced_rotation() -> None:
    # Momento's api-key-refresh-lambda is invoked by hand with {"SecretId": "<arn>"}.
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:momento/master-key-AbCdEf"
    assert parse_event({"SecretId": arn}) == DirectRequest(secret_id=arn, force=True)
    assert parse_event(load("refresh-lambda-manual.json")) == DirectRequest("momento/master-key", force=True)
    with pytest.raises(InvalidEventError, match="unknown field"):
        parse_event({"SecretId": arn, "Force": True})
    with pytest.raises(InvalidEventError, match="non-empty string"):
        parse_event({"SecretId": ""})
