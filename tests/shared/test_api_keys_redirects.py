"""The v2 API keys client never follows a redirect, so the master key never reaches another origin."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared.errors import MomentoUnavailableError
from shared.momento_api_keys import ApiKeysHttpApi


class Recorder(BaseHTTPRequestHandler):
    seen: list[str | None]
    location: str = ""

    def _answer(self) -> None:
        self.seen.append(self.headers.get("Authorization"))
        if self.location:
            self.send_response(307)
            self.send_header("Location", self.location + self.path)
            self.end_headers()
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"api_key":"k","key_info":{"key_id":"x"}}')

    do_POST = _answer
    do_DELETE = _answer

    def log_message(self, *_args: Any) -> None:
        return


def serve(location: str, seen: list[str | None]) -> ThreadingHTTPServer:
    handler = type("H", (Recorder,), {"seen": seen, "location": location})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def origins() -> Iterator[tuple[str, list[str | None], list[str | None]]]:
    first_seen: list[str | None] = []
    elsewhere_seen: list[str | None] = []
    elsewhere = serve("", elsewhere_seen)
    first = serve(f"http://127.0.0.1:{elsewhere.server_address[1]}", first_seen)
    yield f"http://127.0.0.1:{first.server_address[1]}", first_seen, elsewhere_seen
    first.shutdown()
    elsewhere.shutdown()


@pytest.mark.parametrize("call", ["generate", "revoke"])
def test_redirects_are_refused_and_the_key_stays_home(
    origins: tuple[str, list[str | None], list[str | None]], call: str
) -> None:
    base, first_seen, elsewhere_seen = origins
    api = ApiKeysHttpApi(base, 5)
    calls: dict[str, Callable[[], object]] = {
        "generate": lambda: api.generate("master-key-secret", "owner", "d", None),
        "revoke": lambda: api.revoke("master-key-secret", "key-1"),
    }
    with pytest.raises(MomentoUnavailableError, match="redirect"):
        calls[call]()
    assert first_seen == ["master-key-secret"]
    assert elsewhere_seen == []
