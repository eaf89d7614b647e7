"""`keyguard policy check FILE`: every problem of a broken policy, and grants of a good one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli.conftest import Cli

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "events" / "vendor" / "policy.json"


def _write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_a_good_policy_shows_what_a_sample_of_each_rule_gets(cli: Cli) -> None:
    result = cli("policy", "check", "--json", str(POLICY), local=False)
    assert result.code == 0, result.output
    report = result.json()
    assert report["valid"] is True
    assert report["problems"] == []
    by_rule = {i["as"]: i for i in report["identities"]}
    members = by_rule["sample for rule 'tenant members'"]
    # GET cannot mix key prefixes and topics in one token: it grants the cache part
    sub = "00000000-0000-4000-8000-000000000000"
    assert members["get_grants"]["permissions"] == [
        {"cache": "tenant-sample", "keyPrefix": f"user-{sub}-", "role": "read_write"},
        {"cache": "tenant-sample", "role": "read_only"},
    ]
    topics = [p for p in members["may_request"] if "topic" in p]
    assert {
        "cache": "tenant-sample",
        "topic": f"orders-{sub}",
        "role": "publish_subscribe",
        "maxTtlSeconds": 3600,
    } in topics
    assert members["get_grants"]["ttlSeconds"] == 3600
    admins = by_rule["sample for rule 'tenant admins'"]
    assert {"cache": "tenant-sample", "role": "read_write"} in admins["get_grants"]["permissions"]
    assert admins["get_grants"]["ttlSeconds"] == 900


def test_an_identity_file_shows_its_grant(cli: Cli, tmp_path: Path) -> None:
    claims = _write(tmp_path, "svc.json", {"sub": "svc-1", "accountId": "123456789012"})
    result = cli("policy", "check", str(POLICY), "--as", claims, local=False)
    assert result.code == 0, result.output
    assert f"{claims}: principal svc-1" in result.output
    assert '{"cache": "orders", "role": "read_write"}' in result.output

    nobody = _write(tmp_path, "nobody.json", {"sub": "x", "cognito:groups": ["strangers"]})
    report = cli("policy", "check", "--json", str(POLICY), "--as", nobody, local=False).json()
    (identity,) = report["identities"]
    # only the rule for everyone applies
    assert identity["get_grants"]["permissions"] == [
        {"cache": "public", "role": "subscribe_only", "topic": "announcements"}
    ]


def test_a_broken_policy_lists_every_problem_with_its_place(cli: Cli, tmp_path: Path) -> None:
    document = json.loads(POLICY.read_text())
    document["rules"][0]["allow"][1]["keyPrefix"] = "user-{sub}"  # no delimiter after the placeholder
    document["rules"][1]["colour"] = "red"  # unknown field
    document["rules"][2]["maxTtlSeconds"] = -5
    document["rules"][3]["allow"][0]["cache"] = "{nope}"
    path = _write(tmp_path, "broken.json", document)

    result = cli("policy", "check", "--json", path, local=False)

    assert result.code == 1
    problems = result.json()["problems"]
    assert len(problems) == 4, problems
    assert "rules[0].allow[1]" in problems[0]
    assert "delimiter" in problems[0]
    assert "rules[1]" in problems[1]
    assert "colour" in problems[1]
    assert "rules[2]" in problems[2]
    assert "maxTtlSeconds" in problems[2]
    assert "rules[3]" in problems[3]
    assert "{nope}" in problems[3]
    human = cli("policy", "check", path, local=False).output
    assert "INVALID" in human
    assert human.count("problem:") == 4


def test_files_that_are_not_policies(cli: Cli, tmp_path: Path) -> None:
    missing = cli("policy", "check", str(tmp_path / "absent.json"), local=False)
    assert missing.code == 1
    assert "no such file" in missing.output
    not_json = cli("policy", "check", _write(tmp_path, "x.json", '{"rules": [\n  {"name": }]}'), local=False)
    assert not_json.code == 1
    assert "not JSON" in not_json.output
    assert "line 2" in not_json.output
    wrong = cli("policy", "check", "--json", _write(tmp_path, "list.json", [1, 2]), local=False)
    assert wrong.code == 1
    assert wrong.json()["problems"] == ['expected {"rules": [...]}']


def test_a_policy_too_large_for_the_environment_says_where_to_put_it(cli: Cli, tmp_path: Path) -> None:
    rules = [
        {
            "name": f"tenant {i}",
            "when": {"claims": {"tenant": f"t{i}"}},
            "allow": [{"cache": f"c{i}", "role": "read_only"}],
        }
        for i in range(60)
    ]
    report = cli(
        "policy", "check", "--json", _write(tmp_path, "big.json", {"rules": rules}), local=False
    ).json()
    assert report["valid"] is True
    assert report["compact_bytes"] > 4096
    assert any("SSM Parameter Store or AppConfig" in note for note in report["notes"])
