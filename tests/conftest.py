"""Root fixtures every test can use: dummy AWS credentials, the local Momento server, the local stack.

- `momento_server`: a fresh in-process Momento-compatible server (gRPC + v2 HTTP API) on
  127.0.0.1 and free ports, stopped after the test. `momento_server.address` is `host:port` for
  `MOMENTO_LOCAL_ENDPOINT`; `.clock`, `.faults`, `.set_quota()` control it.
- `local_stack`: moto's Secrets Manager server + a Momento server (see `local/stack.py`).
- `master_key`: a console-style v1 master key for `momento_server` (`.console_json()` gives
  `{"apiKey","refreshToken","validUntil"}`); `v2_key`: a v2 owner key for `momento_server`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from local.momento.server import MintedV1Key, MintedV2Key, MomentoLocalServer
    from local.stack import LocalStack


@pytest.fixture(autouse=True)
def _dummy_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def momento_server() -> Iterator[MomentoLocalServer]:
    from local.momento.server import MomentoLocalServer

    with MomentoLocalServer() as server:
        yield server


@pytest.fixture
def local_stack() -> Iterator[LocalStack]:
    from local.stack import LocalStack

    with LocalStack() as stack:
        yield stack


@pytest.fixture
def master_key(momento_server: MomentoLocalServer) -> MintedV1Key:
    return momento_server.mint_master_key()


@pytest.fixture
def v2_key(momento_server: MomentoLocalServer) -> MintedV2Key:
    return momento_server.mint_v2_key(role_id="owner")
