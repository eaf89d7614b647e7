"""What an outsider tried first: wrong secrets, wrong files, wrong places. Clear answers, exit 1/2."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from keyguard_cli.main import main
from tests.cli.conftest import Cli
from tests.rotator.support import RotatorStack


def test_status_of_broken_and_missing_secrets_names_each_problem(rstack: RotatorStack, cli: Cli) -> None:
    rstack.create_secret("not a key at all", name="app/garbage")
    rstack.create_secret({"hello": 1}, name="app/json")
    rstack.create_secret("QUJD", name="app/base64")  # one printable word: parses as a plain key

    result = cli("status", "--json", "--check-key", "app/garbage", "app/json", "app/base64", "app/absent")

    assert result.code == 1
    assert "secrets" in result.json(), result.output
    garbage, json_secret, base64, absent = result.json()["secrets"]
    assert garbage["key"] is None
    assert "one word of printable ASCII" in garbage["problems"][0]
    assert "no key field" in json_secret["problems"][0]
    # only Momento can tell that a well-formed word is no key: --check-key asks it
    assert base64["key_check"]["works"] is False
    assert "not a readable Momento API key" in base64["key_check"]["error"]
    assert absent["error"] == "secret_not_found"
    assert "[the local stack; check --region / --profile]" in absent["message"]
    human = cli("status", "app/garbage", "app/absent").output
    assert "PROBLEM: secret 'app/garbage' is not a Momento key secret" in human
    assert "error: secret_not_found" in human


def test_a_working_key_passes_the_check(rstack: RotatorStack, cli: Cli) -> None:
    rstack.create_secret(rstack.mint_v1().console_json(), name="app/v1")
    result = cli("status", "--json", "--check-key", "app/v1")
    assert result.code == 0, result.output
    assert result.json()["secrets"][0]["key_check"] == {"works": True, "error": None}


def test_local_without_the_stacks_endpoints_says_how_to_get_them() -> None:
    out = io.StringIO()
    assert main(["--local", "status", "s"], environ={}, out=out) == 1
    assert "python -m local.stack" in out.getvalue()


def test_aws_without_a_region_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # boto3 reads the process environment and its config files
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    out = io.StringIO()
    code = main(["--json", "status", "s"], environ={"AWS_CONFIG_FILE": "/nonexistent"}, out=out)
    assert code == 1
    assert "no AWS region" in out.getvalue()


def test_policy_check_argument_and_file_mistakes(
    cli: Cli, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text('{"rules": []}')
    report = cli("policy", "check", "--json", str(empty), local=False).json()
    assert report["valid"] is True
    assert "no rules: every caller is refused (403)" in report["notes"]
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    assert "not UTF-8 text" in cli("policy", "check", str(binary), local=False).output
    assert "cannot read it" in cli("policy", "check", str(tmp_path), local=False).output
    with pytest.raises(SystemExit) as usage:
        main(["policy", "check", str(empty), "--max-ttl", "-3"])
    assert usage.value.code == 2
    assert "must be within 60..90000" in capfd.readouterr().err


def test_rollback_to_a_malformed_previous_value_is_refused(rstack: RotatorStack, cli: Cli) -> None:
    rstack.create_secret("QUJD", name="app/x")
    rstack.client().put_secret_value(SecretId="app/x", SecretString=rstack.mint_v1().console_json()["apiKey"])
    before = rstack.client().describe_secret(SecretId="app/x")["VersionIdsToStages"]
    result = cli("rollback", "--yes", "app/x")
    assert result.code == 1
    assert "rollback_refused" in result.output
    assert "Momento refuses the AWSPREVIOUS key of 'app/x'" in result.output
    assert rstack.client().describe_secret(SecretId="app/x")["VersionIdsToStages"] == before


def test_rollback_away_from_a_broken_value_put_by_hand(rstack: RotatorStack, cli: Cli) -> None:
    # GIVEN a working key, then a value that is no key put over it (a typo in put-secret-value)
    good = rstack.mint_v1().console_json()
    rstack.create_secret(good, name="app/typo")
    rstack.client().put_secret_value(SecretId="app/typo", SecretString='{"apiKey": ""}')
    assert cli("status", "app/typo").code == 1

    # WHEN the operator rolls back THEN the working key is current again
    result = cli("rollback", "--yes", "app/typo")
    assert result.code == 0, result.output
    assert "no key secret" in result.output
    current = rstack.client().get_secret_value(SecretId="app/typo", VersionStage="AWSCURRENT")["SecretString"]
    assert json.loads(current) == good
    assert cli("status", "--no-orphans", "app/typo").code == 0
