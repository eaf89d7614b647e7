"""Vendor settings: one object from the environment, every problem listed at once, caps enforced."""

from __future__ import annotations

import json

import pytest

from shared.errors import ConfigError
from vendor.settings import MOMENTO_MAX_TOKEN_TTL_SECONDS, VendorSettings

POLICY = json.dumps({"rules": [{"allow": [{"cache": "c", "role": "read_only"}]}]})
BASE = {"SECRET_ID": "momento/master-key", "VENDING_POLICY": POLICY}


def test_defaults() -> None:
    settings = VendorSettings.from_environ(BASE)
    assert (settings.auth_mode, settings.groups_claim) == ("jwt", "cognito:groups")
    assert settings.max_token_ttl_seconds == 3600
    assert settings.version_check_interval_seconds == 30.0
    assert settings.token_reuse_fraction == 0.8
    assert settings.shared_token_cache_name is None
    assert settings.cors_allow_origins == ()
    assert (settings.unavailable_retry_after_seconds, settings.throttled_retry_after_seconds) == (5, 1)


def test_every_problem_is_listed_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        VendorSettings.from_environ({"AUTH_MODE": "open", "TOKEN_REUSE_FRACTION": "x"})
    text = " | ".join(caught.value.problems)
    for name in ("SECRET_ID", "VENDING_POLICY", "AUTH_MODE", "TOKEN_REUSE_FRACTION"):
        assert name in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_TOKEN_TTL_SECONDS", str(MOMENTO_MAX_TOKEN_TTL_SECONDS + 1)),  # above Momento's own limit
        ("MAX_TOKEN_TTL_SECONDS", "59"),
        ("TOKEN_REUSE_FRACTION", "0.96"),  # a token must be renewed before it expires
        ("TOKEN_REUSE_FRACTION", "-0.1"),
        ("VERSION_CHECK_INTERVAL_SECONDS", "-1"),
        ("MAX_BODY_BYTES", "100"),
        ("VENDING_POLICY", "{not json"),
        ("THROTTLED_RETRY_AFTER_SECONDS", "0"),
    ],
)
def test_out_of_range_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        VendorSettings.from_environ({**BASE, name: value})


def test_momentos_limit_is_the_highest_ceiling() -> None:
    env = {**BASE, "MAX_TOKEN_TTL_SECONDS": str(MOMENTO_MAX_TOKEN_TTL_SECONDS)}
    assert VendorSettings.from_environ(env).max_token_ttl_seconds == 25 * 3600


def test_lists_are_split_and_trimmed() -> None:
    env = {**BASE, "CORS_ALLOW_ORIGINS": " https://a.example , https://b.example ,", "AUTH_MODE": "none"}
    settings = VendorSettings.from_environ(env)
    assert settings.cors_allow_origins == ("https://a.example", "https://b.example")
    assert settings.auth_mode == "none"
