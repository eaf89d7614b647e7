"""The `keyguard` command as users start it: the console script and `python -m keyguard_cli`."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.cli.conftest import Cli, cli_env
from tests.rotator.support import SECRET_ID, RotatorStack

ROOT = Path(__file__).resolve().parents[2]


def test_the_console_script_is_declared_and_packaged() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["scripts"]["keyguard"] == "keyguard_cli.main:main"
    # the command imports the rotator, the vendor and shared: an installed script needs them all
    assert {"keyguard_cli", "rotator", "vendor", "shared"} <= set(project["tool"]["setuptools"]["packages"])


def test_python_m_keyguard_cli_in_a_fresh_process(rstack: RotatorStack, cli: Cli) -> None:
    rstack.create_secret(rstack.mint_v1().console_json())
    done = subprocess.run(
        [sys.executable, "-m", "keyguard_cli", "--local", "--json", "status", SECRET_ID],
        cwd=ROOT,
        env={**cli_env(rstack), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (status,) = json.loads(done.stdout)["secrets"]
    assert status["key"]["kind"] == "v1 with refresh token"

    usage = subprocess.run(
        [sys.executable, "-m", "keyguard_cli", "rotate", "--forse"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert usage.returncode == 2
    assert "unrecognized arguments: --forse" in usage.stderr


def test_stack_outputs_name_the_secrets(rstack: RotatorStack, cli: Cli) -> None:
    # GIVEN a stack whose outputs list two secrets (moto's CloudFormation, as `sam deploy` leaves it)
    rstack.create_secret(rstack.mint_v1().console_json(), name="app/one")
    rstack.create_secret(rstack.mint_v1().console_json(), name="app/two")
    template = {
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {}}},
        "Outputs": {"SecretArns": {"Value": "app/one,app/two"}},
    }
    import boto3

    boto3.client(
        "cloudformation", endpoint_url=rstack.stack.secrets_manager_endpoint_url, region_name="us-east-1"
    ).create_stack(StackName="keyguard", TemplateBody=json.dumps(template))

    # WHEN status is asked for the stack THEN both secrets are reported
    result = cli("--stack", "keyguard", "status", "--json")
    assert result.code == 0, result.output
    assert [s["secret_id"] for s in result.json()["secrets"]] == ["app/one", "app/two"]
