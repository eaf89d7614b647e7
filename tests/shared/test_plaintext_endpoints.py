"""Plaintext Momento endpoints: loopback only, private addresses under `sam local`, never in real Lambda."""

from __future__ import annotations

import pytest

from shared.config import CommonSettings, Env
from shared.errors import ConfigError

LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME": "vendor"}
SAM_LOCAL = {"AWS_LAMBDA_FUNCTION_NAME": "vendor", "AWS_SAM_LOCAL": "true"}


def read(environ: dict[str, str]) -> CommonSettings:
    env = Env(environ)
    settings = CommonSettings.read(env)
    env.check()
    return settings


@pytest.mark.parametrize("where", [{}, SAM_LOCAL])
@pytest.mark.parametrize("endpoint", ["127.0.0.1:9000", "127.8.9.1:9000", "[::1]:9000", "localhost:9000"])
def test_loopback_is_allowed_locally_and_under_sam_local(where: dict[str, str], endpoint: str) -> None:
    settings = read(
        {**where, "MOMENTO_LOCAL_ENDPOINT": endpoint, "MOMENTO_API_KEYS_URL": f"http://{endpoint}"}
    )
    assert settings.momento_local_endpoint == endpoint


@pytest.mark.parametrize("endpoint", ["172.17.0.1:9000", "10.1.2.3:9000", "host.docker.internal:9000"])
def test_private_addresses_only_under_sam_local(endpoint: str) -> None:
    assert read({**SAM_LOCAL, "MOMENTO_LOCAL_ENDPOINT": endpoint}).momento_local_endpoint == endpoint
    with pytest.raises(ConfigError, match="MOMENTO_LOCAL_ENDPOINT: plaintext is only allowed to a loopback"):
        read({"MOMENTO_LOCAL_ENDPOINT": endpoint})


@pytest.mark.parametrize("where", [{}, SAM_LOCAL])
@pytest.mark.parametrize("endpoint", ["203.0.113.9:9000", "momento.example.com:9000", "evil.example:80"])
def test_public_hosts_are_refused_everywhere(where: dict[str, str], endpoint: str) -> None:
    with pytest.raises(ConfigError, match="MOMENTO_LOCAL_ENDPOINT"):
        read({**where, "MOMENTO_LOCAL_ENDPOINT": endpoint})
    with pytest.raises(ConfigError, match="MOMENTO_API_KEYS_URL"):
        read({**where, "MOMENTO_API_KEYS_URL": f"http://{endpoint}"})


@pytest.mark.parametrize("endpoint", ["127.0.0.1:9000", "localhost:9000", "172.17.0.1:9000"])
def test_nothing_plaintext_inside_a_deployed_lambda(endpoint: str) -> None:
    with pytest.raises(ConfigError, match="inside a deployed Lambda"):
        read({**LAMBDA, "MOMENTO_LOCAL_ENDPOINT": endpoint})
    with pytest.raises(ConfigError, match="inside a deployed Lambda"):
        read({**LAMBDA, "MOMENTO_API_KEYS_URL": f"http://{endpoint}"})


def test_https_api_keys_url_is_fine_in_lambda() -> None:
    assert read({**LAMBDA, "MOMENTO_API_KEYS_URL": "https://api.example"}).momento_api_keys_url
