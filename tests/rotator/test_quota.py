"""Momento's auth quota (5 operations/s per account, shared with every vendor container).

Under vending load the first rotation attempt of every load run was refused with
LIMIT_EXCEEDED. The rotator now retries that refusal with jittered backoff inside the
invocation's time budget; a refusal cannot have spent the refresh token, and nothing else
(an unavailable Momento, a timeout) is retried.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from rotator.engine import CLAIM_LABEL, Outcome
from rotator.invocation import Dependencies
from rotator.quota import QuotaRetrying
from shared.errors import MomentoLimitExceededError, MomentoUnavailableError
from shared.momento_types import MasterKey
from tests.rotator.asserts import assert_works, holder, value
from tests.rotator.faults import MomentoFaults
from tests.rotator.support import SECRET_ID, RotatorStack

DAY = 86400


@pytest.fixture
def due(rstack: RotatorStack) -> Iterator[str]:
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    rstack.clock.advance(21 * DAY)
    yield minted.api_key
    rstack.server.set_quota(None)


def _real_time_deps(rstack: RotatorStack, momento: MomentoFaults) -> Dependencies:
    return Dependencies(
        settings=rstack.settings(),
        secrets_client=rstack.client(),
        momento=momento,
        clock=rstack.clock,
        sleep=time.sleep,
    )


def _exhaust(rstack: RotatorStack, api_key: str) -> None:
    """Spend the account's burst as busy vendor containers would."""
    key = MasterKey(api_key)
    for _ in range(50):
        try:
            rstack.momento.check_key(key)
        except MomentoLimitExceededError:
            return
    raise AssertionError("the quota never refused")


def test_a_throttled_rotation_retries_and_succeeds_within_its_budget(rstack: RotatorStack, due: str) -> None:
    rstack.server.set_quota(5.0)
    _exhaust(rstack, due)
    momento = MomentoFaults(rstack.momento)
    rotation = _real_time_deps(rstack, momento).rotation(SECRET_ID, deadline=time.monotonic() + 30)
    result = rotation.run()
    assert result.outcome is Outcome.ROTATED
    assert isinstance(rotation.momento, QuotaRetrying)
    assert rotation.momento.retried >= 1
    assert momento.calls["refresh_v1"] == 1  # one refresh that Momento carried out
    rstack.server.set_quota(None)
    assert_works(rstack.momento, value(rstack.client(), SECRET_ID)["apiKey"])


def test_out_of_budget_the_refusal_is_reported_and_the_claim_given_back(
    rstack: RotatorStack, due: str
) -> None:
    rstack.server.set_quota(0.001, burst=0)
    momento = MomentoFaults(rstack.momento)
    rotation = _real_time_deps(rstack, momento).rotation(SECRET_ID, deadline=time.monotonic() + 0.3)
    with pytest.raises(MomentoLimitExceededError):
        rotation.run()
    assert holder(rstack.client(), SECRET_ID, CLAIM_LABEL) is None
    assert value(rstack.client(), SECRET_ID)["apiKey"] == due


def test_a_refresh_refused_by_the_quota_is_retried_and_spends_the_token_once(
    rstack: RotatorStack, due: str
) -> None:
    momento = MomentoFaults(rstack.momento)
    momento.fail("refresh_v1", MomentoLimitExceededError("injected"))
    momento.fail("refresh_v1", MomentoLimitExceededError("injected"))
    rotation = _real_time_deps(rstack, momento).rotation(SECRET_ID, deadline=time.monotonic() + 30)
    assert rotation.run().outcome is Outcome.ROTATED
    assert (momento.attempts["refresh_v1"], momento.calls["refresh_v1"]) == (3, 1)


def test_an_unavailable_refresh_is_never_retried(rstack: RotatorStack, due: str) -> None:
    # A timeout or an outage may hide a refresh that happened: calling again could spend a
    # token that is already spent, so the run fails and keeps its claim.
    momento = MomentoFaults(rstack.momento)
    momento.fail("refresh_v1", MomentoUnavailableError("injected"))
    rotation = _real_time_deps(rstack, momento).rotation(SECRET_ID, deadline=time.monotonic() + 30)
    with pytest.raises(MomentoUnavailableError):
        rotation.run()
    assert momento.attempts["refresh_v1"] == 1
    assert holder(rstack.client(), SECRET_ID, CLAIM_LABEL) is not None
