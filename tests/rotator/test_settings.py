"""Settings: defaults, and every bad variable reported at once."""

from __future__ import annotations

import pytest

from rotator.settings import DEFAULT_V2_REVOKE_GRACE_SECONDS, RotatorSettings, StrategyChoice
from shared.errors import ConfigError


def test_defaults_rotate_below_a_third_of_the_lifetime_with_auto_strategy() -> None:
    settings = RotatorSettings.read({})
    assert settings.rotation_threshold == pytest.approx(1 / 3)
    assert settings.strategy is StrategyChoice.AUTO
    assert settings.secret_ids == ()
    assert settings.generated_key_valid_seconds is None
    assert settings.v2_revoke_grace_seconds == DEFAULT_V2_REVOKE_GRACE_SECONDS


def test_values_are_read_from_the_environment() -> None:
    settings = RotatorSettings.read(
        {
            "SECRET_IDS": "a, b",
            "ROTATION_THRESHOLD": "0.5",
            "ROTATION_STRATEGY": "v2",
            "GENERATED_KEY_VALID_SECONDS": "86400",
            "MOMENTO_V2_ROLE_ID": "owner",
            "V2_REVOKE_GRACE_SECONDS": "60",
            "CLAIM_LEASE_SECONDS": "120",
        }
    )
    assert settings.secret_ids == ("a", "b")
    assert settings.rotation_threshold == 0.5
    assert settings.strategy is StrategyChoice.V2
    assert settings.generated_key_valid_seconds == 86400
    assert settings.v2_role_id == "owner"
    assert (settings.v2_revoke_grace_seconds, settings.claim_lease_seconds) == (60, 120)


def test_every_bad_variable_is_named_in_one_error() -> None:
    with pytest.raises(ConfigError) as raised:
        RotatorSettings.read(
            {"ROTATION_THRESHOLD": "2", "ROTATION_STRATEGY": "magic", "CLAIM_LEASE_SECONDS": "soon"}
        )
    problems = " ".join(raised.value.problems)
    for name in ("ROTATION_THRESHOLD", "ROTATION_STRATEGY", "CLAIM_LEASE_SECONDS"):
        assert name in problems
