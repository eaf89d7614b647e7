"""Build real-SDK `CredentialProvider`s that point at a local server (plaintext, host:port)."""

from __future__ import annotations

import dataclasses
import warnings

from momento.auth import CredentialProvider
from momento.auth import momento_endpoint_resolver as resolver


def credential_provider_for(
    token_or_key: str, host: str, port: int, endpoint: str | None = None
) -> CredentialProvider:
    """A provider for a disposable token, a v1 key or a v2 key, with every endpoint set to `host:port`.

    Port != 443 makes the SDK open a plaintext channel. `endpoint` is only needed for v2 keys
    (default `momento.local`).
    """
    if resolver._is_base64(token_or_key):
        provider = CredentialProvider.from_disposable_token(token_or_key)
    elif resolver._is_v2_api_key(token_or_key):
        provider = CredentialProvider.from_api_key_v2(token_or_key, endpoint or "momento.local")
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            provider = CredentialProvider.from_string(token_or_key)
    return dataclasses.replace(
        provider, control_endpoint=host, cache_endpoint=host, token_endpoint=host, port=port
    )


def credential_provider_for_address(
    token_or_key: str, address: str, endpoint: str | None = None
) -> CredentialProvider:
    """Same, from `host:port`."""
    host, _, port = address.rpartition(":")
    return credential_provider_for(token_or_key, host.strip("[]"), int(port), endpoint)
