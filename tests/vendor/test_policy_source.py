"""The vending policy from SSM Parameter Store / AppConfig: bounded refresh, last good one on a bad one.

SSM runs on moto's server (the local stack's; a real part). moto has no AppConfig *data* API
(`appconfigdata`), so the AppConfig test drives Powertools' provider through botocore's Stubber
with the two calls and answers AWS documents, including the empty configuration AppConfig
returns when nothing changed.
"""

from __future__ import annotations

import io
import json
import logging
import time
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from shared.errors import ConfigError, ForbiddenError
from tests.vendor.conftest import VendorStack, load_event
from vendor.identity import Identity
from vendor.policy import Policy
from vendor.policy_source import PolicySource, PolicySourceError, appconfig_fetch, ssm_fetch
from vendor.settings import VendorSettings

NAME = "/keyguard/vending-policy"
ALICE = Identity(principal="alice", groups=("readers",))


def _policy(cache: str) -> str:
    rule = {
        "name": "readers",
        "when": {"groups": ["readers"]},
        "allow": [{"cache": cache, "role": "read_only"}],
    }
    return json.dumps({"rules": [rule]})


def _build(document: Any) -> Policy:
    return Policy.from_json(document, 3600)


def _caches(source: PolicySource) -> list[str]:
    return [p.cache for p in source.grant(ALICE, None, None).permissions]


@pytest.fixture
def ssm(vendor_stack: VendorStack) -> Any:
    return boto3.client(
        "ssm", endpoint_url=vendor_stack.stack.secrets_manager_endpoint_url, region_name="us-east-1"
    )


