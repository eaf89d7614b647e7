"""The Lambda handler end to end: events from `events/rotator/`, environment, metrics, failures."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rotator import app
from shared.errors import ConfigError, InvalidEventError, RotationFailedError
from tests.rotator.asserts import assert_works, holder, value
from tests.rotator.moto_state import stage_rotation_token
from tests.rotator.support import SECRET_ID, RotatorStack

EVENTS = Path(__file__).resolve().parents[2] / "events" / "rotator"
EVENT_TOKEN = "6f2c1b9e-7a7d-4c6e-9b1a-2f3e4d5c6b7a"
DAY = 86400


@dataclass
class Context:
    function_name: str = "RotatorFunction"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:RotatorFunction"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"


def event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def env(rstack: RotatorStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[RotatorStack]:
    for name, val in {
        **rstack.stack.env(),
        "SECRET_IDS": SECRET_ID,
        "MOMENTO_TIMEOUT_SECONDS": "2",
        "CLAIM_LEASE_SECONDS": "900",
    }.items():
        monkeypatch.setenv(name, val)
    monkeypatch.setattr(app.metrics, "namespace", "KeyGuardTest")
    built = app.dependencies  # a test may replace it; the cache to clear is this one's
    built.cache_clear()
    yield rstack
    built().momento.close()  # type: ignore[attr-defined]
    built.cache_clear()


def invoke(body: Any) -> dict[str, Any]:
    return app.handler(body, Context())  # type: ignore[arg-type]  # a stand-in LambdaContext


def emf(output: str) -> dict[str, list[float]]:
    """Metric name -> values from the Embedded Metric Format lines the handler printed."""
    found: dict[str, list[float]] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        blob = json.loads(line)
        for directive in blob["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "KeyGuardTest"
            for metric in directive["Metrics"]:
                values = blob[metric["Name"]]
                found.setdefault(metric["Name"], []).extend(values if isinstance(values, list) else [values])
    return found


def test_rotate_now_rotates_and_reports_version_ids(
    env: RotatorStack, capfd: pytest.CaptureFixture[str]
) -> None:
    minted = env.mint_v1(30 * DAY)
    before = env.create_secret(minted.console_json())
    body = invoke(event("rotate-now.json"))
    [result] = body["results"]
    assert result["outcome"] == "rotated"
    assert result["previous_version_id"] == before
    assert result["current_version_id"] == holder(env.client(), SECRET_ID, "AWSCURRENT")
    assert_works(env.momento, value(env.client(), SECRET_ID)["apiKey"])
    metrics = emf(capfd.readouterr().out)
    assert metrics["RotationSucceeded"] == [1.0]
    assert metrics["KeyHoursLeft"][0] == pytest.approx(720, abs=0.1)
    assert "api" not in json.dumps(body).lower()


def test_a_scheduled_run_that_is_not_due_skips(env: RotatorStack, capfd: pytest.CaptureFixture[str]) -> None:
    env.create_secret(env.mint_v1(30 * DAY).console_json())
    body = invoke(event("scheduled.json"))
    assert body["results"][0]["outcome"] == "skipped"
    metrics = emf(capfd.readouterr().out)
    assert metrics["RotationSkipped"] == [1.0]
    assert "RotationFailed" not in metrics


def test_one_failing_secret_does_not_stop_the_others_and_fails_the_invocation(
    env: RotatorStack, capfd: pytest.CaptureFixture[str]
) -> None:
    env.create_secret(env.mint_v1(30 * DAY).console_json())
    env.create_secret({"unrelated": "value"}, name="not/a/momento/key")
    with pytest.raises(RotationFailedError, match="not/a/momento/key") as raised:
        invoke({"source": "keyguard.schedule", "secret_ids": ["not/a/momento/key", SECRET_ID], "force": True})
    assert "1 of 2" in str(raised.value)
    assert_works(env.momento, value(env.client(), SECRET_ID)["apiKey"])
    assert env.client().describe_secret(SecretId=SECRET_ID)["VersionIdsToStages"]  # rotated one
    assert holder(env.client(), SECRET_ID, "AWSPREVIOUS") is not None
    metrics = emf(capfd.readouterr().out)
    assert (metrics["RotationSucceeded"], metrics["RotationFailed"]) == ([1.0], [1.0])


def test_the_four_native_step_events(env: RotatorStack) -> None:
    env.create_secret(env.mint_v1(30 * DAY).console_json())
    stage_rotation_token(SECRET_ID, EVENT_TOKEN)
    for name in ("create-secret.json", "set-secret.json", "test-secret.json", "finish-secret.json"):
        invoke(event(name))
    assert holder(env.client(), SECRET_ID, "AWSCURRENT") == EVENT_TOKEN
    assert_works(env.momento, value(env.client(), SECRET_ID)["apiKey"])


def test_a_native_step_that_fails_raises_so_secrets_manager_retries(env: RotatorStack) -> None:
    env.create_secret(env.mint_v1(30 * DAY).console_json())
    with pytest.raises(RotationFailedError, match="rotation enabled"):
        invoke(event("test-secret.json"))


def test_an_unknown_event_changes_nothing(env: RotatorStack) -> None:
    version = env.create_secret(env.mint_v1(30 * DAY).console_json())
    with pytest.raises(InvalidEventError, match="unrecognised event"):
        invoke({"action": "rotate"})
    assert env.client().describe_secret(SecretId=SECRET_ID)["VersionIdsToStages"] == {version: ["AWSCURRENT"]}


def test_a_failed_v2_revoke_is_counted_and_fails_the_invocation(
    env: RotatorStack, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    minted = env.mint_v2(30 * DAY)
    env.create_secret(
        {"apiKey": minted.api_key, "endpoint": minted.endpoint, "keyId": minted.key_id, "roleId": "owner"}
    )
    monkeypatch.setenv("V2_REVOKE_GRACE_SECONDS", "60")
    app.dependencies.cache_clear()
    invoke(event("rotate-now.json"))
    # The handler's clock is wall time; move it with the Momento server's for the grace to pass.
    built = app.dependencies()
    monkeypatch.setattr(app, "dependencies", lambda: dataclasses.replace(built, clock=env.clock))
    env.clock.advance(120)
    env.server.faults.set(unavailable=True, only=["DELETE /api-keys"])
    with pytest.raises(RotationFailedError, match="revoke"):
        invoke(event("scheduled.json"))
    assert emf(capfd.readouterr().out)["RevokeFailed"] == [1.0]


def test_bad_configuration_fails_with_every_problem_named(
    env: RotatorStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATION_STRATEGY", "sometimes")
    monkeypatch.setenv("ROTATION_THRESHOLD", "-1")
    app.dependencies.cache_clear()
    with pytest.raises(ConfigError) as raised:
        invoke(event("scheduled.json"))
    assert len(raised.value.problems) == 2
    monkeypatch.delenv("ROTATION_STRATEGY")
    monkeypatch.delenv("ROTATION_THRESHOLD")


def test_a_schedule_without_secrets_to_rotate_is_a_configuration_error(
    env: RotatorStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SECRET_IDS")
    app.dependencies.cache_clear()
    with pytest.raises(ConfigError, match="SECRET_IDS"):
        invoke(event("scheduled.json"))


def test_botocore_stays_at_warning_when_lambda_logs_at_debug() -> None:
    # A fresh interpreter: only the rotator is imported, so nothing else can have pinned it.
    import subprocess
    import sys

    probe = (
        "import logging; logging.getLogger().setLevel(logging.DEBUG); import rotator.app; "
        "print(logging.getLogger('botocore').getEffectiveLevel())"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True)
    assert int(out.stdout.split()[-1]) == 30  # logging.WARNING


def test_the_refresh_lambda_manual_event_rotates(env: RotatorStack) -> None:
    minted = env.mint_v1(30 * DAY)
    before = env.create_secret(minted.console_json())
    arn = env.client().describe_secret(SecretId=SECRET_ID)["ARN"]
    [result] = invoke({"SecretId": arn})["results"]
    assert (result["outcome"], result["previous_version_id"]) == ("rotated", before)
    assert_works(env.momento, value(env.client(), SECRET_ID)["apiKey"])


def test_a_spent_refresh_token_raises_the_operator_action_alarm(
    env: RotatorStack, capfd: pytest.CaptureFixture[str]
) -> None:
    from shared.momento_types import MasterKey

    minted = env.mint_v1(30 * DAY)
    env.create_secret(minted.console_json())
    env.momento.refresh_v1(MasterKey(minted.api_key), minted.refresh_token)  # spent elsewhere
    with pytest.raises(RotationFailedError, match="Momento console"):
        invoke(event("rotate-now.json"))
    out = capfd.readouterr().out
    metrics = emf(out)
    assert (metrics["OperatorActionRequired"], metrics["RotationFailed"]) == ([1.0], [1.0])


def test_orphans_are_counted(env: RotatorStack, capfd: pytest.CaptureFixture[str]) -> None:
    from rotator.engine import Outcome, RotationResult
    from rotator.orphans import OrphanRecord

    orphans = (
        OrphanRecord("r-1", "v1", None, 1, False, "lost"),
        OrphanRecord("r-2", "v2", "k-2", 1, True, "lost"),
        OrphanRecord("r-3", "v2", "k-3", 1, False, "lost"),
    )
    app._record(RotationResult(SECRET_ID, Outcome.ROTATED, "due", orphans=orphans))
    app.metrics.flush_metrics()
    metrics = emf(capfd.readouterr().out)
    assert (metrics["OrphanedKeys"], metrics["OrphansRevoked"]) == ([2.0], [1.0])
