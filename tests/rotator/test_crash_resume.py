"""A crash between every two steps of a rotation, and the next run completing it.

Each case kills the first run at one point (the call reached Secrets Manager or Momento,
then the run died), checks that the key in AWSCURRENT still works, and shows that the next
run ends with a new, working key in AWSCURRENT and no rotation left half done, or, where the
dead run spent the v1 refresh token and lost its answer, that the next run records the orphan
and asks an operator to act (no API can renew a v1 key without its refresh token).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from rotator.engine import Outcome
from rotator.orphans import read_orphans
from rotator.secret_store import SecretStore
from shared.errors import OperatorActionRequiredError, RotationInProgressError, SecretStoreError
from tests.rotator.asserts import assert_clean_after_rotation, assert_works, value
from tests.rotator.faults import Crash, MomentoFaults, SecretsManagerFaults, staged
from tests.rotator.support import SECRET_ID, RotatorStack

DAY = 86400


@dataclass(frozen=True)
class CrashPoint:
    arm: Callable[[SecretsManagerFaults, MomentoFaults], None]
    #: The first run's error.
    raises: type[Exception]
    #: Whether the next run must wait for the claim lease (the crash left a claim, no successor).
    behind_lease: bool
    #: The next run's outcome and strategy; None: the next run needs an operator (v1 orphan).
    outcome: Outcome | None
    strategy: str | None


CRASH_POINTS = {
    "after the claim, before Momento": CrashPoint(
        lambda sm, _m: sm.crash_after("PutSecretValue", when=staged("KEYGUARD_CLAIM")),
        Crash,
        True,
        Outcome.ROTATED,
        "refresh",
    ),
    "after Momento refreshed, before the write": CrashPoint(
        lambda _sm, m: m.crash_after("refresh_v1"), Crash, True, None, None
    ),
    "the AWSPENDING write never lands": CrashPoint(
        lambda sm, _m: sm.fail(
            "PutSecretValue", "InternalServiceError", 500, times=99, when=staged("AWSPENDING")
        ),
        SecretStoreError,
        True,
        None,
        None,
    ),
    "after the AWSPENDING write": CrashPoint(
        lambda sm, _m: sm.crash_after("PutSecretValue", when=staged("AWSPENDING")),
        Crash,
        False,
        Outcome.RESUMED,
        None,
    ),
    "after the test, before promotion": CrashPoint(
        lambda _sm, m: m.crash_after("check_key", skip=1), Crash, False, Outcome.RESUMED, None
    ),
    "after AWSCURRENT moved, before AWSPENDING was removed": CrashPoint(
        lambda sm, _m: sm.crash_after("UpdateSecretVersionStage", when=staged("AWSCURRENT")),
        Crash,
        False,
        Outcome.SKIPPED,
        None,
    ),
}


@pytest.mark.parametrize("point", list(CRASH_POINTS))
def test_the_next_run_completes_after_a_crash(rstack: RotatorStack, point: str) -> None:
    case = CRASH_POINTS[point]
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    rstack.clock.advance(21 * DAY)

    # GIVEN a run that dies at this point
    client = rstack.client()
    sm_faults = SecretsManagerFaults(client)
    momento = MomentoFaults(rstack.momento)
    case.arm(sm_faults, momento)
    with pytest.raises(case.raises):
        rstack.rotation(momento=momento, client=client).run()

    # THEN whatever AWSCURRENT holds still works
    sm = rstack.client()
    assert_works(rstack.momento, value(sm, SECRET_ID)["apiKey"])

    # AND a run within the claim lease backs off instead of spending the refresh token again
    if case.behind_lease:
        watcher = MomentoFaults(rstack.momento)
        with pytest.raises(RotationInProgressError):
            rstack.rotation(momento=watcher).run()
        assert watcher.attempts["refresh_v1"] == 0
        rstack.clock.advance(901)

    # WHEN the next run comes
    if case.outcome is None:
        # THEN (refresh token spent, its key lost) it records the v1 orphan and asks for an operator
        with pytest.raises(OperatorActionRequiredError) as raised:
            rstack.rotation().run()
        assert raised.value.reason == "refresh_refused"
        assert value(sm, SECRET_ID)["apiKey"] == minted.api_key
        assert_works(rstack.momento, minted.api_key)
        store = SecretStore(sm, SECRET_ID)
        [orphan] = read_orphans(store, store.describe())
        assert (orphan.kind, orphan.revoked) == ("v1", False)
        return
    result = rstack.rotation().run()

    # THEN it completes: a new key in AWSCURRENT that works, nothing left half done
    assert (result.outcome, result.strategy) == (case.outcome, case.strategy)
    current = value(sm, SECRET_ID)
    assert current["apiKey"] != minted.api_key
    assert_works(rstack.momento, current["apiKey"])
    assert_clean_after_rotation(sm, SECRET_ID)
    # AND the chain goes on: the stored refresh token is live
    follow_up = rstack.rotation().run(force=True)
    assert (follow_up.outcome, follow_up.strategy) == (Outcome.ROTATED, "refresh")


def test_a_successor_that_stopped_working_is_dropped_and_replaced(rstack: RotatorStack) -> None:
    # GIVEN a run died after storing a successor, and the successor expired before anyone resumed it
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    rstack.clock.advance(21 * DAY)
    short_lived = rstack.server.mint_master_key(rstack.account, 60)
    pending = dict(minted.console_json(), apiKey=short_lived.api_key, refreshToken=short_lived.refresh_token)
    pending["validUntil"] = short_lived.valid_until
    rstack.client().put_secret_value(
        SecretId=SECRET_ID,
        ClientRequestToken="77777777-7777-4777-8777-777777777777",
        SecretString=json.dumps(pending),
        VersionStages=["AWSPENDING"],
    )
    rstack.clock.advance(120)
    # WHEN the next run comes THEN it drops the dead successor and rotates from AWSCURRENT
    result = rstack.rotation().run()
    assert (result.outcome, result.strategy) == (Outcome.ROTATED, "refresh")
    assert result.current_version_id != "77777777-7777-4777-8777-777777777777"
    assert_works(rstack.momento, value(rstack.client(), SECRET_ID)["apiKey"])
    assert_clean_after_rotation(rstack.client(), SECRET_ID)


def test_a_long_outage_of_abandoned_claims_never_locks_the_secret(rstack: RotatorStack) -> None:
    # Each run after a lease takes the next claim generation. Claims used to start at generation
    # 0 and stop at 20: after 20 abandoned claims on one version (hours of an outage with an
    # hourly schedule) every later run failed with rotation_state, for good.
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    rstack.clock.advance(21 * DAY)
    for _ in range(22):
        client = rstack.client()
        SecretsManagerFaults(client).crash_after("PutSecretValue", when=staged("KEYGUARD_CLAIM"))
        with pytest.raises(Crash):
            rstack.rotation(client=client).run()
        rstack.clock.advance(901)
    result = rstack.rotation().run()
    assert (result.outcome, result.strategy) == (Outcome.ROTATED, "refresh")
    assert_works(rstack.momento, value(rstack.client(), SECRET_ID)["apiKey"])
