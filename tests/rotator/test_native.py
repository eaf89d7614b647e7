"""Secrets Manager's own rotation: the four steps, AWS's pre-step checks, and reruns.

moto cannot leave a secret the way RotateSecret does before createSecret (see moto_state),
so each test stages the token there and then drives the steps as Secrets Manager would.
"""

from __future__ import annotations

import pytest

from rotator.engine import Outcome
from rotator.events import NATIVE_STEPS, NativeStepRequest
from rotator.native import run_step
from shared.errors import RotationStateError
from tests.rotator.asserts import assert_clean_after_rotation, assert_works, holder, value
from tests.rotator.faults import MomentoFaults
from tests.rotator.moto_state import stage_rotation_token
from tests.rotator.support import SECRET_ID, RotatorStack

DAY = 86400
TOKEN = "99999999-9999-4999-8999-999999999999"


def step(rstack: RotatorStack, name: str, momento: MomentoFaults | None = None) -> Outcome:
    return run_step(rstack.rotation(momento=momento), NativeStepRequest(SECRET_ID, TOKEN, name, None)).outcome


def test_the_four_steps_rotate_and_each_rerun_is_harmless(rstack: RotatorStack) -> None:
    minted = rstack.mint_v1(30 * DAY)
    first_version = rstack.create_secret(minted.console_json())
    stage_rotation_token(SECRET_ID, TOKEN)
    momento = MomentoFaults(rstack.momento)

    # Every step twice: Secrets Manager retries a step whose invocation failed.
    for name in NATIVE_STEPS:
        step(rstack, name, momento)
        step(rstack, name, momento)

    assert momento.attempts["refresh_v1"] == 1
    sm = rstack.client()
    assert holder(sm, SECRET_ID, "AWSCURRENT") == TOKEN
    assert holder(sm, SECRET_ID, "AWSPREVIOUS") == first_version
    assert_clean_after_rotation(sm, SECRET_ID)
    new = value(sm, SECRET_ID)
    assert new["apiKey"] != minted.api_key
    assert_works(rstack.momento, new["apiKey"])


def test_create_secret_stores_the_successor_under_the_token_as_awspending(rstack: RotatorStack) -> None:
    rstack.create_secret(rstack.mint_v1(30 * DAY).console_json())
    stage_rotation_token(SECRET_ID, TOKEN)
    assert step(rstack, "createSecret") is Outcome.DONE
    pending = rstack.client().get_secret_value(SecretId=SECRET_ID, VersionStage="AWSPENDING")
    assert pending["VersionId"] == TOKEN
    assert step(rstack, "testSecret") is Outcome.DONE


def test_rotation_must_be_enabled(rstack: RotatorStack) -> None:
    rstack.create_secret(rstack.mint_v1(30 * DAY).console_json())
    rstack.client().put_secret_value(
        SecretId=SECRET_ID, ClientRequestToken=TOKEN, SecretString="x" * 20, VersionStages=["AWSPENDING"]
    )
    with pytest.raises(RotationStateError, match="rotation enabled"):
        step(rstack, "createSecret")


def test_an_unknown_token_is_refused(rstack: RotatorStack) -> None:
    rstack.create_secret(rstack.mint_v1(30 * DAY).console_json())
    stage_rotation_token(SECRET_ID, "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa")
    with pytest.raises(RotationStateError, match="no stage for rotation"):
        step(rstack, "createSecret")


def test_a_token_that_is_not_awspending_is_refused(rstack: RotatorStack) -> None:
    rstack.create_secret(rstack.mint_v1(30 * DAY).console_json())
    stage_rotation_token(SECRET_ID, TOKEN)
    stage_rotation_token(SECRET_ID, "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb")  # AWSPENDING moved on
    with pytest.raises(RotationStateError, match="not staged AWSPENDING"):
        step(rstack, "testSecret")


def test_a_token_already_current_is_done_for_every_step(rstack: RotatorStack) -> None:
    version = rstack.create_secret(rstack.mint_v1(30 * DAY).console_json())
    stage_rotation_token(SECRET_ID, TOKEN)
    momento = MomentoFaults(rstack.momento)
    for name in NATIVE_STEPS:
        result = run_step(rstack.rotation(momento=momento), NativeStepRequest(SECRET_ID, version, name, None))
        assert result.outcome is Outcome.DONE
    assert sum(momento.attempts.values()) == 0


def test_a_scheduled_run_finishes_a_native_rotation_left_after_create(rstack: RotatorStack) -> None:
    # GIVEN createSecret ran and Secrets Manager gave up on the later steps
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    stage_rotation_token(SECRET_ID, TOKEN)
    step(rstack, "createSecret")
    # WHEN the schedule runs THEN it resumes: tests and promotes the stored successor
    result = rstack.rotation().run()
    assert (result.outcome, result.current_version_id) == (Outcome.RESUMED, TOKEN)
    # AND Secrets Manager's later retries find nothing left to do
    assert step(rstack, "finishSecret") is Outcome.DONE
    assert_clean_after_rotation(rstack.client(), SECRET_ID)


def test_test_secret_succeeds_when_a_scheduled_run_promoted_meanwhile(rstack: RotatorStack) -> None:
    # GIVEN createSecret stored the successor, and testSecret has done its checks (DescribeSecret)
    rstack.create_secret(rstack.mint_v1(30 * DAY).console_json())
    stage_rotation_token(SECRET_ID, TOKEN)
    step(rstack, "createSecret")
    rotation = rstack.rotation()
    # WHEN a scheduled run resumes and promotes it before testSecret reads it
    assert rstack.rotation().run().outcome is Outcome.RESUMED
    # THEN testSecret succeeds: the rotation is complete (before issue 11: not found as AWSPENDING)
    result = rotation.test_pending(TOKEN)
    assert (result.outcome, result.reason) == (Outcome.DONE, "rotation already complete")


@pytest.mark.parametrize("name", ["testSecret", "finishSecret"])
def test_a_step_before_create_secret_says_what_is_missing(rstack: RotatorStack, name: str) -> None:
    version = rstack.create_secret(rstack.mint_v1(30 * DAY).console_json())
    stage_rotation_token(SECRET_ID, TOKEN)
    with pytest.raises(RotationStateError, match="createSecret has not run") as raised:
        step(rstack, name)
    assert "binary" not in str(raised.value)
    assert holder(rstack.client(), SECRET_ID, "AWSCURRENT") == version
