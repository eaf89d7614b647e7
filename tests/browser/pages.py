"""Driving the example page like a person: sign in, chat, save a status, pin."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

READY = "body[data-ready='1']"
#: Sign-in waits out the vendor's 429s (its mint headroom is 3/s, shared by every page of a test)
#: and, on a loaded CI machine, a slow first bundle parse: a deadline, not a speed claim.
READY_TIMEOUT_MS = 45_000


def open_signed_in(browser: Any, url: str, name: str) -> tuple[Any, Any, list[str]]:
    """A fresh browser context signed in as `name`; returns (context, page, console errors)."""
    context = browser.new_context()
    page = context.new_page()
    console: list[str] = []
    # Chromium logs every non-2xx fetch as "Failed to load resource" (the vendor's 429s while the
    # page waits as told): not a page error. Everything else logged as an error is.
    page.on(
        "console",
        lambda m: (
            console.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda e: console.append(str(e)))
    page.goto(url)
    page.fill("#username", name)
    page.click("#signin-button")
    page.wait_for_selector(READY, timeout=READY_TIMEOUT_MS)
    return context, page, console


def send(page: Any, text: str) -> None:
    page.fill("#text", text)
    page.click("#send-button")


def wait_for_message(page: Any, text: str, timeout_ms: int = 8_000) -> None:
    page.wait_for_function(
        "t => [...document.querySelectorAll('#messages li')].some(li => li.textContent.includes(t))",
        arg=text,
        timeout=timeout_ms,
    )


def errors_shown(page: Any) -> list[str]:
    return list(page.locator("#errors li").all_inner_texts())


def renewals(page: Any) -> int:
    return int(page.evaluate("window.keyguard.renewals"))


def room_token(page: Any) -> str:
    return str(page.evaluate("window.keyguard.clients[1].current().authToken"))


def eventually(check: Callable[[], bool], timeout: float = 10.0, every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(every)
