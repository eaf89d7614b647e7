"""Guards on where the access layer may send keys, and the v1 key wrapping."""

from __future__ import annotations

import pytest
from momento import CredentialProvider

from shared.config import CommonSettings
from shared.errors import ConfigError
from shared.key_claims import read_claims
from shared.momento_access import LocalEndpoint, SdkMomentoAccess, wrap_v1_key
from shared.momento_api_keys import ApiKeysHttpApi
from tests.shared.jwt_keys import v1_key


@pytest.mark.parametrize(
    ("value", "expected"),
    [("127.0.0.1:9090", LocalEndpoint("127.0.0.1", 9090)), ("[::1]:7000", LocalEndpoint("::1", 7000))],
)
def test_local_endpoint_parses(value: str, expected: LocalEndpoint) -> None:
    assert LocalEndpoint.parse(value) == expected


@pytest.mark.parametrize("value", ["127.0.0.1", "127.0.0.1:", ":80", "host:http", "host:70000", "host:443"])
def test_local_endpoint_rejects(value: str) -> None:
    with pytest.raises(ConfigError, match="MOMENTO_LOCAL_ENDPOINT"):
        LocalEndpoint.parse(value)


@pytest.mark.parametrize(
    "url",
    [
        "https://mga.registry.prod.a.momentohq.com",
        "http://127.0.0.1:8080/",
        "http://localhost:1",
        "http://172.17.0.1:9000",
        "http://[::1]:9000",
    ],
)
def test_api_keys_url_accepted(url: str) -> None:
    assert ApiKeysHttpApi(url, 1.0).base_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url", ["http://example.com", "http://8.8.8.8", "ftp://127.0.0.1", "https://", "nonsense"]
)
def test_api_keys_url_rejected(url: str) -> None:
    with pytest.raises(ConfigError, match="MOMENTO_API_KEYS_URL"):
        ApiKeysHttpApi(url, 1.0)


def test_settings_errors_surface_at_construction() -> None:
    settings = CommonSettings(None, "no-port", "https://mga.registry.prod.a.momentohq.com", 1.0)

    with pytest.raises(ConfigError):
        SdkMomentoAccess(settings)


def test_wrapped_v1_key_is_read_by_the_sdk_and_by_our_claims() -> None:
    inner = v1_key(iat=1_700_000_000, exp=1_700_003_600)

    wrapped = wrap_v1_key(inner, "cell-9.example")

    with pytest.warns(DeprecationWarning, match="from_string is deprecated"):
        provider = CredentialProvider.from_string(wrapped)
    assert provider.auth_token == inner
    assert provider.control_endpoint == "control.cell-9.example"
    claims = read_claims(wrapped)
    assert (claims.issued_at, claims.expires_at, claims.wrapped_endpoint) == (
        1_700_000_000,
        1_700_003_600,
        "cell-9.example",
    )
