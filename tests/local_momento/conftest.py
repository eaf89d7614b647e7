"""Fixtures for the local Momento server's own tests: real SDK clients pointed at `momento_server`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.momento.server import MintedV1Key, MomentoLocalServer
from local.momento.testing import Sdk


@pytest.fixture
def sdk(momento_server: MomentoLocalServer) -> Iterator[Sdk]:
    s = Sdk(momento_server)
    yield s
    s.close()


@pytest.fixture
def master(momento_server: MomentoLocalServer) -> MintedV1Key:
    """A super-user v1 key, with caches `c1` and `c2` created."""
    key = momento_server.mint_master_key()
    momento_server.create_cache("c1")
    momento_server.create_cache("c2")
    return key
