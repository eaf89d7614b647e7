"""Momento's own Node.js SDK (`@gomomento/sdk`, from npm, unpatched) against the local server.

Starts `MomentoLocalServer` on 127.0.0.1 (free ports), mints a console-style v1 key, creates two
caches, then runs `node --test` in `tests/conformance/node` with the endpoint and keys in environment
variables. Any failing Node test fails this test; its TAP output is in the failure message.
`make test` installs the Node packages first (`npm ci`, target `conformance-node`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from local.momento.server import MomentoLocalServer

pytestmark = pytest.mark.integration

SUITE = Path(__file__).parent / "node"
NODE_TIMEOUT_SECONDS = 240


def test_the_node_sdk_conformance_suite_passes() -> None:
    node = shutil.which("node")
    assert node, "node is not installed: `make test` needs Node.js 20+ (see tests/conformance/node)"
    assert (SUITE / "node_modules" / "@gomomento" / "sdk").is_dir(), (
        "the Node SDK is not installed: run `make conformance-node` (npm ci in tests/conformance/node)"
    )
    # Unlimited auth quota: the suite mints many tokens in a row (the quota has its own tests).
    with MomentoLocalServer(quota_rate=None, http_port=None) as server:
        master = server.mint_master_key()
        server.create_cache("conformance")
        server.create_cache("conformance-other")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "MOMENTO_LOCAL_ADDRESS": server.address,
            "MOMENTO_MASTER_KEY": master.api_key,
            "MOMENTO_MASTER_REFRESH": master.refresh_token,
            "MOMENTO_CACHE": "conformance",
            "MOMENTO_OTHER_CACHE": "conformance-other",
        }
        result = subprocess.run(
            [node, "--test", "--test-concurrency=4", "--test-reporter=tap"],
            cwd=SUITE,
            env=env,
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_SECONDS,
            check=False,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"node --test failed ({result.returncode}):\n{output[-20000:]}"
    # The suite really ran (not zero tests): TAP's summary counts them.
    assert "# fail 0" in output, output[-4000:]
    assert "# pass 0" not in output, output[-4000:]
