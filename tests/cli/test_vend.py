"""`keyguard vend --as CLAIMS.json` through the vendor's real handler, behind the local API front."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import vendor.app
from keyguard_cli.vend import http_event, summary
from local.api_gateway import LocalLambdaContext, serve
from tests.cli.conftest import Cli
from tests.rotator.support import SECRET_ID, RotatorStack

POLICY = (Path(__file__).resolve().parents[2] / "events" / "vendor" / "policy.json").read_text()
MEMBER = {"sub": "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c", "cognito:groups": ["members"], "tenant": "acme"}


@pytest.fixture
def vendor_env(rstack: RotatorStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    rstack.create_secret(rstack.mint_v1().console_json())
    env = {**rstack.stack.env(), "SECRET_ID": SECRET_ID, "AUTH_MODE": "jwt", "VENDING_POLICY": POLICY}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    vendor.app._application.cache_clear()
    yield
    vendor.app._application.cache_clear()


def _claims(tmp_path: Path, claims: dict[str, Any]) -> str:
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(claims))
    return str(path)


@pytest.mark.usefixtures("vendor_env")
def test_vend_against_the_local_api_front(cli: Cli, tmp_path: Path) -> None:
    with serve(vendor.app.handler, auth_mode="jwt") as url:
        # WHEN a member asks with GET THEN the report names the token, never shows it
        result = cli("vend", "--as", _claims(tmp_path, MEMBER), "--url", url, "--json")
        assert result.code == 0, result.output
        report = result.json()
        assert report["outcome"] == "vended"
        assert report["tokenId"] == MEMBER["sub"]
        assert {"cache": "tenant-acme", "role": "read_only"} in report["permissions"]
        assert "authToken" not in report
        assert "token" not in report

        # WHEN the caller asks for more than the policy allows THEN 403, exit 1
        body = tmp_path / "body.json"
        body.write_text(json.dumps({"permissions": [{"cache": "tenant-globex", "role": "read_write"}]}))
        refused = cli("vend", "--as", _claims(tmp_path, MEMBER), "--url", url, "--request", str(body))
        assert refused.code == 1
        assert "refused (403): forbidden" in refused.output

    # WHEN the URL is a deployed API (no --local) THEN unsigned claims are refused up front
    remote = cli("vend", "--as", _claims(tmp_path, MEMBER), "--url", "https://example.com/token", local=False)
    assert remote.code == 1
    assert "--url needs --local" in remote.output


@pytest.mark.usefixtures("vendor_env")
def test_the_invoke_event_is_what_the_handler_reads_as_that_caller() -> None:
    # GIVEN the event `vend --function` sends to the VendorFunction
    response = vendor.app.handler(http_event(MEMBER, None), LocalLambdaContext())
    # THEN the handler vends for that caller
    report = summary(int(response["statusCode"]), response["body"])
    assert report["outcome"] == "vended", response
    assert report["tokenId"] == MEMBER["sub"]
    posted = vendor.app.handler(
        http_event(MEMBER, {"permissions": [{"cache": "tenant-acme", "role": "read_only"}]}),
        LocalLambdaContext(),
    )
    # A request for some statements of the allowance gets the whole token-sized part (issue 13).
    assert {"cache": "tenant-acme", "role": "read_only"} in summary(
        int(posted["statusCode"]), posted["body"]
    )["permissions"]
