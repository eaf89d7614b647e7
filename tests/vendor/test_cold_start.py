"""What the vendor imports, and what its per-request metric line is: the cold-start work of issue 15.

Import lists are checked in a fresh interpreter (this test process has imported everything).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

import vendor.app
from tests.vendor.conftest import VendorStack
from vendor.outcome_metrics import OutcomeMetrics

ROOT = Path(__file__).parents[2]
#: Powertools' event handler (the resolver) is about 60 ms of an import: only non-token routes need it.
HEAVY = ("aws_xray_sdk", "boto3", "s3transfer", "momento", "grpc", "aws_lambda_powertools.event_handler")
#: A fresh interpreter's cold start: import the handler, serve one jwt request.
FIRST_REQUEST = (
    "import json, os, sys\n"
    "sys.stdout = open(os.devnull, 'w')\n"
    "import vendor.app\n"
    "from local.api_gateway import LocalLambdaContext\n"
    "event = json.load(open('events/vendor/get-token-jwt.json'))\n"
    "assert vendor.app.handler(event, LocalLambdaContext())['statusCode'] == 200\n"
)


def imported_after(code: str, env: dict[str, str]) -> dict[str, bool]:
    """Run `code` in a fresh interpreter; which of HEAVY it left imported."""
    report = f"print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}), file=sys.stderr)"
    probe = f"{code}\nimport json, sys\n{report}"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded: dict[str, bool] = json.loads(done.stderr.strip().splitlines()[-1])
    return loaded


def test_handler_module_imports_no_xray_aws_or_momento_sdk() -> None:
    loaded = imported_after("import vendor.app", {"POWERTOOLS_TRACE_DISABLED": "true"})
    assert loaded == dict.fromkeys(HEAVY, False)


def test_handler_module_imports_xray_when_it_will_trace() -> None:
    lambda_env = {"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}
    assert imported_after("import vendor.app", lambda_env)["aws_xray_sdk"] is True


@pytest.mark.integration
def test_first_request_imports_neither_xray_nor_boto3(vendor_stack: VendorStack) -> None:
    loaded = imported_after(FIRST_REQUEST, {**vendor_stack.env(), "POWERTOOLS_TRACE_DISABLED": "true"})
    assert loaded == {
        "aws_xray_sdk": False,
        "boto3": False,
        "s3transfer": False,
        "momento": True,
        "grpc": True,
        "aws_lambda_powertools.event_handler": False,
    }


def probe(code: str, report: str, env: dict[str, str]) -> Any:
    """Run `code` in a fresh interpreter, then `report` (an expression, with `gc` imported); its JSON."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport gc, json, sys\nprint(json.dumps({report}), file=sys.stderr)"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stderr.strip().splitlines()[-1])


def botocore_clients_after(code: str, env: dict[str, str]) -> list[int]:
    """The attempt budget of every botocore client `code` left alive in a fresh interpreter."""
    attempts: list[int] = probe(
        f"{code}\nfrom botocore.client import BaseClient",
        "sorted(o.meta.config.retries['total_max_attempts']"
        " for o in gc.get_objects() if isinstance(o, BaseClient))",
        env,
    )
    return attempts


@pytest.mark.integration
def test_first_request_builds_one_secrets_manager_client(vendor_stack: VendorStack) -> None:
    """The reader serves the master key and the sealing key; the version-check client (one
    attempt) waits for the first version check, which the first request does not run."""
    env = {**vendor_stack.env(SHARED_TOKEN_CACHE_NAME="keyguard-tokens"), "POWERTOOLS_TRACE_DISABLED": "true"}
    assert botocore_clients_after(FIRST_REQUEST, env) == [2]


