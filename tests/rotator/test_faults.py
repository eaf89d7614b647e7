"""Secrets Manager throttled or failing on each call, Momento down, slow or over its quota.

Transient faults are absorbed by bounded retries (Secrets Manager) and the run succeeds;
lasting faults fail the run with a retryable error, the key in AWSCURRENT keeps working, and
the next run after the fault completes the rotation.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rotator.engine import Outcome, RotationResult
from shared.config import CommonSettings
from shared.errors import (
    KeyGuardError,
    MomentoUnavailableError,
    OperatorActionRequiredError,
    RotationInProgressError,
)
from shared.momento_access import SdkMomentoAccess
from tests.rotator.asserts import assert_clean_after_rotation, assert_works, holder, value
from tests.rotator.faults import MomentoFaults, Params, SecretsManagerFaults, staged
from tests.rotator.support import SECRET_ID, RotatorStack

DAY = 86400
ANY: Callable[[Params], bool] = lambda _params: True  # noqa: E731

#: Every Secrets Manager call a rotation makes, told apart by what it touches.
CALLS: dict[str, tuple[str, Callable[[Params], bool]]] = {
    "describe": ("DescribeSecret", ANY),
    "read": ("GetSecretValue", ANY),
    "claim": ("PutSecretValue", staged("KEYGUARD_CLAIM")),
    "store successor": ("PutSecretValue", staged("AWSPENDING")),
    "promote": ("UpdateSecretVersionStage", staged("AWSCURRENT")),
    "clear AWSPENDING": ("UpdateSecretVersionStage", staged("AWSPENDING")),
}


def _due_secret(rstack: RotatorStack) -> str:
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    rstack.clock.advance(21 * DAY)
    return minted.api_key


@pytest.mark.parametrize("code", ["ThrottlingException", "InternalServiceError"])
@pytest.mark.parametrize("call", list(CALLS))
def test_transient_secrets_manager_faults_on_each_call_are_retried(
    rstack: RotatorStack, call: str, code: str
) -> None:
    old_key = _due_secret(rstack)
    client = rstack.client()
    faults = SecretsManagerFaults(client)
    operation, when = CALLS[call]
    faults.fail(operation, code, 400 if code.startswith("Throttling") else 500, times=2, when=when)

    result = rstack.rotation(client=client).run()

    assert result.outcome is Outcome.ROTATED
    assert all(rule.times == 0 for rule in faults.rules), "the fault was never hit"
    new_key = value(rstack.client(), SECRET_ID)["apiKey"]
    assert new_key != old_key
    assert_works(rstack.momento, new_key)
    assert_clean_after_rotation(rstack.client(), SECRET_ID)


@pytest.mark.parametrize("call", list(CALLS))
def test_a_lasting_secrets_manager_failure_on_each_call_leaves_a_working_key(
    rstack: RotatorStack, call: str
) -> None:
    old_key = _due_secret(rstack)
    client = rstack.client()
    faults = SecretsManagerFaults(client)
    operation, when = CALLS[call]
    faults.fail(operation, "InternalServiceError", 500, times=1000, when=when)

    # WHEN every attempt of this call fails
    # THEN the run fails retryably, except where the key was already promoted
    if call == "clear AWSPENDING":
        assert rstack.rotation(client=client).run().outcome is Outcome.ROTATED
    else:
        with pytest.raises(KeyGuardError) as raised:
            rstack.rotation(client=client).run()
        assert raised.value.retryable, raised.value
    # AND AWSCURRENT works throughout
    assert_works(rstack.momento, value(rstack.client(), SECRET_ID)["apiKey"])

    # WHEN Secrets Manager recovers and the claim lease has passed, the next run completes
    rstack.clock.advance(901)
    if call == "store successor":
        # the refresh token was spent on a key that could not be stored: a v1 orphan, and the
        # v1 key cannot be renewed another way (no generate fallback: Momento forbids it)
        with pytest.raises(OperatorActionRequiredError, match="refresh token"):
            rstack.rotation().run()
        assert value(rstack.client(), SECRET_ID)["apiKey"] == old_key
        return
    rstack.rotation().run()
    new_key = value(rstack.client(), SECRET_ID)["apiKey"]
    assert new_key != old_key
    assert_works(rstack.momento, new_key)
    assert_clean_after_rotation(rstack.client(), SECRET_ID)


def test_momento_down_fails_retryably_and_the_next_run_completes(rstack: RotatorStack) -> None:
    old_key = _due_secret(rstack)
    rstack.server.faults.set(unavailable=True, only=["RefreshApiToken", "GenerateApiToken"])
    with pytest.raises(MomentoUnavailableError) as raised:
        rstack.rotation().run()
    assert raised.value.retryable
    assert value(rstack.client(), SECRET_ID)["apiKey"] == old_key
    rstack.server.faults.clear()
    rstack.clock.advance(901)
    result = rstack.rotation().run()
    assert (result.outcome, result.strategy) == (Outcome.ROTATED, "refresh")
    assert_works(rstack.momento, value(rstack.client(), SECRET_ID)["apiKey"])


def test_momento_down_during_the_test_step_keeps_the_successor_for_the_next_run(rstack: RotatorStack) -> None:
    _due_secret(rstack)
    momento = MomentoFaults(rstack.momento)
    # the second check is the successor's test (the first proves the current key can mint)
    momento.fail("check_key", MomentoUnavailableError("injected"), skip=1)
    with pytest.raises(MomentoUnavailableError):
        rstack.rotation(momento=momento).run()
    assert rstack.rotation().run().outcome is Outcome.RESUMED


def test_slow_momento_times_out_and_the_next_run_recovers(rstack: RotatorStack) -> None:
    # GIVEN Momento answers a refresh after the client gave up (the token may be spent or not)
    old_key = _due_secret(rstack)
    impatient = SdkMomentoAccess(
        CommonSettings(
            secrets_manager_endpoint_url=None,
            momento_local_endpoint=rstack.common.momento_local_endpoint,
            momento_api_keys_url=rstack.common.momento_api_keys_url,
            momento_timeout_seconds=0.2,
        )
    )
    rstack.server.faults.set(latency_seconds=0.5, only=["RefreshApiToken"])
    try:
        with pytest.raises(MomentoUnavailableError):
            rstack.rotation(momento=impatient).run()
    finally:
        impatient.close()
        rstack.server.faults.clear()
    assert value(rstack.client(), SECRET_ID)["apiKey"] == old_key
    # WHEN the next run comes after the lease THEN it rotates by refresh when the timed-out call
    # never reached the server's handler; when it did and spent the token, it records the v1
    # orphan and asks an operator to act
    rstack.clock.advance(901)
    rotation = rstack.rotation()
    outcome: RotationResult | OperatorActionRequiredError
    try:
        outcome = rotation.run()
    except OperatorActionRequiredError as exc:
        outcome = exc
    if isinstance(outcome, OperatorActionRequiredError):
        assert outcome.reason == "refresh_refused"
        assert [orphan.kind for orphan in rotation.orphans_seen] == ["v1"]
        assert value(rstack.client(), SECRET_ID)["apiKey"] == old_key
    else:
        assert (outcome.outcome, outcome.strategy) == (Outcome.ROTATED, "refresh")
    assert_works(rstack.momento, value(rstack.client(), SECRET_ID)["apiKey"])


def test_momento_quota_exceeded_is_retryable_changes_nothing_and_releases_the_claim(
    rstack: RotatorStack,
) -> None:
    # GIVEN a due key and Momento refusing everything over its quota
    old_key = _due_secret(rstack)
    rstack.server.set_quota(0.001, burst=0)
    try:
        with pytest.raises(KeyGuardError) as raised:
            rstack.rotation().run()
    finally:
        rstack.server.set_quota(None)
    # THEN the run fails retryably and the secret is unchanged
    assert raised.value.code == "momento_limit_exceeded"
    assert raised.value.retryable
    assert value(rstack.client(), SECRET_ID)["apiKey"] == old_key
    # AND Momento certainly issued nothing, so the claim was given back
    assert holder(rstack.client(), SECRET_ID, "KEYGUARD_CLAIM") is None
    # AND the next run, well within the claim lease, rotates instead of reporting "in progress"
    assert rstack.rotation().run().outcome is Outcome.ROTATED
    assert value(rstack.client(), SECRET_ID)["apiKey"] != old_key


def test_an_unavailable_momento_keeps_the_claim_because_a_refresh_may_have_happened(
    rstack: RotatorStack,
) -> None:
    # GIVEN a due key and Momento's refresh down (a timeout may hide a spent refresh token)
    _due_secret(rstack)
    rstack.server.faults.set(unavailable=True, only=["RefreshApiToken"])
    try:
        with pytest.raises(MomentoUnavailableError):
            rstack.rotation().run()
    finally:
        rstack.server.faults.set(unavailable=False)
    # THEN the claim is kept for its lease: a run right after backs off
    assert holder(rstack.client(), SECRET_ID, "KEYGUARD_CLAIM") is not None
    with pytest.raises(RotationInProgressError):
        rstack.rotation().run()
