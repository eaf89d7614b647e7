"""`MomentoLocalServer`: every gRPC service on one port (plaintext), the v2 API keys HTTP API on another.

with MomentoLocalServer() as server:
    master = server.mint_master_key()          # console-style v1 key + refresh token
    v2 = server.mint_v2_key(role_id="owner")   # a v2 key
    server.address                             # "127.0.0.1:<port>" for MOMENTO_LOCAL_ENDPOINT
    server.api_keys_url                        # "http://127.0.0.1:<http_port>"
    server.clock.advance(3600); server.faults.set(unavailable=True)
"""

from __future__ import annotations

from concurrent import futures
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import grpc
from momento_wire_types.generated import auth_pb2_grpc as auth_grpc
from momento_wire_types.generated import cacheclient_pb2_grpc as cache_grpc
from momento_wire_types.generated import cachepubsub_pb2_grpc as pubsub_grpc
from momento_wire_types.generated import controlclient_pb2_grpc as control_grpc
from momento_wire_types.generated import token_pb2_grpc as token_grpc

from local.momento import grants
from local.momento.api_keys_http import ApiKeysHttpServer
from local.momento.auth_service import AuthService
from local.momento.cache_service import CacheService
from local.momento.clock import Clock
from local.momento.control_service import ControlService
from local.momento.credentials import Credential
from local.momento.faults import Faults
from local.momento.pubsub_service import PubsubService
from local.momento.roles import ROLES
from local.momento.state import Limits, State
from local.momento.token_service import TokenService

DEFAULT_ACCOUNT = "default"
THIRTY_DAYS = 30 * 24 * 3600


@dataclass(frozen=True)
class ServerConfig:
    #: Addresses to listen on; the first one is the one `address` reports.
    hosts: tuple[str, ...] = ("127.0.0.1",)
    #: gRPC port (0 = pick a free one; every host gets the same port).
    port: int = 0
    #: HTTP port for the v2 API keys API (0 = free port, None = no HTTP listener).
    http_port: int | None = 0
    #: The logical endpoint the server claims to be (`cache.` / `control.` / `token.` + this).
    endpoint: str = "momento.local"
    #: Auth quota: token/key operations per second per account (None = unlimited).
    quota_rate: float | None = 5.0
    quota_burst: float | None = None
    #: Momento's hard limit: disposable token TTL 25 hours (docs/platform/limits/auth.mdx).
    max_token_seconds: int = 25 * 3600
    #: Longest disposable token id accepted (the JS SDK's client-side limit; server-side: a guess).
    max_token_id_chars: int = 64
    max_permissions: int = 20
    max_workers: int = 64
    heartbeat_seconds: float = 5.0
    #: Keepalive: both SDKs ping every 5 s, also between calls (JS `config/configurations.ts`
    #: keepAliveTimeMs 5000, keepAlivePermitWithoutCalls 1). grpc-core's server defaults (a ping
    #: without data at most every 5 min, 2 strikes) answer that with GOAWAY too_many_pings; a
    #: real service does not, so accept pings this often and count no strikes (0 = unlimited).
    min_client_ping_interval_ms: int = 1000
    max_ping_strikes: int = 0
    secret: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class MintedV1Key:
    api_key: str = field(repr=False)
    #: "" for a never-expiring key (Momento gives those no refresh token).
    refresh_token: str = field(repr=False)
    #: Epoch seconds; None for a never-expiring key.
    valid_until: int | None
    endpoint: str
    key_id: str

    def console_json(self) -> dict[str, Any]:
        """What the Momento console's "Download JSON" holds: apiKey, refreshToken, validUntil."""
        return {
            "apiKey": self.api_key,
            "refreshToken": self.refresh_token or None,
            "validUntil": self.valid_until,
        }


@dataclass(frozen=True)
class MintedV2Key:
    api_key: str = field(repr=False)
    key_id: str
    role_id: str
    endpoint: str
    expires_at: int | None

    def console_json(self) -> dict[str, Any]:
        return {"apiKey": self.api_key, "endpoint": self.endpoint, "validUntil": self.expires_at}


