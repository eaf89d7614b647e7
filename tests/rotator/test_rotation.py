"""One rotation against moto's server and the local Momento server, with the real SDK.

The clock is the Momento server's, so "21 days later" is the same instant for the key's
expiry, the rotator's skip logic and the claim lease.
"""

from __future__ import annotations

import json

import pytest

from rotator.engine import Outcome, rotation_due
from shared.errors import (
    MomentoPermissionError,
    MomentoRefreshRefusedError,
    RotationInProgressError,
    SecretFormatError,
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


def test_a_never_expiring_key_is_skipped_unless_forced(rstack: RotatorStack) -> None:
    minted = rstack.mint_v1(None)
    rstack.create_secret(minted.console_json())
    skipped = rstack.rotation().run()
    assert (skipped.outcome, skipped.reason) == (Outcome.SKIPPED, "the key never expires")
    forced = rstack.rotation().run(force=True)
    assert (forced.outcome, forced.strategy) == (Outcome.ROTATED, "refresh")
    assert_works(rstack.momento, value(rstack.client(), SECRET_ID)["apiKey"])


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


def test_the_seed_shape_without_refresh_token_is_rotated_by_generate(rstack: RotatorStack) -> None:
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret({"momento": minted.api_key})
    result = rstack.rotation().run(force=True)
    assert result.strategy == "generate"
    new = value(rstack.client(), SECRET_ID)
    assert set(new) >= {"momento"}
    assert new["momento"] != minted.api_key
    assert_works(rstack.momento, new["momento"])


def test_a_plain_string_secret_stays_a_plain_string(rstack: RotatorStack) -> None:
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.api_key)
    rstack.clock.advance(25 * DAY)
    result = rstack.rotation().run()
    assert (result.outcome, result.strategy) == (Outcome.ROTATED, "generate")
    new = value(rstack.client(), SECRET_ID)
    assert isinstance(new, str)
    assert new != minted.api_key
    assert_works(rstack.momento, new)


# --- generate fallback and refusals -----------------------------------------------------------


def _spend(rstack: RotatorStack, api_key: str, refresh_token: str) -> None:
    """Someone (a crashed run, another tool) already used the stored refresh token."""
    rstack.momento.refresh_v1(MasterKey(api_key), refresh_token)


def test_a_spent_refresh_token_falls_back_to_generate_with_the_current_key(rstack: RotatorStack) -> None:
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    _spend(rstack, minted.api_key, minted.refresh_token)
    result = rstack.rotation().run(force=True)
    assert (result.outcome, result.strategy) == (Outcome.ROTATED, "generate")
    new = value(rstack.client(), SECRET_ID)
    assert new["refreshToken"]
    assert_works(rstack.momento, new["apiKey"])
    # the generated key comes with a fresh refresh token: the next rotation refreshes again
    assert rstack.rotation().run(force=True).strategy == "refresh"


def test_strategy_refresh_never_falls_back_and_tells_the_operator_what_to_do(rstack: RotatorStack) -> None:
    minted = rstack.mint_v1(30 * DAY)
    version = rstack.create_secret(minted.console_json())
    _spend(rstack, minted.api_key, minted.refresh_token)
    with pytest.raises(MomentoRefreshRefusedError, match="Momento console") as raised:
        rstack.rotation(rotation_strategy="refresh").run(force=True)
    assert not raised.value.retryable
    assert holder(rstack.client(), SECRET_ID, "AWSCURRENT") == version
    assert holder(rstack.client(), SECRET_ID, "AWSPENDING") is None
    assert value(rstack.client(), SECRET_ID)["apiKey"] == minted.api_key


def test_strategy_refresh_without_a_refresh_token_is_refused_before_any_claim(rstack: RotatorStack) -> None:
    # GIVEN a secret with no refresh token and ROTATION_STRATEGY=refresh
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret({"momento": minted.api_key})
    momento = MomentoFaults(rstack.momento)
    # WHEN a run comes THEN it names the problem without calling Momento or claiming the rotation
    with pytest.raises(SecretFormatError, match="refresh token"):
        rstack.rotation(momento=momento, rotation_strategy="refresh").run(force=True)
    assert sum(momento.attempts.values()) == 0
    assert holder(rstack.client(), SECRET_ID, "KEYGUARD_CLAIM") is None
    # AND once the configuration is fixed the next run rotates at once (no claim to wait out)
    assert rstack.rotation(momento=momento).run(force=True).strategy == "generate"


def test_an_expired_key_with_a_spent_token_is_an_operator_error_and_nothing_changes(
    rstack: RotatorStack,
) -> None:
    minted = rstack.mint_v1(30 * DAY)
    rstack.create_secret(minted.console_json())
    _spend(rstack, minted.api_key, minted.refresh_token)
    rstack.clock.advance(31 * DAY)
    with pytest.raises(MomentoRefreshRefusedError, match="store it as the secret's value"):
        rstack.rotation().run()
    assert holder(rstack.client(), SECRET_ID, "AWSPENDING") is None
    assert value(rstack.client(), SECRET_ID)["apiKey"] == minted.api_key


def test_a_data_only_key_cannot_mint_its_replacement(rstack: RotatorStack) -> None:
    minted = rstack.mint_v1(30 * DAY, super_user=False)
    rstack.create_secret({"momento": minted.api_key})
    with pytest.raises(MomentoPermissionError):
        rstack.rotation().run(force=True)
    assert value(rstack.client(), SECRET_ID)["momento"] == minted.api_key


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
