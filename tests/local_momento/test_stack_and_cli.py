"""The local stack (moto + Momento) and the `python -m local.momento` / `python -m local.stack` CLIs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes as S

from local.momento.server import ServerConfig
from local.momento.testing import Sdk
from local.stack import LocalStack

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_local_stack_serves_secrets_manager_and_momento(local_stack: LocalStack) -> None:
    sm = local_stack.secretsmanager_client()
    key = local_stack.momento.mint_master_key()
    sm.create_secret(Name="momento/master", SecretString=json.dumps(key.console_json()))
    stored = json.loads(sm.get_secret_value(SecretId="momento/master")["SecretString"])
    assert stored["apiKey"] == key.api_key

    env = local_stack.env()
    assert env["MOMENTO_LOCAL_ENDPOINT"] == local_stack.momento_local_endpoint
    assert env["SECRETS_MANAGER_ENDPOINT_URL"] == local_stack.secrets_manager_endpoint_url
    assert env["MOMENTO_API_KEYS_URL"] == local_stack.momento_api_keys_url
    sdk = Sdk(local_stack.momento)
    try:
        sdk.mint(key.api_key, S.cache_read_write("c1"))
    finally:
        sdk.close()


def test_moto_state_is_reset_between_stacks(local_stack: LocalStack) -> None:
    assert local_stack.secretsmanager_client().list_secrets()["SecretList"] == []


def test_a_new_stack_starts_with_a_clean_moto() -> None:
    with LocalStack() as first:
        first.secretsmanager_client().create_secret(Name="left-over", SecretString="v")
        with LocalStack() as second:
            assert second.secretsmanager_client().list_secrets()["SecretList"] == []


def test_several_hosts_share_state(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a stack on two loopback addresses and no AWS credentials in the environment
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name)
    with LocalStack(("127.0.0.1", "127.0.0.2"), momento=ServerConfig(quota_rate=None)) as stack:
        assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"
        import boto3

        first = stack.secretsmanager_client()
        second = boto3.client("secretsmanager", endpoint_url=stack.secrets_manager_endpoint_for("127.0.0.2"))
        first.create_secret(Name="s", SecretString="v")
        assert second.get_secret_value(SecretId="s")["SecretString"] == "v"
        key = stack.momento.mint_master_key()
        for host in stack.hosts:
            env = stack.env(host)
            assert env["MOMENTO_LOCAL_ENDPOINT"] == f"{host}:{stack.momento.port}"
            sdk = Sdk(env["MOMENTO_LOCAL_ENDPOINT"])
            try:
                sdk.mint(key.api_key, S.cache_read_write("c1"))
            finally:
                sdk.close()
    # THEN the dummy credentials it set are gone again
    assert "AWS_ACCESS_KEY_ID" not in os.environ


@pytest.fixture
def run() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)
        if p.stdout:
            p.stdout.close()


def _start(procs: list[subprocess.Popen[str]], *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    procs.append(proc)
    return proc


def test_server_cli_prints_endpoints_and_mints(run: list[subprocess.Popen[str]], tmp_path: Path) -> None:
    v1_file = tmp_path / "master.json"
    proc = _start(run, "local.momento", "--mint-v1", str(v1_file), "--mint-v2", "-", "--quota", "off")
    assert proc.stdout is not None
    endpoints = json.loads(proc.stdout.readline())
    v2 = json.loads(proc.stdout.readline())
    master = json.loads(v1_file.read_text())
    assert set(master) == {"apiKey", "refreshToken", "validUntil"}
    assert oct(v1_file.stat().st_mode & 0o777) == "0o600"
    assert set(v2) == {"apiKey", "endpoint", "validUntil"}

    sdk = Sdk(endpoints["momento_local_endpoint"])
    try:
        sdk.mint(master["apiKey"], S.cache_read_write("c1"))
        sdk.mint(v2["apiKey"], S.cache_read_write("c1"))
    finally:
        sdk.close()

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_stack_cli_prints_json_then_env_lines(run: list[subprocess.Popen[str]]) -> None:
    proc = _start(run, "local.stack", "--mint-v1", "-")
    assert proc.stdout is not None
    endpoints = json.loads(proc.stdout.readline())
    lines: dict[str, str] = {}
    while not (line := proc.stdout.readline()).startswith("{"):
        name, _, value = line.strip().partition("=")
        lines[name] = value
    assert lines["MOMENTO_LOCAL_ENDPOINT"] == endpoints["momento_local_endpoint"]
    assert lines["SECRETS_MANAGER_ENDPOINT_URL"] == endpoints["secrets_manager_endpoint_url"]
    assert lines["AWS_ACCESS_KEY_ID"] == "testing"
    assert "apiKey" in json.loads(line)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