def test_a_change_serves_within_max_age_and_a_broken_one_never_does(
    ssm: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ssm.put_parameter(Name=NAME, Value=_policy("first"), Type="String", Tier="Advanced")
    metrics: list[str] = []
    source = PolicySource(ssm_fetch(NAME, ssm), _build, 1, describe=NAME, record_metric=metrics.append)
    assert _caches(source) == ["first"]

    # WHEN the parameter changes THEN the old policy serves until max_age (Powertools' cache), then the new
    ssm.put_parameter(Name=NAME, Value=_policy("second"), Type="String", Overwrite=True)
    assert _caches(source) == ["first"]
    time.sleep(1.1)
    assert _caches(source) == ["second"]

    # WHEN a broken policy is stored (valid JSON, refused by the parser) THEN the last good one serves
    caplog.set_level(logging.INFO, logger="vendor.policy_source")
    broken = json.dumps({"rules": [{"allow": [{"cache": "x", "role": "read_only", "colour": "red"}]}]})
    ssm.put_parameter(Name=NAME, Value=broken, Type="String", Overwrite=True)
    time.sleep(1.1)
    assert _caches(source) == ["second"]
    assert metrics == ["PolicyRejected"]
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "last good policy keeps serving" in record.getMessage()
    assert any("colour" in p for p in record.__dict__["problems"])

    # AND not JSON at all: the same
    ssm.put_parameter(Name=NAME, Value="{rules: oops", Type="String", Overwrite=True)
    time.sleep(1.1)
    assert _caches(source) == ["second"]
    assert metrics == ["PolicyRejected", "PolicyRejected"]

    # WHEN the store goes away THEN the last good one serves, counted, and the store is not hammered
    ssm.delete_parameter(Name=NAME)
    time.sleep(1.1)
    assert _caches(source) == ["second"]
    assert metrics[-1] == "PolicySourceFailed"
    assert _caches(source) == ["second"]
    assert metrics.count("PolicySourceFailed") == 1

    # WHEN it is fixed THEN the fix serves
    ssm.put_parameter(Name=NAME, Value=_policy("third"), Type="String")
    time.sleep(1.1)
    assert _caches(source) == ["third"]


def test_no_good_policy_yet_means_nothing_is_served(ssm: Any) -> None:
    # GIVEN a cold start: a missing parameter is a retryable outage, a broken one a config error
    missing = PolicySource(ssm_fetch(NAME, ssm), _build, 60, describe=NAME, record_metric=lambda _: None)
    with pytest.raises(PolicySourceError) as outage:
        missing.grant(ALICE, None, None)
    assert outage.value.retryable
    ssm.put_parameter(Name=NAME, Value=json.dumps({"rules": "all"}), Type="String")
    broken = PolicySource(ssm_fetch(NAME, ssm), _build, 60, describe=NAME, record_metric=lambda _: None)
    with pytest.raises(ConfigError, match="rules"):
        broken.grant(ALICE, None, None)


def test_the_deployed_code_path_serves_the_ssm_policy(
    vendor_stack: VendorStack, ssm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the vendor configured with a parameter instead of VENDING_POLICY (Powertools' own client)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", vendor_stack.stack.secrets_manager_endpoint_url)
    policy = {"rules": [{"allow": [{"cache": "tenant-{claims.tenant}", "role": "read_only"}]}]}
    ssm.put_parameter(Name=NAME, Value=json.dumps(policy), Type="String")
    built = vendor_stack.build(VENDING_POLICY="", VENDING_POLICY_PARAMETER=NAME)

    # WHEN a caller asks THEN the grant comes from the parameter
    response = built.invoke(load_event("get-token-jwt.json"))
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["permissions"] == [{"cache": "tenant-acme", "role": "read_only"}]


def test_without_a_reachable_store_at_cold_start_the_vendor_answers_503(
    vendor_stack: VendorStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", vendor_stack.stack.secrets_manager_endpoint_url)
    built = vendor_stack.build(VENDING_POLICY="", VENDING_POLICY_PARAMETER="/absent")
    response = built.invoke(load_event("get-token-jwt.json"))
    assert response["statusCode"] == 503, response["body"]
    assert json.loads(response["body"])["error"] == "policy_source_unavailable"


def _configuration(text: str, token: str) -> dict[str, Any]:
    data = text.encode()
    return {
        "Configuration": StreamingBody(io.BytesIO(data), len(data)),
        "ContentType": "application/json",
        "NextPollConfigurationToken": token,
        "NextPollIntervalInSeconds": 60,
    }


def test_appconfig_profile_with_an_unchanged_poll_and_a_broken_deployment() -> None:
    client = boto3.client("appconfigdata", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response(
        "start_configuration_session",
        {"InitialConfigurationToken": "t0"},
        {
            "ApplicationIdentifier": "app",
            "EnvironmentIdentifier": "prod",
            "ConfigurationProfileIdentifier": "policy",
        },
    )
    stubber.add_response(
        "get_latest_configuration", _configuration(_policy("first"), "t1"), {"ConfigurationToken": "t0"}
    )
    # AppConfig answers an empty configuration when nothing changed since the last poll
    stubber.add_response("get_latest_configuration", _configuration("", "t2"), {"ConfigurationToken": "t1"})
    stubber.add_response(
        "get_latest_configuration", _configuration('{"rules": 1}', "t3"), {"ConfigurationToken": "t2"}
    )
    metrics: list[str] = []
    with stubber:
        fetch = appconfig_fetch("app/prod/policy", client)
        source = PolicySource(fetch, _build, 1, describe="AppConfig", record_metric=metrics.append)
        assert _caches(source) == ["first"]
        time.sleep(1.1)
        assert _caches(source) == ["first"]
        time.sleep(1.1)
        assert _caches(source) == ["first"]
    assert metrics == ["PolicyRejected"]
    stubber.assert_no_pending_responses()


def test_settings_take_exactly_one_policy_source() -> None:
    base = {"SECRET_ID": "s"}
    assert VendorSettings.from_environ({**base, "VENDING_POLICY_PARAMETER": NAME}).policy_parameter == NAME
    appconfig = VendorSettings.from_environ({**base, "VENDING_POLICY_APPCONFIG": "a/e/p"})
    assert (appconfig.policy_appconfig, appconfig.policy_max_age_seconds) == ("a/e/p", 60)
    with pytest.raises(ConfigError, match="only one of"):
        VendorSettings.from_environ(
            {**base, "VENDING_POLICY": _policy("x"), "VENDING_POLICY_PARAMETER": NAME}
        )
    with pytest.raises(ConfigError, match="VENDING_POLICY is required"):
        VendorSettings.from_environ(base)
    with pytest.raises(ConfigError, match="VENDING_POLICY_APPCONFIG"):
        appconfig_fetch("just-a-name")


def test_a_forbidden_caller_stays_forbidden_whatever_the_store_says(ssm: Any) -> None:
    ssm.put_parameter(Name=NAME, Value=json.dumps({"rules": []}), Type="String")
    source = PolicySource(ssm_fetch(NAME, ssm), _build, 60, describe=NAME, record_metric=lambda _: None)
    with pytest.raises(ForbiddenError):
        source.grant(ALICE, None, None)


def _emf_counts(out: str, name: str) -> int:
    return sum(1 for line in out.splitlines() if line.startswith('{"_aws"') and f'"{name}":[1.0]' in line)


def test_a_rejected_policy_is_counted_once_in_its_own_metric_line(
    vendor_stack: VendorStack, ssm: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import vendor.app
    from local.api_gateway import LocalLambdaContext

    # GIVEN the deployed handler serving a good policy from SSM, its per-request metric lines built
    policy = {"rules": [{"allow": [{"cache": "tenant-{claims.tenant}", "role": "read_only"}]}]}
    ssm.put_parameter(Name=NAME, Value=json.dumps(policy), Type="String")
    env = vendor_stack.env(
        VENDING_POLICY="", VENDING_POLICY_PARAMETER=NAME, VENDING_POLICY_MAX_AGE_SECONDS="1"
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", vendor_stack.stack.secrets_manager_endpoint_url)
    vendor.app._application.cache_clear()

    def get() -> int:
        return int(vendor.app.handler(load_event("get-token-jwt.json"), LocalLambdaContext())["statusCode"])

    try:
        assert get() == 200
        capsys.readouterr()

        # WHEN a broken version is stored and the next request re-reads it
        ssm.put_parameter(Name=NAME, Value="{not json", Type="String", Overwrite=True)
        time.sleep(1.2)
        assert get() == 200  # the last good policy keeps serving
        first = capsys.readouterr().out
        assert get() == 200
        later = capsys.readouterr().out
    finally:
        vendor.app._application.cache_clear()

    # THEN PolicyRejected is printed at once (its alarm sees it) and never rides along in later
    # vend lines (which would keep the alarm firing, or hide it, whatever the policy does next)
    assert _emf_counts(first, "PolicyRejected") == 1, first
    assert _emf_counts(later, "PolicyRejected") == 0, later
    assert _emf_counts(later, "TokensVended") == 1, later


def test_a_policy_reloaded_during_a_memory_hit_is_logged_with_that_request_id(
    vendor_stack: VendorStack, ssm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside finding F3: a repeat answered from memory read the policy (which may reload and log)
    before the Logger had this invocation's keys, so "vending policy loaded" named the previous one."""
    import vendor.app
    from local.api_gateway import LocalLambdaContext

    policy = {"rules": [{"allow": [{"cache": "tenant-{claims.tenant}", "role": "read_only"}]}]}
    ssm.put_parameter(Name=NAME, Value=json.dumps(policy), Type="String")
    env = vendor_stack.env(
        VENDING_POLICY="", VENDING_POLICY_PARAMETER=NAME, VENDING_POLICY_MAX_AGE_SECONDS="1"
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", vendor_stack.stack.secrets_manager_endpoint_url)
    vendor.app._application.cache_clear()

    def get(request_id: str) -> int:
        context = LocalLambdaContext()
        context.aws_request_id = request_id
        return int(vendor.app.handler(load_event("get-token-jwt.json"), context)["statusCode"])

    seen: list[Any] = []

    class RequestIdAtEmit(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage() == "vending policy loaded":
                keys = vendor.app.logger.get_current_keys()
                seen.append(keys.get("function_request_id"))

    watcher = RequestIdAtEmit()
    logging.getLogger("vendor.policy_source").addHandler(watcher)
    try:
        assert get("first-request") == 200
        assert get("repeat-request") == 200  # from memory
        policy["rules"][0]["allow"].append({"cache": "public", "role": "read_only"})
        ssm.put_parameter(Name=NAME, Value=json.dumps(policy), Type="String", Overwrite=True)
        time.sleep(1.2)
        seen.clear()
        assert get("third-request") == 200
    finally:
        logging.getLogger("vendor.policy_source").removeHandler(watcher)
        vendor.app._application.cache_clear()
    assert seen == ["third-request"]
