"""The log scan that runs after every rotator test can see a leak when there is one."""

from __future__ import annotations

import io
import json
import logging

from aws_lambda_powertools import Logger

from shared.momento_access import CHECK_PERMISSION, MasterKey
from tests.rotator.support import RotatorStack, leaks, stored_material

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


def test_a_disposable_token_as_apps_get_it_counts_as_a_leak(rstack: RotatorStack) -> None:
    # GIVEN a token minted with a master key: the SDK hands it out as base64 JSON around a JWT
    minted = rstack.mint_v1(30 * DAY)
    token = rstack.momento.mint_token(MasterKey(minted.api_key), (CHECK_PERMISSION,), 60, "probe")
    # THEN the wrapped token is found among the material the server issued, in either base64 alphabet
    material = stored_material(rstack.server)
    assert leaks(f"token={token.auth_token}", material)
    urlsafe = token.auth_token.replace("+", "-").replace("/", "_").rstrip("=")
    assert leaks(f"token={urlsafe}", material)
    assert not leaks("token=<redacted>", material)


def test_a_wrapped_refreshed_key_counts_as_a_leak(rstack: RotatorStack) -> None:
    # GIVEN a refreshed v1 key, wrapped as Momento's SDKs return it, that was never stored
    minted = rstack.mint_v1(30 * DAY)
    issued = rstack.momento.refresh_v1(MasterKey(minted.api_key), minted.refresh_token)
    # THEN logging it is caught (moto never held it: only the server's records know it) ...
    assert leaks(issued.api_key, stored_material(rstack.server))
    # ... and so is its next refresh token
    assert issued.refresh_token is not None
    assert leaks(f"rt {issued.refresh_token}", stored_material(rstack.server))
