"""The page across token lifetimes: renewal past an expiry, a master-key rotation, a throttled vendor.

Short lifetimes (10 s tokens, renewed 5 s ahead) so the scenarios run in seconds of real time:
the page's own clock schedules renewals, so the local server's clock is not advanced here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from local.web import WebStack
from tests.browser.pages import (
    errors_shown,
    eventually,
    open_signed_in,
    renewals,
    room_token,
    send,
    wait_for_message,
)

pytestmark = pytest.mark.integration

TTL = 10
MARGIN = 5


@pytest.fixture(scope="module")
def web() -> Iterator[WebStack]:
    # Short tokens renew often: lift the vendor's per-caller mint budget (5 a minute) for them.
    env = {"TOKEN_REUSE_FRACTION": "0", "MINT_BUDGET_PER_PRINCIPAL": "1000"}
    with WebStack(ttl_seconds=TTL, renew_margin_seconds=MARGIN, env=env) as web:
        yield web


@pytest.fixture
def page(browser: Any, web: WebStack) -> Iterator[Any]:
    context, page, _console = open_signed_in(browser, web.page_url, f"u{time.monotonic_ns() % 10**9}")
    yield page
    context.close()


def test_renewal_across_a_token_expiry(page: Any, web: WebStack) -> None:
    first = room_token(page)
    record = web.stack.momento.credential(first)
    assert record is not None
    expires_at = record.expires_at
    assert expires_at is not None
    assert expires_at - time.time() <= TTL + 1
    # past the first token's expiry: both vending clients renewed (at least) once
    eventually(lambda: time.time() > expires_at + 1 and renewals(page) >= 4, timeout=3 * TTL)
    assert room_token(page) != first
    send(page, "still here after expiry")
    wait_for_message(page, "still here after expiry")
    page.fill("#note-text", "renewed")
    page.click("#save-note")
    eventually(lambda: page.inner_text("#note-saved") == "renewed")
    assert errors_shown(page) == []


def test_master_key_rotation_mid_session_is_invisible(page: Any, web: WebStack) -> None:
    send(page, "before rotation")
    wait_for_message(page, "before rotation")
    key_before = web.current_master_key_id()
    report = web.rotate()
    key_after = web.current_master_key_id()
    assert key_after is not None
    assert key_after != key_before, report
    seen = renewals(page)

    def minted_by_new_key() -> bool:
        record = web.stack.momento.credential(room_token(page))
        return record is not None and record.parent == key_after

    eventually(lambda: renewals(page) >= seen + 2 and minted_by_new_key(), timeout=3 * TTL)
    send(page, "after rotation")
    wait_for_message(page, "after rotation")
    assert errors_shown(page) == []
    assert page.inner_text("#vendor-status") == "ok"


def test_page_survives_the_vendor_answering_429(page: Any, web: WebStack, browser: Any) -> None:
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.url.startswith(web.vendor_url) else None)
    web.throttle()
    try:
        eventually(lambda: "429" in page.inner_text("#vendor-status"), timeout=2 * TTL)
        throttled_at = time.monotonic()
        # the held token is still valid: chat goes on while the vendor refuses renewals
        send(page, "during 429")
        wait_for_message(page, "during 429")
        time.sleep(1.5)
        throttled_for = time.monotonic() - throttled_at
    finally:
        web.throttle(False)
    eventually(lambda: page.inner_text("#vendor-status") == "ok", timeout=TTL)
    refusals = statuses.count(429)
    assert refusals >= 1
    # Retry-After (1 s) is honoured: no storm, at most about one retry per second per token
    assert refusals <= 2 * (throttled_for + 2), statuses
    send(page, "after 429")
    wait_for_message(page, "after 429")
    assert errors_shown(page) == []


def test_hostile_vendor_answers_never_break_the_page(page: Any, web: WebStack) -> None:
    """A vendor (or whatever answers in its place) sending garbage, Retry-After: 0 storms or a
    redirect elsewhere: the page keeps its valid tokens, shows that renewal is failing, does not
    hammer, never follows the redirect, and recovers when the vendor does."""
    import base64
    import json

    script: list[dict[str, Any]] = []
    seen: list[str] = []
    cors = {"access-control-allow-origin": web.origin, "content-type": "application/json"}

    def hostile(route: Any) -> None:
        seen.append(route.request.url)
        answer = script[len(seen) % len(script)]
        route.fulfill(
            status=answer["status"], headers={**cors, **answer.get("headers", {})}, body=answer["body"]
        )

    not_a_token = base64.b64encode(b"hello").decode()
    script.extend(
        [
            {
                "status": 200,
                "body": json.dumps({"authToken": not_a_token, "expiresAt": int(time.time()) + 60}),
            },
            {"status": 200, "body": "<html>maintenance</html>"},
            {"status": 429, "headers": {"retry-after": "0"}, "body": "{}"},
            {"status": 302, "headers": {"location": "http://127.0.0.1:9/steal"}, "body": ""},
        ]
    )
    page.route(f"{web.vendor_url}/**", hostile)
    eventually(lambda: "retrying" in page.inner_text("#vendor-status"), timeout=2 * TTL)
    started = time.monotonic()
    send(page, "through the storm")
    wait_for_message(page, "through the storm")
    time.sleep(3)
    elapsed = time.monotonic() - started
    # two vending clients, at most one retry a second each (Retry-After: 0 is floored to 1 s)
    assert len(seen) <= 2 * (elapsed + 2), len(seen)
    assert all(url.startswith(web.vendor_url) for url in seen)
    page.unroute(f"{web.vendor_url}/**")
    eventually(lambda: page.inner_text("#vendor-status") == "ok", timeout=2 * TTL)
    send(page, "after the storm")
    wait_for_message(page, "after the storm")
    assert errors_shown(page) == []
