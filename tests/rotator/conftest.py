"""Fixtures for the rotator: one local stack per session, reset per test, and a log scan.

The stack (moto's ThreadedMotoServer + the local Momento server) starts once; each test
gets a reset moto, cleared Momento faults, no Momento quota (tests of the quota set one),
and its own Momento account so keys never meet across tests. The clock is the Momento
server's: the rotator, the key expiries and the claim lease all read the same time.

`_no_key_material_in_logs` (autouse) captures every log record and everything written to
stdout/stderr during each test and fails the test if any key, refresh token or disposable
token that Secrets Manager holds or the Momento server ever issued appears in it.
"""

from __future__ import annotations

import logging
import urllib.request
import uuid
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from mypy_boto3_secretsmanager import SecretsManagerClient

from local.stack import LocalStack
from shared.config import CommonSettings
from shared.momento_access import SdkMomentoAccess
from tests.rotator.support import Records, RotatorStack, ServerClock, leaks, stored_material


@pytest.fixture(scope="session")
def session_stack() -> Iterator[LocalStack]:
    with LocalStack() as stack:
        yield stack


def _reset_moto(stack: LocalStack) -> None:
    request = urllib.request.Request(f"{stack.secrets_manager_endpoint_url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=5).close()


@pytest.fixture
def sm(session_stack: LocalStack) -> SecretsManagerClient:
    """A client of the session's (reset) moto server, with botocore's own retries off."""
    _reset_moto(session_stack)
    return boto3.client(
        "secretsmanager",
        endpoint_url=session_stack.secrets_manager_endpoint_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )


@pytest.fixture
def rstack(session_stack: LocalStack, sm: SecretsManagerClient) -> Iterator[RotatorStack]:
    server = session_stack.momento
    server.faults.clear()
    server.set_quota(None)
    clock = ServerClock(server)
    common = CommonSettings(
        secrets_manager_endpoint_url=session_stack.secrets_manager_endpoint_url,
        momento_local_endpoint=session_stack.momento_local_endpoint,
        momento_api_keys_url=session_stack.momento_api_keys_url or "",
        momento_timeout_seconds=2.0,
    )
    momento = SdkMomentoAccess(common)
    rs = RotatorStack(session_stack, clock, f"acct-{uuid.uuid4().hex[:12]}", common, momento)
    try:
        yield rs
    finally:
        momento.close()
        server.faults.clear()
        server.set_quota(None)
        if clock.moved:
            server.clock.advance(-clock.moved)


# --- the log scan -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_key_material_in_logs(session_stack: LocalStack, capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    handler = Records()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    # INFO, not DEBUG: botocore's DEBUG logging prints request bodies; Lambda runs it at WARNING.
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    out, err = capfd.readouterr()
    # Keep the output visible in pytest's report of a failed test.
    print(out, end="")
    leaked = leaks("\n".join([*handler.lines, out, err]), stored_material(session_stack.momento))
    assert not leaked, f"key material appeared in logs or output: {leaked}"
