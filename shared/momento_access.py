"""The one small interface between this product and Momento, and its SDK-backed implementation.

Everything that talks to Momento goes through `MomentoAccess`; no other module imports the
`momento` SDK or the wire stubs. SDK error values and gRPC/HTTP status codes become
`shared.errors` exceptions in `shared.momento_errors` and nowhere else. Key material lives
only in `IssuedKey` / `VendedToken` / `MasterKey`, whose reprs are redacted.

`SdkMomentoAccess`:
- `refresh_v1` / `generate_v1` call `Auth.RefreshApiToken` / `Auth.GenerateApiToken` on the
  key's CONTROL endpoint, port 443 over TLS (where Momento's JS SDK sends them; the Python
  SDK has no such call). They are never retried: both spend or create something, and a
  timeout may hide a success (the refresh token may then be spent).
- `generate_v2` / `revoke_v2` / `list_v2_keys` use the API keys HTTP API (`shared.momento_api_keys`).
- `mint_token`, `check_key`, `cache_get`, `cache_set`, `increment` use the SDK's `AuthClient` and
  `CacheClient` with its Lambda presets; clients are kept per key (a channel per call would
  cost a TLS handshake each time) and closed when the key falls out of use.
- `MOMENTO_LOCAL_ENDPOINT=host:port` (development only) points every gRPC call at a
  plaintext local server and logs one warning per instance.

A v2 key needs its endpoint (`MasterKey.endpoint`); without it every call raises
`MomentoInvalidRequestError` before touching the network.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import json
import platform
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any, Protocol

import grpc
from aws_lambda_powertools import Logger
from momento import AuthClient, CacheClient, Configurations, CredentialProvider
from momento.auth.access_control.disposable_token_scope import DisposableTokenProps
from momento.config.auth_configurations import AuthConfigurations
from momento.errors import SdkException
from momento.responses import CacheGet, CacheIncrement, CacheSet
from momento.responses.auth.generate_disposable_token import GenerateDisposableToken
from momento.utilities import ExpiresIn
from momento_wire_types.generated import auth_pb2 as auth_pb
from momento_wire_types.generated import auth_pb2_grpc as auth_grpc
from momento_wire_types.generated import permissionmessages_pb2 as permissions_pb

from shared.config import CommonSettings
from shared.errors import ConfigError, MomentoAuthenticationError, MomentoInvalidRequestError
from shared.key_claims import KeyClaims
from shared.key_claims import read_claims as _read_claims
from shared.momento_api_keys import ApiKeysHttpApi, ListedV2Key
from shared.momento_errors import momento_error
from shared.momento_scopes import scope_for
from shared.momento_types import IssuedKey, MasterKey, VendedToken
from shared.permissions import CachePermission, CacheRole, Permission

__all__ = [
    "IssuedKey",
    "ListedV2Key",
    "LocalEndpoint",
    "MasterKey",
    "MomentoAccess",
    "SdkMomentoAccess",
    "VendedToken",
]

logger = Logger(child=True)

_TLS_PORT = 443
_AGENT_METADATA = (
    ("agent", "python:momento-key-guard:0.1.0"),
    ("runtime-version", f"python {platform.python_version()}"),
)
#: What `check_key` mints: a one-minute read-only grant on one key of a cache nobody uses.
CHECK_PERMISSION = CachePermission(cache="momento-key-guard-check", role=CacheRole.READ_ONLY, key="check")
CHECK_TOKEN_ID = "momento-key-guard-check"
_CACHE_DEFAULT_TTL = timedelta(seconds=60)


class MomentoAccess(Protocol):
    def refresh_v1(self, key: MasterKey, refresh_token: str) -> IssuedKey:
        """gRPC Auth.RefreshApiToken on the control endpoint; the refresh token is spent by this call."""
        ...

    def generate_v1(self, key: MasterKey, valid_for_seconds: int | None) -> IssuedKey:
        """gRPC Auth.GenerateApiToken with super-user permissions (None = never expires)."""
        ...

    def generate_v2(
        self, key: MasterKey, role_id: str, description: str, expires_at: int | None
    ) -> IssuedKey:
        """HTTP `POST /api-keys` on the API keys API."""
        ...

    def revoke_v2(self, key: MasterKey, key_id: str) -> None:
        """HTTP `DELETE /api-keys/{key_id}`; 404 raises `MomentoNotFoundError`: Momento knows no such
        key, which is "already revoked" only if the key itself no longer authenticates."""
        ...

    def list_v2_keys(self, key: MasterKey) -> tuple[ListedV2Key, ...]:
        """HTTP `GET /api-keys`, every page: the account's v2 keys (ids and descriptions, no keys)."""
        ...

    def mint_token(
        self,
        key: MasterKey,
        permissions: tuple[Permission, ...],
        expires_in_seconds: int,
        token_id: str | None,
    ) -> VendedToken:
        """SDK AuthClient.generate_disposable_token."""
        ...

    def check_key(self, key: MasterKey) -> None:
        """Prove a key works for what this product needs (mints a one-minute token); raises if not."""
        ...

    def cache_get(self, key: MasterKey, cache_name: str, item_key: str) -> str | None:
        """SDK CacheClient.get: the string value, or None on a miss."""
        ...

    def cache_set(self, key: MasterKey, cache_name: str, item_key: str, value: str, ttl_seconds: int) -> None:
        """SDK CacheClient.set with a TTL."""
        ...

    def increment(
        self, key: MasterKey, cache_name: str, item_key: str, amount: int, ttl_seconds: float
    ) -> int:
        """SDK CacheClient.increment (atomic; a missing item counts from 0): the new value."""
        ...


