"""One rotation against moto's server and the local Momento server, with the real SDK.

The clock is the Momento server's, so "21 days later" is the same instant for the key's
expiry, the rotator's skip logic and the claim lease.
"""

from __future__ import annotations

import json

import pytest

from rotator.engine import Outcome, rotation_due
from shared.errors import (
    ConfigError,
    OperatorActionRequiredError,
    RotationInProgressError,
    RotationRefusedError,
)
from shared.momento_types import MasterKey
from shared.secret_format import parse_secret
from tests.rotator.asserts import assert_clean_after_rotation, assert_works, holder, value
from tests.rotator.faults import MomentoFaults
from tests.rotator.support import SECRET_ID, RotatorStack

DAY = 86400


def test_full_cycle_refreshes_stores_tests_and_promotes(rstack: RotatorStack) -> None:
    # GIVEN a console-style v1 key with 9 of its 30 days left
    minted = rstack.mint_v1(30 * DAY)
    first_version = rstack.create_secret(minted.console_json())
    rstack.clock.advance(21 * DAY)
    momento = MomentoFaults(rstack.momento)

    # WHEN the rotator runs
    result = rstack.rotation(momento=momento).run()

    # THEN the key was refreshed once, tested, and promoted; the old version is AWSPREVIOUS
    assert result.outcome is Outcome.ROTATED
    assert result.strategy == "refresh"
    assert momento.calls["refresh_v1"] == 1
    sm = rstack.client()
    assert result.previous_version_id == first_version
    assert holder(sm, SECRET_ID, "AWSCURRENT") == result.current_version_id != first_version
    assert holder(sm, SECRET_ID, "AWSPREVIOUS") == first_version
    assert_clean_after_rotation(sm, SECRET_ID)
    new = value(sm, SECRET_ID)
    assert set(new) == {"apiKey", "refreshToken", "validUntil"}
    assert new["apiKey"] != minted.api_key
    assert new["refreshToken"] != minted.refresh_token
    assert new["validUntil"] > minted.valid_until
    assert result.hours_left == pytest.approx(30 * 24, abs=0.1)
    # the new key works, and so does the old one until it expires
    assert_works(rstack.momento, new["apiKey"])
    assert_works(rstack.momento, minted.api_key)
    # AND a second run right after has nothing to do
    again = rstack.rotation().run()
    assert again.outcome is Outcome.SKIPPED
    assert holder(sm, SECRET_ID, "AWSCURRENT") == result.current_version_id


@pytest.mark.parametrize(
    ("days_later", "force", "rotates"),
    [(0, False, False), (19, False, False), (21, False, True), (29.9, False, True), (0, True, True)],
)
def test_rotates_only_below_the_threshold_unless_forced(
    rstack: RotatorStack, days_later: float, force: bool, rotates: bool
) -> None:
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    rstack.clock.advance(days_later * DAY)
    result = rstack.rotation().run(force=force)
    assert (result.outcome is Outcome.ROTATED) is rotates
    if not rotates:
        assert result.outcome is Outcome.SKIPPED
        assert "h left" in result.reason
        assert value(rstack.client(), SECRET_ID)["apiKey"] == minted.api_key


def test_the_threshold_is_configurable(rstack: RotatorStack) -> None:
    rstack.create_secret(rstack.mint_v1(30 * DAY).console_json())
    rstack.clock.advance(10 * DAY)
    assert rstack.rotation().run().outcome is Outcome.SKIPPED
    assert rstack.rotation(rotation_threshold="0.7").run().outcome is Outcome.ROTATED


def test_a_never_expiring_v1_key_is_skipped_and_forcing_it_is_refused(rstack: RotatorStack) -> None:
    # Nothing can revoke a v1 key: a forced rotation would leave the old super-user key valid
    # forever and forgotten (before issue 11 it did exactly that).
    minted = rstack.mint_v1(None)
    version = rstack.create_secret(minted.console_json())
    skipped = rstack.rotation().run()
    assert (skipped.outcome, skipped.reason) == (Outcome.SKIPPED, "the key never expires")
    momento = MomentoFaults(rstack.momento)
    with pytest.raises(RotationRefusedError, match="nothing can revoke a v1 key"):
        rstack.rotation(momento=momento).run(force=True)
    assert sum(momento.attempts.values()) == 0
    stages = rstack.client().describe_secret(SecretId=SECRET_ID)["VersionIdsToStages"]
    assert stages == {version: ["AWSCURRENT"]}


def test_without_issued_at_the_lifetime_starts_at_the_versions_creation() -> None:
    # A key whose JWT carries no iat: the AWSCURRENT version's CreatedDate stands in.
    secret = parse_secret("s", json.dumps({"apiKey": "opaque-key-without-claims", "validUntil": 1_000_000}))
    assert secret.issued_at is None
    assert rotation_due(secret, current_created_at=100_000, now=300_000, threshold=1 / 3)[0] is False
    assert rotation_due(secret, current_created_at=100_000, now=750_000, threshold=1 / 3)[0] is True
    assert rotation_due(secret, current_created_at=100_000, now=1_000_001, threshold=1 / 3) == (
        True,
        "the key has expired",
    )


# --- secret shapes ----------------------------------------------------------------------------


def test_the_refresh_lambda_shape_is_written_back_alike(rstack: RotatorStack) -> None:
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(
        {
            "authToken": minted.api_key,
            "refreshToken": minted.refresh_token,
            "validUntil": str(minted.valid_until),
            "team": "payments",
        }
    )
    result = rstack.rotation().run(force=True)
    assert result.strategy == "refresh"
    new = value(rstack.client(), SECRET_ID)
    assert set(new) == {"authToken", "refreshToken", "validUntil", "team"}
    assert isinstance(new["validUntil"], str)
    assert new["team"] == "payments"
    assert_works(rstack.momento, new["authToken"])


