"""Outside finding F3: a cold start while Secrets Manager accepts connections and never answers.

Seen before the fix: the first request made six secret reads of three attempts each (botocore's
`max_attempts` counts retries) with a 3 s read timeout, 57 s in all, so Lambda's 25 s timeout
killed it before its 503. Counted here as attempts the hanging endpoint received, not as time.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from tests.vendor.conftest import VendorStack, load_event


class Hanging:
    """A TCP endpoint that accepts every connection and never answers; counts them."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.server.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def hanging() -> Iterator[Hanging]:
    endpoint = Hanging()
    yield endpoint
    endpoint.close()


@pytest.mark.integration
def test_a_cold_request_against_a_hanging_store_reads_at_most_twice(
    vendor_stack: VendorStack, hanging: Hanging
) -> None:
    built = vendor_stack.build(
        SHARED_TOKEN_CACHE_NAME="keyguard-tokens",
        SECRETS_MANAGER_ENDPOINT_URL=f"http://127.0.0.1:{hanging.port}",
    )
    response = built.invoke(load_event("get-token-jwt.json"))
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"]
    # The master key and the token cache key, two attempts each: not 6 reads x 3 attempts.
    assert len(hanging.accepted) <= 4
