"""The version hint: a rotation noticed within seconds with one Secrets Manager read per rotation.

Secrets Manager is moto (in process); the hint is a dict here (the Momento-backed one is
covered end to end in tests/rotator/test_version_hint.py, with the rotator writing it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared.errors import MomentoAuthenticationError, MomentoUnavailableError
from shared.momento_types import MasterKey
from tests.vendor.test_master_key import KEY_1, KEY_2, SECRET, Clock, CountingClient, console_secret
from vendor.master_key import HINT_INTERVAL_SECONDS, HINT_SAFETY_POLL_SECONDS, MasterKeySource


class DictHint:
    """A `VersionHint` in memory; `fail` makes reads raise, `writes` records re-publications."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}
        self.reads = 0
        self.writes: list[str] = []
        self.fail: Exception | None = None

    def read(self, key: MasterKey, secret_arn: str) -> str | None:
        self.reads += 1
        if self.fail is not None:
            raise self.fail
        return self.items.get(secret_arn)

    def write(self, key: MasterKey, secret_arn: str, version_id: str) -> None:
        self.writes.append(version_id)
        self.items[secret_arn] = version_id


@pytest.fixture
def sm() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name=SECRET, SecretString=console_secret(KEY_1))
        yield client


def current(sm: Any) -> tuple[str, str]:
    described = sm.describe_secret(SecretId=SECRET)
    version = next(v for v, stages in described["VersionIdsToStages"].items() if "AWSCURRENT" in stages)
    return described["ARN"], version


def rotate(sm: Any, hint: DictHint | None = None) -> str:
    version: str = sm.put_secret_value(SecretId=SECRET, SecretString=console_secret(KEY_2))["VersionId"]
    if hint is not None:
        arn, _ = current(sm)
        hint.items[arn] = version
    return version


def test_rotation_is_noticed_from_the_hint_with_one_read_and_no_polling(sm: Any) -> None:
    clock, counting, hint = Clock(), CountingClient(sm), DictHint()
    arn, version = current(sm)
    hint.items[arn] = version
    source = MasterKeySource(counting, SECRET, 30, clock=clock, hint=hint)
    assert source.get().api_key == KEY_1
    for _ in range(100):  # 200 s: hint reads, no Secrets Manager call
        clock.now += HINT_INTERVAL_SECONDS
        assert source.get().api_key == KEY_1
    rotate(sm, hint)
    clock.now += HINT_INTERVAL_SECONDS
    assert source.get().api_key == KEY_2
    assert counting.calls == ["GetSecretValue", "GetSecretValue"]
    assert hint.reads == 101


def test_the_hint_slows_the_poll_but_does_not_stop_it(sm: Any) -> None:
    clock, counting, hint = Clock(), CountingClient(sm), DictHint()
    arn, version = current(sm)
    hint.items[arn] = version
    source = MasterKeySource(counting, SECRET, 30, clock=clock, hint=hint)
    source.get()
    steps = int(HINT_SAFETY_POLL_SECONDS / HINT_INTERVAL_SECONDS) + 1
    for _ in range(steps):
        clock.now += HINT_INTERVAL_SECONDS
        source.get()
    assert counting.calls == ["GetSecretValue", "DescribeSecret"]


def test_a_wrong_hint_costs_one_download_and_does_not_slow_the_poll(sm: Any) -> None:
    # Outside finding F5: a constant bogus hint slowed the DescribeSecret poll to 900 s.
    clock, counting, hint = Clock(), CountingClient(sm), DictHint()
    arn, _ = current(sm)
    hint.items[arn] = "0123456789abcdef-not-a-version-anyone-holds"
    source = MasterKeySource(counting, SECRET, 30, clock=clock, hint=hint)
    source.get()
    for _ in range(50):  # 100 s
        clock.now += HINT_INTERVAL_SECONDS
        assert source.get().api_key == KEY_1
    assert counting.calls == ["GetSecretValue", "GetSecretValue"] + ["DescribeSecret"] * 3


def test_a_hint_changing_constantly_costs_one_download_per_interval(sm: Any) -> None:
    # Outside finding F5: a new forged value every read was one GetSecretValue every 2 s.
    clock, counting, hint = Clock(), CountingClient(sm), DictHint()
    arn, _ = current(sm)
    source = MasterKeySource(counting, SECRET, 30, clock=clock, hint=hint)
    source.get()
    for i in range(60):  # 120 s
        hint.items[arn] = f"forged-version-{i:04d}-" + "x" * 20
        clock.now += HINT_INTERVAL_SECONDS
        assert source.get().api_key == KEY_1
    assert counting.calls.count("GetSecretValue") <= 1 + 120 // 30