@pytest.mark.integration
def test_version_check_client_is_built_on_the_first_check(vendor_stack: VendorStack) -> None:
    """With no interval, a second caller's mint checks the version: with the bounded one-attempt
    client (`VERSION_CHECK_CONFIG`), built then, not with the reader."""
    env = {
        **vendor_stack.env(VERSION_CHECK_INTERVAL_SECONDS="0"),
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    assert botocore_clients_after(FIRST_REQUEST, env) == [2]
    second = (
        "event['requestContext']['authorizer']['jwt']['claims']['sub'] = 'another-caller'\n"
        "assert vendor.app.handler(event, LocalLambdaContext())['statusCode'] == 200\n"
    )
    assert botocore_clients_after(FIRST_REQUEST + second, env) == [1, 2]


@pytest.mark.integration
def test_first_request_builds_no_api_keys_http_opener(vendor_stack: VendorStack) -> None:
    """Only the rotator calls the API keys HTTP API: the vendor's first request loads no CA
    certificates for it (its opener is built on the first call)."""
    env = {**vendor_stack.env(), "POWERTOOLS_TRACE_DISABLED": "true"}
    opener = "from urllib.request import OpenerDirector"
    report = "sum(isinstance(o, OpenerDirector) for o in gc.get_objects())"
    assert probe(f"{FIRST_REQUEST}{opener}", report, env) == 0


@pytest.mark.parametrize(
    ("env", "traced"),
    [
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "1"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_CHALICE_CLI_MODE": "true"}, False),
        ({}, False),
    ],
)
def test_tracing_follows_powertools_rule(env: dict[str, str], traced: bool) -> None:
    assert vendor.app.tracing_enabled(env) is traced


def _without_timestamp(line: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(line)
    assert isinstance(record["_aws"].pop("Timestamp"), int)
    return record


@pytest.mark.parametrize(
    "name", ["TokensVended", "VendRefused", "VendThrottled", "VendUnavailable", "VendFailed"]
)
def test_outcome_line_is_the_one_powertools_flushes(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "keyguard-vendor")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    reference = Metrics(namespace="MomentoKeyGuard")
    reference.add_metric(name=name, unit="Count", value=1)
    reference.flush_metrics()
    expected = capsys.readouterr().out.strip()
    fast = OutcomeMetrics(Metrics(namespace="MomentoKeyGuard"))
    fast.count(name)
    fast.count(name)  # the second line comes from the kept serialization
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert [_without_timestamp(line) for line in lines] == [_without_timestamp(expected)] * 2


def test_outcome_metrics_honour_powertools_disable_switch(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    OutcomeMetrics(Metrics(namespace="MomentoKeyGuard")).count("TokensVended")
    assert capsys.readouterr().out == ""


def test_quota_metric_joins_the_outcome_line_as_powertools_would(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "keyguard-vendor")
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    reference = Metrics(namespace="MomentoKeyGuard")
    reference.add_metric(name="MintBudgetExceeded", unit="Count", value=1)
    reference.add_metric(name="VendThrottled", unit="Count", value=1)
    reference.flush_metrics()
    expected = capsys.readouterr().out.strip()
    fast = OutcomeMetrics(Metrics(namespace="MomentoKeyGuard"))
    fast.also("MintBudgetExceeded")
    fast.count("VendThrottled")
    fast.count("VendThrottled")  # the extra name was for that one request only
    first, second = capsys.readouterr().out.strip().splitlines()
    assert _without_timestamp(first) == _without_timestamp(expected)
    assert "MintBudgetExceeded" not in second


def test_module_load_leaves_nothing_a_snapstart_snapshot_must_not_carry() -> None:
    """SnapStart snapshots the environment after the module loads: it must hold no client,
    connection, thread, loaded key or clock reading (all are made on the first request)."""
    probe = (
        "import gc, json, socket, sys, threading\n"
        "import vendor.app\n"
        "sockets = [o for o in gc.get_objects() if isinstance(o, socket.socket) and o.fileno() != -1]\n"
        "print(json.dumps({'built': vendor.app._application.cache_info().currsize,\n"
        "  'threads': threading.active_count(), 'sockets': len(sockets),\n"
        "  'key_source': 'vendor.master_key' in sys.modules and any(\n"
        "    type(o).__name__ == 'MasterKeySource' for o in gc.get_objects())}), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "POWERTOOLS_TRACE_DISABLED": "true"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    state = json.loads(done.stderr.strip().splitlines()[-1])
    assert state == {"built": 0, "threads": 1, "sockets": 0, "key_source": False}
