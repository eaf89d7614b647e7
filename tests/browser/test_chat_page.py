"""The example chat room in headless Chromium against the whole local stack.

Token fetched through CORS, state kept in the cache, a refused write shown as refused, chat through
a topic between two users, and a closed tab dropping its subscription at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.web import CACHE, TOPIC, WebStack
from tests.browser.pages import (
    READY,
    READY_TIMEOUT_MS,
    errors_shown,
    eventually,
    open_signed_in,
    send,
    wait_for_message,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def web() -> Iterator[WebStack]:
    with WebStack(env={"TOKEN_REUSE_FRACTION": "0"}) as web:
        yield web


def test_chat_room_end_to_end(browser: Any, web: WebStack, screenshot_dir: Path) -> None:
    vendor_answers: list[tuple[str, int, str | None]] = []
    alice_ctx, alice, alice_console = open_signed_in(browser, web.page_url, "alice")
    bob_ctx = browser.new_context()
    bob = bob_ctx.new_page()
    bob.on(
        "response",
        lambda r: (
            vendor_answers.append((r.request.method, r.status, r.headers.get("access-control-allow-origin")))
            if r.url.startswith(web.vendor_url)
            else None
        ),
    )
    bob.goto(web.page_url)
    bob.fill("#username", "bob")
    bob.click("#signin-button")
    bob.wait_for_selector(READY, timeout=READY_TIMEOUT_MS)
    try:
        # the token came cross-origin through the vendor's CORS: a POST with Authorization and a
        # JSON body is preflighted, and the browser only hands the page answers CORS allowed
        assert ("POST", 200, web.origin) in vendor_answers
        assert alice.inner_text("#token-id").endswith("/alice")  # ?name= labels the token id

        # state in the cache, there after a reload
        alice.fill("#note-text", "at lunch")
        alice.click("#save-note")
        eventually(lambda: alice.inner_text("#note-saved") == "at lunch" or bool(errors_shown(alice)))
        assert errors_shown(alice) == []
        alice.close()
        alice = alice_ctx.new_page()
        alice.goto(web.page_url)
        alice.fill("#username", "alice")
        alice.click("#signin-button")
        alice.wait_for_selector(READY, timeout=READY_TIMEOUT_MS)
        assert alice.inner_text("#note-saved") == "at lunch"

        # a write outside the caller's grant: refused by Momento, shown as refused
        alice.click("#pin")
        eventually(lambda: "denied" in alice.inner_text("#pin-result"))
        assert "PERMISSION_ERROR" in alice.inner_text("#pin-result")

        # chat through the topic, both ways
        send(alice, "hello bob")
        wait_for_message(bob, "hello bob")
        send(bob, "hi alice")
        wait_for_message(alice, "hi alice")
        # the sender shown is the publisher's token id from Momento, not a name in the message
        alice_sub = alice.inner_text("#token-id").split("/")[0]
        assert f"alice·{alice_sub[:4]}:" in bob.inner_text("#messages")
        # hostile chat text is text, never markup
        send(bob, "<img src=x onerror=alert(1)>")
        wait_for_message(alice, "<img src=x")
        assert alice.locator("#messages img").count() == 0

        alice.screenshot(path=str(screenshot_dir / "chat-room.png"), full_page=True)
        assert errors_shown(alice) == []
        assert errors_shown(bob) == []
        assert alice_console == []

        # a closed tab drops its subscription at once (not at the next 5 s heartbeat)
        topics = web.stack.momento.state.topics
        assert topics.subscriber_count("default", CACHE, TOPIC) == 2
        started = time.monotonic()
        bob_ctx.close()
        eventually(lambda: topics.subscriber_count("default", CACHE, TOPIC) == 1, timeout=3, every=0.02)
        assert time.monotonic() - started < 3
    finally:
        alice_ctx.close()
        bob_ctx.close()


def test_the_page_also_works_as_localhost(browser: Any, web: WebStack) -> None:
    """`make web` prints 127.0.0.1; a person typing localhost gets another origin, also allowed."""
    url = web.page_url.replace("127.0.0.1", "localhost")
    context, page, console = open_signed_in(browser, url, "carol")
    try:
        page.fill("#note-text", "here")
        page.click("#save-note")
        eventually(lambda: page.inner_text("#note-saved") == "here" or bool(errors_shown(page)))
        assert errors_shown(page) == []
        assert console == []
    finally:
        context.close()
