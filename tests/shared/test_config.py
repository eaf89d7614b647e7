"""`shared.config`: every missing or bad variable is reported at once."""

from __future__ import annotations

import pytest

from shared.config import DEFAULT_API_KEYS_URL, CommonSettings, Env
from shared.errors import ConfigError


def test_defaults() -> None:
    settings = CommonSettings.read(Env({}))

    assert settings == CommonSettings(
        secrets_manager_endpoint_url=None,
        momento_local_endpoint=None,
        momento_api_keys_url=DEFAULT_API_KEYS_URL,
        momento_timeout_seconds=5.0,
    )
    assert DEFAULT_API_KEYS_URL == "https://mga.registry.prod.a.momentohq.com"


def test_values_are_read_and_trimmed() -> None:
    env = Env(
        {
            "SECRETS_MANAGER_ENDPOINT_URL": " http://127.0.0.1:5000 ",
            "MOMENTO_LOCAL_ENDPOINT": "127.0.0.1:9090",
            "MOMENTO_API_KEYS_URL": "http://127.0.0.1:9091",
            "MOMENTO_TIMEOUT_SECONDS": "2.5",
        }
    )

    settings = CommonSettings.read(env)
    env.check()

    assert settings.secrets_manager_endpoint_url == "http://127.0.0.1:5000"
    assert settings.momento_local_endpoint == "127.0.0.1:9090"
    assert settings.momento_timeout_seconds == 2.5


def test_every_problem_is_listed_together() -> None:
    env = Env({"MOMENTO_TIMEOUT_SECONDS": "fast", "FLAG": "maybe", "COUNT": "0", "MODE": "x", "DOC": "{"})

    CommonSettings.read(env)
    env.str("REQUIRED_NAME")
    env.bool("FLAG", default=False)
    env.int("COUNT", 5, minimum=1)
    env.choice("MODE", "a", ("a", "b"))
    env.json("DOC", None)
    with pytest.raises(ConfigError) as caught:
        env.check()

    problems = caught.value.problems
    assert len(problems) == 6
    for name in ("MOMENTO_TIMEOUT_SECONDS", "REQUIRED_NAME", "FLAG", "COUNT", "MODE", "DOC"):
        assert any(p.startswith(name) for p in problems), name
        assert name in str(caught.value)


def test_out_of_range_timeout_is_a_problem() -> None:
    env = Env({"MOMENTO_TIMEOUT_SECONDS": "600"})

    CommonSettings.read(env)

    with pytest.raises(ConfigError, match="MOMENTO_TIMEOUT_SECONDS: must be at most 60"):
        env.check()


def test_blank_means_unset() -> None:
    env = Env({"MOMENTO_LOCAL_ENDPOINT": "   "})

    assert CommonSettings.read(env).momento_local_endpoint is None
    env.check()