@pytest.mark.parametrize("odd", ["", "x", "v" * 65, "caf\u00e9" * 10, "a b" * 12, "\x00" * 40])
def test_an_odd_hint_is_no_hint(sm: Any, odd: str) -> None:
    clock, counting, hint = Clock(), CountingClient(sm), DictHint()
    arn, _ = current(sm)
    hint.items[arn] = odd
    source = MasterKeySource(counting, SECRET, 30, clock=clock, hint=hint)
    source.get()
    for _ in range(20):
        clock.now += HINT_INTERVAL_SECONDS
        assert source.get().api_key == KEY_1
    assert counting.calls.count("GetSecretValue") == 1
    assert "DescribeSecret" in counting.calls


def test_no_hint_published_polls_and_republishes_what_it_confirmed(sm: Any) -> None:
    clock, counting, hint = Clock(), CountingClient(sm), DictHint()
    source = MasterKeySource(counting, SECRET, 30, clock=clock, hint=hint)
    source.get()
    clock.now += 31
    source.get()
    _, version = current(sm)
    assert counting.calls == ["GetSecretValue", "DescribeSecret"]
    assert hint.writes == [version]
    for _ in range(60):  # the re-published hint answers from now on: no more polls for a while
        clock.now += HINT_INTERVAL_SECONDS
        source.get()
    assert counting.calls == ["GetSecretValue", "DescribeSecret"]


def test_unreadable_hint_falls_back_to_the_configured_poll(sm: Any) -> None:
    clock, counting, hint = Clock(), CountingClient(sm), DictHint()
    hint.fail = MomentoUnavailableError("down")
    source = MasterKeySource(counting, SECRET, 30, clock=clock, hint=hint)
    source.get()
    rotate(sm)
    clock.now += 31
    assert source.get().api_key == KEY_2
    assert counting.calls == ["GetSecretValue", "DescribeSecret", "GetSecretValue"]


def test_key_refused_while_reading_the_hint_rereads_the_secret(sm: Any) -> None:
    clock, counting, hint = Clock(), CountingClient(sm), DictHint()
    source = MasterKeySource(counting, SECRET, 30, clock=clock, hint=hint)
    source.get()
    rotate(sm)
    hint.fail = MomentoAuthenticationError("the old key was revoked")
    clock.now += HINT_INTERVAL_SECONDS
    assert source.get().api_key == KEY_2
    assert counting.calls == ["GetSecretValue", "GetSecretValue"]


def test_a_key_refused_again_right_after_a_reload_is_no_download_every_read(sm: Any) -> None:
    clock, counting, hint = Clock(), CountingClient(sm), DictHint()
    source = MasterKeySource(counting, SECRET, 30, clock=clock, hint=hint)
    source.get()
    hint.fail = MomentoAuthenticationError("refused")
    for _ in range(10):  # 20 s of refusals: one re-read, then none until the interval passes
        clock.now += HINT_INTERVAL_SECONDS
        source.get()
    assert counting.calls == ["GetSecretValue", "GetSecretValue"]


def test_a_hinted_download_that_fails_is_retried_after_the_interval(sm: Any) -> None:
    clock, counting, hint = Clock(), CountingClient(sm), DictHint()
    arn, version = current(sm)
    hint.items[arn] = version
    source = MasterKeySource(counting, SECRET, 30, clock=clock, hint=hint)
    source.get()
    rotate(sm, hint)
    broken = {"on": True}
    real_get = counting.get_secret_value

    def flaky(**kwargs: Any) -> Any:
        if broken["on"]:
            counting.calls.append("GetSecretValue (failed)")
            from botocore.exceptions import EndpointConnectionError

            raise EndpointConnectionError(endpoint_url="https://secretsmanager")
        return real_get(**kwargs)

    counting.get_secret_value = flaky  # type: ignore[method-assign]
    clock.now += HINT_INTERVAL_SECONDS
    assert source.get().api_key == KEY_1  # stale while error
    for _ in range(5):  # within the interval: no new attempt
        clock.now += HINT_INTERVAL_SECONDS
        source.get()
    broken["on"] = False
    clock.now += 30
    assert source.get().api_key == KEY_2
    assert counting.calls == ["GetSecretValue", "GetSecretValue (failed)", "GetSecretValue"]