@dataclass(frozen=True)
class LocalEndpoint:
    """`MOMENTO_LOCAL_ENDPOINT`: a plaintext Momento-compatible server (development only)."""

    host: str
    port: int

    @classmethod
    def parse(cls, value: str) -> LocalEndpoint:
        host, sep, port_text = value.strip().rpartition(":")
        host = host.strip("[]")
        if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError([f"MOMENTO_LOCAL_ENDPOINT: expected host:port, got {value!r}"])
        if int(port_text) == _TLS_PORT:
            # Port 443 would make the SDK use TLS; a local server speaks plaintext.
            raise ConfigError(["MOMENTO_LOCAL_ENDPOINT: port 443 is reserved for TLS; use the server's port"])
        return cls(host, int(port_text))

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@functools.lru_cache(maxsize=8)
def read_claims(api_key: str) -> KeyClaims:
    """`shared.key_claims.read_claims`, remembered: every mint looks its key's clients up by the
    key's type, and decoding the JWT (base64 + JSON) per mint was a tenth of the mint wrapper."""
    return _read_claims(api_key)


def wrap_v1_key(api_key: str, endpoint: str) -> str:
    """A v1 key as Momento's SDKs hand out refreshed keys: base64 JSON `{"endpoint", "api_key"}`."""
    payload = json.dumps({"endpoint": endpoint, "api_key": api_key}, separators=(",", ":"))
    return base64.b64encode(payload.encode()).decode("ascii")


class _KeyClients:
    """A key's credential provider and its lazily created SDK clients."""

    def __init__(self, provider: CredentialProvider, endpoint: str | None) -> None:
        self.provider = provider
        #: The key's Momento endpoint (cell), before any local override.
        self.endpoint = endpoint
        self._auth: AuthClient | None = None
        self._cache: CacheClient | None = None

    @property
    def auth(self) -> AuthClient:
        if self._auth is None:
            self._auth = AuthClient(AuthConfigurations.Lambda.latest(), self.provider)
        return self._auth

    @property
    def cache(self) -> CacheClient:
        if self._cache is None:
            self._cache = CacheClient(Configurations.Lambda.latest(), self.provider, _CACHE_DEFAULT_TTL)
        return self._cache

    def close(self) -> None:
        if self._auth is not None:
            self._auth.close()
            self._auth = None
        if self._cache is not None:
            # CacheClient has no close(); its context-manager exit closes every channel.
            self._cache.__exit__(None, None, None)
            self._cache = None


