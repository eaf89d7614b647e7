"""Test helpers: real SDK clients pointed at a local server (used by tests and the benchmark)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
from momento import (
    AuthClient,
    CacheClient,
    Configurations,
    CredentialProvider,
    TopicClient,
    TopicConfigurations,
)
from momento.auth.access_control.disposable_token_scope import DisposableTokenProps, DisposableTokenScope
from momento.config.auth_configurations import AuthConfigurations
from momento.errors import MomentoErrorCode
from momento.responses import GenerateDisposableToken
from momento.utilities import ExpiresIn
from momento_wire_types.generated import auth_pb2_grpc

from local.momento.sdk import credential_provider_for
from local.momento.server import MomentoLocalServer


class Sdk:
    """Real SDK clients against one local server (the object or its `host:port`); `close()` closes them."""

    def __init__(self, server: MomentoLocalServer | str) -> None:
        address = server if isinstance(server, str) else server.address
        host, _, port = address.rpartition(":")
        self.host, self.port, self.address = host.strip("[]"), int(port), address
        self._closers: list[Any] = []

    def provider(self, key: str) -> CredentialProvider:
        return credential_provider_for(key, self.host, self.port)

    def auth(self, key: str) -> AuthClient:
        client = AuthClient(AuthConfigurations.Laptop.latest(), self.provider(key))
        self._closers.append(client)
        return client

    def cache(self, key: str) -> CacheClient:
        client = CacheClient(Configurations.Laptop.latest(), self.provider(key), timedelta(minutes=5))
        self._closers.append(client)
        return client

    def topics(self, key: str) -> TopicClient:
        client = TopicClient(TopicConfigurations.Default.latest(), self.provider(key))
        self._closers.append(client)
        return client

    def auth_stub(self) -> auth_pb2_grpc.AuthStub:
        channel = grpc.insecure_channel(self.address)
        self._closers.append(channel)
        return auth_pb2_grpc.AuthStub(channel)  # type: ignore[no-untyped-call]

    def mint(
        self,
        key: str,
        scope: DisposableTokenScope,
        seconds: int = 300,
        token_id: str | None = None,
    ) -> GenerateDisposableToken.Success:
        resp = self.auth(key).generate_disposable_token(
            scope, ExpiresIn.seconds(seconds), DisposableTokenProps(token_id=token_id)
        )
        assert isinstance(resp, GenerateDisposableToken.Success), resp
        return resp

    def close(self) -> None:
        for c in reversed(self._closers):
            if isinstance(c, CacheClient):
                c.__exit__(None, None, None)
            else:
                c.close()


def error_code(response: Any) -> MomentoErrorCode | None:
    """The SDK error code of a response, or None for a success."""
    return getattr(response, "error_code", None)