class MomentoLocalServer:
    def __init__(self, config: ServerConfig | None = None, **overrides: Any) -> None:
        cfg = config or ServerConfig()
        if overrides:
            cfg = ServerConfig(**{**cfg.__dict__, **overrides})
        if not cfg.hosts:
            raise ValueError("at least one host is required")
        self.config = cfg
        self.state = State(
            endpoint=cfg.endpoint,
            quota_rate=cfg.quota_rate,
            quota_burst=cfg.quota_burst,
            limits=Limits(
                max_token_seconds=cfg.max_token_seconds,
                max_permissions=cfg.max_permissions,
                max_token_id_chars=cfg.max_token_id_chars,
            ),
            secret=cfg.secret,
        )
        self._grpc: grpc.Server | None = None
        self._http: ApiKeysHttpServer | None = None
        self.port = 0
        self.http_port: int | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> MomentoLocalServer:
        if self._grpc is not None:
            return self
        cfg = self.config
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=cfg.max_workers, thread_name_prefix="momento-local"),
            options=[
                ("grpc.keepalive_permit_without_calls", 1),
                ("grpc.http2.min_recv_ping_interval_without_data_ms", cfg.min_client_ping_interval_ms),
                ("grpc.http2.min_ping_interval_without_data_ms", cfg.min_client_ping_interval_ms),
                ("grpc.http2.max_ping_strikes", cfg.max_ping_strikes),
            ],
        )
        auth_grpc.add_AuthServicer_to_server(AuthService(self.state), server)  # type: ignore[no-untyped-call]
        token_grpc.add_TokenServicer_to_server(TokenService(self.state), server)  # type: ignore[no-untyped-call]
        cache_grpc.add_ScsServicer_to_server(CacheService(self.state), server)  # type: ignore[no-untyped-call]
        control_grpc.add_ScsControlServicer_to_server(ControlService(self.state), server)  # type: ignore[no-untyped-call]
        pubsub_grpc.add_PubsubServicer_to_server(PubsubService(self.state, cfg.heartbeat_seconds), server)  # type: ignore[no-untyped-call]
        port = cfg.port
        for host in cfg.hosts:
            bound = server.add_insecure_port(f"{_bracket(host)}:{port}")
            if bound == 0:
                raise OSError(f"could not bind gRPC on {host}:{port}")
            port = bound
        server.start()
        self._grpc = server
        self.port = port
        if cfg.http_port is not None:
            try:
                self._http = ApiKeysHttpServer(self.state, list(cfg.hosts), cfg.http_port)
            except OSError:
                self.stop()
                raise
            self._http.start()
            self.http_port = self._http.port
        return self

    def stop(self, grace: float | None = None) -> None:
        self.state.topics.close_all()
        if self._http is not None:
            self._http.stop()
            self._http = None
        if self._grpc is not None:
            self._grpc.stop(grace).wait()
            self._grpc = None

    def __enter__(self) -> MomentoLocalServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- where it is --------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return self.config.hosts[0]

    @property
    def address(self) -> str:
        """`host:port` of the gRPC listener (what `MOMENTO_LOCAL_ENDPOINT` takes)."""
        return f"{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        return self.config.endpoint

    @property
    def api_keys_url(self) -> str | None:
        return None if self.http_port is None else f"http://{_bracket(self.host)}:{self.http_port}"

    def endpoints(self) -> dict[str, Any]:
        return {
            "momento_local_endpoint": self.address,
            "momento_api_keys_url": self.api_keys_url,
            "momento_endpoint": self.endpoint,
            "hosts": list(self.config.hosts),
            "grpc_port": self.port,
            "http_port": self.http_port,
        }

    # -- controls -------------------------------------------------------------------------------
    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def faults(self) -> Faults:
        return self.state.faults

    def set_quota(self, rate: float | None, burst: float | None = None) -> None:
        """Auth operations per second per account (None = unlimited)."""
        self.state.quota.configure(rate, burst)

    # -- minting (what the console does) ------------------------------------------------------------
    def mint_master_key(
        self,
        account: str = DEFAULT_ACCOUNT,
        valid_for_seconds: int | None = THIRTY_DAYS,
        *,
        super_user: bool = True,
        description: str = "console",
    ) -> MintedV1Key:
        """A v1 key (super-user, or all-data read-write) and its refresh token, bypassing the quota."""
        granted = grants.SUPER_USER if super_user else grants.ALL_DATA_READ_WRITE
        cred, refresh = self.state.credentials.issue_v1(
            account, granted, valid_for_seconds, description=description
        )
        return MintedV1Key(cred.api_key, refresh, cred.expires_at, self.endpoint, cred.key_id)

    def mint_v2_key(
        self,
        account: str = DEFAULT_ACCOUNT,
        role_id: str = "owner",
        description: str = "console",
        expires_at: int | None = None,
    ) -> MintedV2Key:
        if role_id not in ROLES:
            raise ValueError(f"unknown role_id {role_id!r}; expected one of {sorted(ROLES)}")
        cred = self.state.credentials.issue_v2(account, ROLES[role_id], role_id, description, expires_at)
        return MintedV2Key(cred.api_key, cred.key_id, role_id, self.endpoint, cred.expires_at)

    def create_cache(self, name: str, account: str = DEFAULT_ACCOUNT) -> None:
        self.state.caches.create(account, name)

    def credential(self, api_key_or_token: str) -> Credential | None:
        """The server's record of a key or token (tests: token ids, grants, parent key)."""
        return self.state.credentials.find(api_key_or_token)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