class SdkMomentoAccess:
    """`MomentoAccess` on the real SDK and wire stubs. Build one per execution environment."""

    def __init__(self, settings: CommonSettings, *, max_cached_keys: int = 2) -> None:
        self._timeout = settings.momento_timeout_seconds
        self._local = (
            LocalEndpoint.parse(settings.momento_local_endpoint) if settings.momento_local_endpoint else None
        )
        self._api_keys = ApiKeysHttpApi(settings.momento_api_keys_url, settings.momento_timeout_seconds)
        self._max_keys = max(1, max_cached_keys)
        self._lock = threading.Lock()
        self._clients: OrderedDict[tuple[str, str | None], _KeyClients] = OrderedDict()
        self._channels: dict[str, Any] = {}
        self._warned = False

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            clients = list(self._clients.values())
            channels = list(self._channels.values())
            self._clients.clear()
            self._channels.clear()
        for entry in clients:
            entry.close()
        for channel in channels:
            channel.close()

    def __enter__(self) -> SdkMomentoAccess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- credentials --------------------------------------------------------------------------

    def _warn_local_once(self) -> None:
        if self._local is not None and not self._warned:
            self._warned = True
            logger.warning(
                "MOMENTO_LOCAL_ENDPOINT is set: Momento calls go to a development server over plaintext",
                extra={"momento_local_endpoint": str(self._local)},
            )

    def _build(self, key: MasterKey) -> _KeyClients:
        claims = read_claims(key.api_key)
        try:
            if claims.is_v2:
                if not key.endpoint:
                    raise MomentoInvalidRequestError(
                        "a v2 API key needs its endpoint: store `endpoint` next to the key in the secret"
                    )
                provider = CredentialProvider.from_api_key_v2(key.api_key, key.endpoint)
                endpoint: str | None = key.endpoint
            else:
                with warnings.catch_warnings():
                    # from_string is deprecated since SDK 1.28 because v1 keys are; they keep
                    # working and this is the SDK's only reader for them.
                    warnings.simplefilter("ignore", DeprecationWarning)
                    provider = CredentialProvider.from_string(key.api_key)
                endpoint = claims.wrapped_endpoint or _cell_of(provider.cache_endpoint)
        except (SdkException, ValueError, TypeError, KeyError, AttributeError):
            # The SDK's reader decodes any string that happens to be base64 and trusts the JSON:
            # "QUJD" raises a bare JSONDecodeError, "WzFd" (`[1]`) a TypeError; their messages
            # may carry the value.
            raise MomentoAuthenticationError("the key is not a readable Momento API key") from None
        if self._local is not None:
            self._warn_local_once()
            host = self._local.host
            provider = dataclasses.replace(
                provider,
                control_endpoint=host,
                cache_endpoint=host,
                token_endpoint=host,
                port=self._local.port,
            )
        return _KeyClients(provider, endpoint)

    def key_endpoint(self, key: MasterKey) -> str | None:
        """The key's Momento endpoint (cell), the one its disposable tokens carry; None if unknown."""
        return self._entry(key).endpoint

    def _entry(self, key: MasterKey) -> _KeyClients:
        cache_key = (key.api_key, key.endpoint if read_claims(key.api_key).is_v2 else None)
        evicted: list[_KeyClients] = []
        with self._lock:
            entry = self._clients.get(cache_key)
            if entry is not None:
                self._clients.move_to_end(cache_key)
                return entry
            entry = self._build(key)
            self._clients[cache_key] = entry
            while len(self._clients) > self._max_keys:
                evicted.append(self._clients.popitem(last=False)[1])
        for old in evicted:
            old.close()
        return entry

    def _auth_stub(self, entry: _KeyClients) -> Any:
        provider = entry.provider
        target = f"{provider.control_endpoint}:{provider.port}"
        with self._lock:
            channel = self._channels.get(target)
            if channel is None:
                if provider.port == _TLS_PORT:
                    channel = grpc.secure_channel(target, grpc.ssl_channel_credentials())
                else:
                    channel = grpc.insecure_channel(target)
                self._channels[target] = channel
        return auth_grpc.AuthStub(channel)  # type: ignore[no-untyped-call]

    # -- v1 keys over the wire ----------------------------------------------------------------

    def refresh_v1(self, key: MasterKey, refresh_token: str) -> IssuedKey:
        entry = self._v1_entry(key, "refresh API key")
        request = auth_pb._RefreshApiTokenRequest(
            api_key=entry.provider.auth_token, refresh_token=refresh_token
        )
        secrets = (key.api_key, entry.provider.auth_token, refresh_token)
        try:
            response = self._auth_stub(entry).RefreshApiToken(
                request, timeout=self._timeout, metadata=_AGENT_METADATA
            )
        except grpc.RpcError as exc:
            raise _rpc_error("refresh API key", exc, secrets, refresh=True) from None
        return _issued_v1(response, entry.endpoint)

    def generate_v1(self, key: MasterKey, valid_for_seconds: int | None) -> IssuedKey:
        if valid_for_seconds is not None and valid_for_seconds <= 0:
            raise MomentoInvalidRequestError("valid_for_seconds must be positive (or None for never)")
        entry = self._v1_entry(key, "generate API key")
        request = auth_pb._GenerateApiTokenRequest(
            auth_token=entry.provider.auth_token,
            permissions=permissions_pb.Permissions(super_user=permissions_pb.SuperUserPermissions.SuperUser),
            description="momento-key-guard rotation",
        )
        if valid_for_seconds is None:
            request.never.SetInParent()
        else:
            request.expires.valid_for_seconds = valid_for_seconds
        try:
            response = self._auth_stub(entry).GenerateApiToken(
                request, timeout=self._timeout, metadata=_AGENT_METADATA
            )
        except grpc.RpcError as exc:
            raise _rpc_error("generate API key", exc, (key.api_key, entry.provider.auth_token)) from None
        return _issued_v1(response, entry.endpoint)

    def _v1_entry(self, key: MasterKey, operation: str) -> _KeyClients:
        if read_claims(key.api_key).is_v2:
            raise MomentoInvalidRequestError(
                f"{operation}: v2 API keys have no refresh tokens; rotate them with generate_v2 and revoke_v2"
            )
        return self._entry(key)

    # -- v2 keys over HTTP ----------------------------------------------------------------------

    def generate_v2(
        self, key: MasterKey, role_id: str, description: str, expires_at: int | None
    ) -> IssuedKey:
        generated = self._api_keys.generate(key.api_key, role_id, description, expires_at)
        endpoint = generated.endpoint or key.endpoint
        if endpoint is None and not read_claims(key.api_key).is_v2:
            endpoint = self._entry(key).endpoint
        return IssuedKey(
            api_key=generated.api_key,
            refresh_token=None,
            valid_until=generated.expires_at,
            endpoint=endpoint,
            key_id=generated.key_id,
            role_id=generated.role_id or role_id,
        )

    def revoke_v2(self, key: MasterKey, key_id: str) -> None:
        self._api_keys.revoke_existing(key.api_key, key_id)

    def list_v2_keys(self, key: MasterKey) -> tuple[ListedV2Key, ...]:
        return self._api_keys.list_api_keys(key.api_key)

    # -- disposable tokens ----------------------------------------------------------------------

    def mint_token(
        self,
        key: MasterKey,
        permissions: tuple[Permission, ...],
        expires_in_seconds: int,
        token_id: str | None,
    ) -> VendedToken:
        if expires_in_seconds <= 0:
            raise MomentoInvalidRequestError("a disposable token needs a positive lifetime")
        scope = scope_for(permissions)
        entry = self._entry(key)
        response = entry.auth.generate_disposable_token(
            scope, ExpiresIn.seconds(expires_in_seconds), DisposableTokenProps(token_id=token_id)
        )
        if isinstance(response, GenerateDisposableToken.Success):
            return VendedToken(
                auth_token=response.auth_token,
                expires_at=response.expires_at.epoch(),
                endpoint=response.endpoint,
                token_id=token_id,
            )
        if isinstance(response, GenerateDisposableToken.Error):
            raise momento_error(
                "mint disposable token", response.error_code, response.message, _secrets(key, entry)
            )
        raise AssertionError(f"unexpected SDK response type {type(response).__name__}")

    def check_key(self, key: MasterKey) -> None:
        self.mint_token(key, (CHECK_PERMISSION,), 60, CHECK_TOKEN_ID)

    # -- cache items ----------------------------------------------------------------------------

    def cache_get(self, key: MasterKey, cache_name: str, item_key: str) -> str | None:
        entry = self._entry(key)
        response = entry.cache.get(cache_name, item_key)
        if isinstance(response, CacheGet.Hit):
            return response.value_string
        if isinstance(response, CacheGet.Miss):
            return None
        if isinstance(response, CacheGet.Error):
            raise momento_error("cache get", response.error_code, response.message, _secrets(key, entry))
        raise AssertionError(f"unexpected SDK response type {type(response).__name__}")

    def cache_set(self, key: MasterKey, cache_name: str, item_key: str, value: str, ttl_seconds: int) -> None:
        if ttl_seconds <= 0:
            raise MomentoInvalidRequestError("a cache item needs a positive TTL")
        entry = self._entry(key)
        response = entry.cache.set(cache_name, item_key, value, timedelta(seconds=ttl_seconds))
        if isinstance(response, CacheSet.Error):
            raise momento_error(
                "cache set", response.error_code, response.message, (*_secrets(key, entry), value)
            )

    def increment(
        self, key: MasterKey, cache_name: str, item_key: str, amount: int, ttl_seconds: float
    ) -> int:
        if ttl_seconds <= 0:
            raise MomentoInvalidRequestError("a counter needs a positive TTL")
        entry = self._entry(key)
        response = entry.cache.increment(cache_name, item_key, amount, timedelta(seconds=ttl_seconds))
        if isinstance(response, CacheIncrement.Success):
            return int(response.value)
        if isinstance(response, CacheIncrement.Error):
            raise momento_error(
                "cache increment", response.error_code, response.message, _secrets(key, entry)
            )
        raise AssertionError(f"unexpected SDK response type {type(response).__name__}")


def _cell_of(cache_endpoint: str) -> str | None:
    prefix = "cache."
    return cache_endpoint[len(prefix) :] if cache_endpoint.startswith(prefix) else None


def _secrets(key: MasterKey, entry: _KeyClients) -> tuple[str, ...]:
    return (key.api_key, entry.provider.auth_token)


def _rpc_error(
    operation: str, exc: grpc.RpcError, secrets: tuple[str, ...], *, refresh: bool = False
) -> Exception:
    code_of = getattr(exc, "code", None)
    details_of = getattr(exc, "details", None)
    code = code_of() if callable(code_of) else grpc.StatusCode.UNKNOWN
    details = details_of() if callable(details_of) else None
    return momento_error(
        operation, code, details if isinstance(details, str) else None, secrets, refresh=refresh
    )


def _issued_v1(response: Any, fallback_endpoint: str | None) -> IssuedKey:
    endpoint = response.endpoint or fallback_endpoint
    api_key = wrap_v1_key(response.api_key, response.endpoint) if response.endpoint else response.api_key
    return IssuedKey(
        api_key=api_key,
        refresh_token=response.refresh_token or None,
        valid_until=int(response.valid_until) or None,
        endpoint=endpoint,
    )