@pytest.mark.parametrize("shape", ["seed", "plain"])
def test_a_v1_key_without_refresh_token_needs_an_operator_and_nothing_is_claimed(
    rstack: RotatorStack, shape: str
) -> None:
    # A v1 key cannot generate a super-user successor (Momento: PERMISSION_ERROR), so a v1 key
    # without a refresh token cannot be renewed unattended. Before issue 11: `generate`.
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret({"momento": minted.api_key} if shape == "seed" else minted.api_key)
    assert rstack.rotation().run().outcome is Outcome.SKIPPED  # not due: nothing to say yet
    rstack.clock.advance(25 * DAY)
    momento = MomentoFaults(rstack.momento)
    with pytest.raises(OperatorActionRequiredError, match="v2 API key") as raised:
        rstack.rotation(momento=momento).run()
    assert raised.value.reason == "no_refresh_token"
    assert sum(momento.attempts.values()) == 0
    assert holder(rstack.client(), SECRET_ID, "KEYGUARD_CLAIM") is None
    stored = value(rstack.client(), SECRET_ID)
    assert (stored["momento"] if shape == "seed" else stored) == minted.api_key


# --- refusals: what needs an operator -----------------------------------------------------------


def _spend(rstack: RotatorStack, api_key: str, refresh_token: str) -> None:
    """Someone (a crashed run, another tool) already used the stored refresh token."""
    rstack.momento.refresh_v1(MasterKey(api_key), refresh_token)


@pytest.mark.parametrize("strategy", ["auto", "refresh"])
def test_a_spent_refresh_token_is_an_operator_action_and_nothing_changes(
    rstack: RotatorStack, strategy: str
) -> None:
    # Before issue 11 `auto` fell back to generating a super-user key with the v1 key, which
    # Momento refuses (PERMISSION_ERROR): a dead end that looked like a plan.
    minted = rstack.mint_v1(30 * DAY)
    version = rstack.create_secret(minted.console_json())
    _spend(rstack, minted.api_key, minted.refresh_token)
    momento = MomentoFaults(rstack.momento)
    with pytest.raises(OperatorActionRequiredError, match="Momento console") as raised:
        rstack.rotation(momento=momento, rotation_strategy=strategy).run(force=True)
    assert raised.value.reason == "refresh_refused"
    assert not raised.value.retryable
    assert momento.attempts["generate_v1"] == 0
    assert holder(rstack.client(), SECRET_ID, "AWSCURRENT") == version
    assert holder(rstack.client(), SECRET_ID, "AWSPENDING") is None
    assert holder(rstack.client(), SECRET_ID, "KEYGUARD_CLAIM") is None  # Momento refused: released
    assert value(rstack.client(), SECRET_ID)["apiKey"] == minted.api_key
    # AND once the operator stores a fresh key (the runbook), the next run rotates at once
    fresh = rstack.mint_v1(30 * DAY)
    rstack.client().put_secret_value(SecretId=SECRET_ID, SecretString=json.dumps(fresh.console_json()))
    assert rstack.rotation().run(force=True).strategy == "refresh"


def test_generate_is_refused_as_a_strategy(rstack: RotatorStack) -> None:
    with pytest.raises(ConfigError, match="PERMISSION_ERROR"):
        rstack.settings(rotation_strategy="generate")


def test_an_expired_key_is_an_operator_action_before_any_claim(rstack: RotatorStack) -> None:
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    rstack.clock.advance(31 * DAY)
    momento = MomentoFaults(rstack.momento)
    with pytest.raises(OperatorActionRequiredError, match="expired") as raised:
        rstack.rotation(momento=momento).run()
    assert raised.value.reason == "key_refused"
    assert momento.attempts["refresh_v1"] == 0
    assert holder(rstack.client(), SECRET_ID, "KEYGUARD_CLAIM") is None
    assert value(rstack.client(), SECRET_ID)["apiKey"] == minted.api_key


def test_a_key_that_cannot_mint_keeps_its_refresh_token_unspent(rstack: RotatorStack) -> None:
    # Before issue 11 the refresh token of a data-only v1 key was spent first, and only the
    # successor's test found that it could not mint: the token gone for nothing.
    minted = rstack.mint_v1(30 * DAY, super_user=False)
    rstack.create_secret(minted.console_json())
    momento = MomentoFaults(rstack.momento)
    with pytest.raises(OperatorActionRequiredError, match="cannot mint") as raised:
        rstack.rotation(momento=momento).run(force=True)
    assert raised.value.reason == "key_cannot_mint"
    assert momento.attempts["refresh_v1"] == 0
    assert holder(rstack.client(), SECRET_ID, "KEYGUARD_CLAIM") is None
    assert value(rstack.client(), SECRET_ID)["apiKey"] == minted.api_key
    # the refresh token is still good (spending it here proves it was not spent before)
    rstack.momento.refresh_v1(MasterKey(minted.api_key), minted.refresh_token)


def test_a_held_claim_makes_a_second_run_back_off(rstack: RotatorStack) -> None:
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    momento = MomentoFaults(rstack.momento)
    first = rstack.rotation(momento=momento)
    state = first.store.describe()
    current = first.store.get(stage="AWSCURRENT")
    first._claim(state, current, None)  # a run that claimed and is still at work
    with pytest.raises(RotationInProgressError) as raised:
        rstack.rotation(momento=momento).run(force=True)
    assert raised.value.retryable
    assert momento.attempts["refresh_v1"] == 0
