"""Rotations started at the same moment spend the refresh token once.

Threads run real rotations against moto's server (ThreadedMotoServer) and the local Momento
server; Momento's refresh is slowed so the runs overlap. Reserved concurrency 1 would not
cover these: the scheduled, native and manual paths can all be in flight together.

The claim relies on PutSecretValue being atomic, as it is on AWS. moto checks and stores a
version in one request handler without a lock; two puts would have to interleave inside
those few microseconds for this test to see two winners (no such run in 15 repeats here).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from rotator.engine import Outcome, RotationResult
from rotator.events import NativeStepRequest
from rotator.native import run_step
from shared.errors import RotationInProgressError
from tests.rotator.asserts import assert_clean_after_rotation, assert_works, holder, value
from tests.rotator.faults import MomentoFaults
from tests.rotator.moto_state import stage_rotation_token
from tests.rotator.support import SECRET_ID, RotatorStack

DAY = 86400
TOKEN = "88888888-8888-4888-8888-888888888888"


def _together(*runs: Callable[[], RotationResult]) -> list[RotationResult | BaseException]:
    barrier = threading.Barrier(len(runs))
    outcomes: list[RotationResult | BaseException] = [RuntimeError("did not run")] * len(runs)

    def target(index: int, run: Callable[[], RotationResult]) -> None:
        barrier.wait()
        try:
            outcomes[index] = run()
        except BaseException as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=target, args=(i, run)) for i, run in enumerate(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def test_two_scheduled_runs_at_once_refresh_exactly_once(rstack: RotatorStack) -> None:
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    rstack.clock.advance(21 * DAY)
    rstack.server.faults.set(latency_seconds=0.3, only=["RefreshApiToken"])
    counters = [MomentoFaults(rstack.momento), MomentoFaults(rstack.momento)]
    rotations = [rstack.rotation(momento=counter) for counter in counters]

    outcomes = _together(*(lambda r=r: r.run(force=True) for r in rotations))

    assert sum(counter.attempts["refresh_v1"] for counter in counters) == 1
    rotated = [o for o in outcomes if isinstance(o, RotationResult) and o.outcome is Outcome.ROTATED]
    backed_off = [o for o in outcomes if isinstance(o, RotationInProgressError)]
    assert (len(rotated), len(backed_off)) == (1, 1), outcomes
    assert_works(rstack.momento, value(rstack.client(), SECRET_ID)["apiKey"])
    assert_clean_after_rotation(rstack.client(), SECRET_ID)


def test_a_native_rotation_and_a_scheduled_run_at_once_refresh_exactly_once(rstack: RotatorStack) -> None:
    # GIVEN RotateSecret staged a token while the schedule fires
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    rstack.clock.advance(21 * DAY)
    stage_rotation_token(SECRET_ID, TOKEN)
    rstack.server.faults.set(latency_seconds=0.3, only=["RefreshApiToken"])
    native_counter, scheduled_counter = MomentoFaults(rstack.momento), MomentoFaults(rstack.momento)
    native = rstack.rotation(momento=native_counter)
    scheduled = rstack.rotation(momento=scheduled_counter)

    def create() -> RotationResult:
        return run_step(native, NativeStepRequest(SECRET_ID, TOKEN, "createSecret", None))

    outcomes = _together(create, scheduled.run)
    assert native_counter.attempts["refresh_v1"] + scheduled_counter.attempts["refresh_v1"] == 1
    assert sum(isinstance(o, RotationInProgressError) for o in outcomes) == 1, outcomes
    rstack.server.faults.clear()

    # WHEN Secrets Manager goes on with its steps (retrying the one that backed off)
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        run_step(rstack.rotation(), NativeStepRequest(SECRET_ID, TOKEN, step, None))

    # THEN both paths ended on the same successor, the staged token's version
    sm = rstack.client()
    assert holder(sm, SECRET_ID, "AWSCURRENT") == TOKEN
    assert_works(rstack.momento, value(sm, SECRET_ID)["apiKey"])
    assert_clean_after_rotation(sm, SECRET_ID)
