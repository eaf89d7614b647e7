"""`keyguard` against the local stack: the rotator tests' stack, clock and log-leak scan.

`run_cli` calls `keyguard_cli.main.main` in process with `--local`, the stack's endpoints as
its environment and the Momento server's clock, so claims, graces and expiries are judged on
the same time as the keys; its output is scanned for key material like every log line.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pytest

from keyguard_cli.main import main
from tests.rotator.conftest import _no_key_material_in_logs, rstack, session_stack, sm
from tests.rotator.support import RotatorStack, leaks, stored_material

__all__ = ["_no_key_material_in_logs", "rstack", "session_stack", "sm"]


@dataclass
class CliResult:
    code: int
    output: str

    def json(self) -> Any:
        return json.loads(self.output)


def cli_env(rstack: RotatorStack, **overrides: str) -> dict[str, str]:
    return {
        **rstack.stack.env(),
        "MOMENTO_TIMEOUT_SECONDS": "2",
        **{name.upper(): value for name, value in overrides.items()},
    }


class Cli:
    def __init__(self, rstack: RotatorStack) -> None:
        self.rstack = rstack
        self.env: dict[str, str] = cli_env(rstack)

    def __call__(self, *args: str, local: bool = True) -> CliResult:
        out = io.StringIO()
        argv = ["--local", *args] if local else list(args)
        code = main(argv, environ=self.env, clock=self.rstack.clock, out=out)
        text = out.getvalue()
        leaked = leaks(text, stored_material(self.rstack.server))
        assert not leaked, f"keyguard printed key material: {leaked}"
        return CliResult(code, text)


@pytest.fixture
def cli(rstack: RotatorStack) -> Cli:
    return Cli(rstack)
