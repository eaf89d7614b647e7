"""`sam local invoke VendorFunction` with every file in events/vendor/, against the local stack.

A file's name says what it expects: `<method>-token-<auth mode>[-<case>].json`, where no case
means 200 and the case names the error (`unauthenticated` 401, `forbidden` 403, ...). The
function runs with `AUTH_MODE` set to the mode in the name and the sample policy
(`events/vendor/policy.json`); a 200 must carry a token the local Momento server issued.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.sam.helpers import EVENTS, Invoke, SeedSecret, WriteEnvVars

if TYPE_CHECKING:
    from local.stack import LocalStack

pytestmark = pytest.mark.sam

VENDOR_EVENTS = EVENTS / "vendor"
POLICY = VENDOR_EVENTS / "policy.json"
NAME = re.compile(r"(?P<method>[a-z]+)-token-(?P<mode>jwt|lambda|iam|none)(?:-(?P<case>[a-z-]+))?")
STATUS_BY_CASE = {
    None: 200,
    "malformed": 400,
    "unknown-scope": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "method-not-allowed": 405,
    "too-large": 413,
}
EVENT_FILES = sorted(p for p in VENDOR_EVENTS.glob("*.json") if p != POLICY)


def expectation(event: Path) -> tuple[str, int]:
    """(auth mode, expected HTTP status) from the file name; an unknown name fails the test."""
    match = NAME.fullmatch(event.stem)
    assert match, f"{event.name}: name it <method>-token-<mode>[-<case>].json"
    assert match["case"] in STATUS_BY_CASE, f"{event.name}: unknown case {match['case']!r}"
    return match["mode"], STATUS_BY_CASE[match["case"]]


def test_there_are_vendor_events() -> None:
    assert len(EVENT_FILES) >= 4


@pytest.mark.parametrize("event", EVENT_FILES, ids=[p.stem for p in EVENT_FILES])
def test_vendor_event(
    event: Path,
    invoke: Invoke,
    sam_env_vars: WriteEnvVars,
    seed_secret: SeedSecret,
    sam_stack: LocalStack,
) -> None:
    # GIVEN the vendor in the event's auth mode, reading a fresh master key
    mode, expected = expectation(event)
    env_vars = sam_env_vars(
        {
            "VendorFunction": {
                "SECRET_ID": seed_secret(),
                "AUTH_MODE": mode,
                "VENDING_POLICY": POLICY.read_text(),
            }
        }
    )
    # WHEN API Gateway would hand it this event
    result = invoke("VendorFunction", event, env_vars)
    # THEN it answers with the status the file name promises
    response = result.payload
    assert "errorType" not in response, f"{response}\n{result.log[-3000:]}"
    assert response["statusCode"] == expected, f"{response}\n{result.log[-3000:]}"
    body = json.loads(response["body"])
    if expected == 200:
        headers = {name.lower(): value for name, value in response["headers"].items()}
        assert headers["cache-control"] == "no-store"
        credential = sam_stack.momento.credential(body["authToken"])
        assert credential is not None, "the token was not issued by the local Momento server"
        assert body["permissions"]
    else:
        assert set(body) >= {"error", "message"}
        assert "authToken" not in body
