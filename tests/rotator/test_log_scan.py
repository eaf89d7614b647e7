"""The log scan that runs after every rotator test can see a leak when there is one."""

from __future__ import annotations

import io
import json
import logging

from aws_lambda_powertools import Logger

from tests.rotator.support import RotatorStack, leaks

DAY = 86400


def test_a_key_logged_through_powertools_is_found(rstack: RotatorStack) -> None:
    minted = rstack.mint_v1(30 * DAY)
    stream = io.StringIO()
    logger = Logger(service="leak-probe", logger_handler=logging.StreamHandler(stream))
    logger.info("oops", extra={"secret": json.dumps(minted.console_json())})
    found = leaks(stream.getvalue(), {minted.api_key, minted.refresh_token})
    assert sorted(found) == sorted([minted.api_key[:6] + "...", minted.refresh_token[:6] + "..."])


def test_a_jwt_signature_alone_counts_as_a_leak(rstack: RotatorStack) -> None:
    api_key = rstack.mint_v1(30 * DAY).api_key
    signature = api_key.split(".")[2]
    assert leaks(f"... {signature} ...", {api_key})
    assert not leaks("nothing to see", {api_key})
