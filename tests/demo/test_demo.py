"""`make demo` is one of the README's two commands: run it as a user would and check what it shows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_rotates_vends_uses_and_denies() -> None:
    # GIVEN a fresh process (the demo starts and stops its own local stack)
    # WHEN the demo runs
    done = subprocess.run(
        [sys.executable, "-m", "local.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    out = done.stdout + done.stderr
    # THEN it finishes, and shows a rotation, a vend, the token in use and a denial
    assert done.returncode == 0, out[-3000:]
    assert '"outcome": "rotated"' in out
    assert "get tenant-acme/user-…-cart: 3 items" in out
    assert "set tenant-acme/someone-elses-key: denied: PERMISSION_ERROR" in out
    assert "publish orders-<sub>: ok" in out
    assert "outsider asking for the whole cache: HTTP 403 forbidden" in out
    assert "next vend minted with: the new AWSCURRENT key" in out
    assert "Demo finished" in out
    # AND nothing that looks like key material reaches the terminal: the local server's keys are
    # JWTs ("eyJ" = base64 of '{"'), vended tokens base64 JSON ("eyJ" too), refresh tokens "mrt_...".
    assert "eyJ" not in out
    assert "mrt_" not in out
