"""The master key cache: one version check per interval, rotations followed, stale while error."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.server import ThreadedMotoServer

from shared.errors import SecretFormatError, SecretNotFoundError, SecretStoreError
from tests.shared.jwt_keys import v1_key
from vendor.master_key import MasterKeySource

SECRET = "momento/master"
NOW = 1_800_000_000.0
KEY_1 = v1_key(iat=int(NOW) - 100, exp=int(NOW) + 86_400, tag="one")
KEY_2 = v1_key(iat=int(NOW) - 50, exp=int(NOW) + 86_400, tag="two")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class CountingClient:
    """Counts Secrets Manager calls on a real (moto) client; it forwards everything."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[str] = []

    def describe_secret(self, **kwargs: Any) -> Any:
        self.calls.append("DescribeSecret")
        return self.client.describe_secret(**kwargs)

    def get_secret_value(self, **kwargs: Any) -> Any:
        self.calls.append("GetSecretValue")
        return self.client.get_secret_value(**kwargs)


def console_secret(key: str, valid_until: int | None = int(NOW) + 86_400) -> str:
    return json.dumps({"apiKey": key, "refreshToken": "refresh-1", "validUntil": valid_until})


@pytest.fixture
def sm() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name=SECRET, SecretString=console_secret(KEY_1))
        yield client


def test_first_get_loads_then_serves_from_memory_within_the_interval(sm: Any) -> None:
    clock, counting = Clock(), CountingClient(sm)
    source = MasterKeySource(counting, SECRET, 30, clock=clock)
    assert source.get().api_key == KEY_1
    clock.now += 29
    assert source.get().api_key == KEY_1
    assert counting.calls == ["GetSecretValue"]


def test_one_cheap_check_per_interval_when_nothing_changed(sm: Any) -> None:
    clock, counting = Clock(), CountingClient(sm)
    source = MasterKeySource(counting, SECRET, 30, clock=clock)
    source.get()
    clock.now += 30
    for _ in range(5):
        source.get()
    assert counting.calls == ["GetSecretValue", "DescribeSecret"]


def test_new_awscurrent_is_loaded_at_the_next_check(sm: Any) -> None:
    clock = Clock()
    source = MasterKeySource(sm, SECRET, 30, clock=clock)
    old_version = (source.get(), source.version_id)[1]
    sm.put_secret_value(SecretId=SECRET, SecretString=console_secret(KEY_2))
    assert source.get().api_key == KEY_1
    clock.now += 30
    assert source.get().api_key == KEY_2
    assert source.version_id != old_version


def test_force_refresh_reads_now(sm: Any) -> None:
    source = MasterKeySource(sm, SECRET, 30, clock=Clock())
    source.get()
    sm.put_secret_value(SecretId=SECRET, SecretString=console_secret(KEY_2))
    assert source.force_refresh().api_key == KEY_2


def test_missing_secret(sm: Any) -> None:
    with pytest.raises(SecretNotFoundError):
        MasterKeySource(sm, "nope", 30, clock=Clock()).get()


# --- stale while error: a real moto server that goes away ---------------------------------------


@pytest.fixture
def moto_server() -> Iterator[ThreadedMotoServer]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    yield server
    server.stop()


def server_client(server: ThreadedMotoServer) -> Any:
    host, port = server.get_host_and_port()
    config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=2)
    return boto3.client(
        "secretsmanager", endpoint_url=f"http://{host}:{port}", region_name="us-east-1", config=config
    )


def test_stale_while_error_then_expiry(moto_server: ThreadedMotoServer) -> None:
    client = server_client(moto_server)
    client.create_secret(Name=SECRET, SecretString=console_secret(KEY_1, valid_until=int(NOW) + 120))
    clock = Clock()
    source = MasterKeySource(client, SECRET, 30, clock=clock)
    assert source.get().api_key == KEY_1
    moto_server.stop()
    clock.now += 60
    assert source.get().api_key == KEY_1
    with pytest.raises(SecretStoreError):  # Momento refused the key: serving it again cannot work
        source.force_refresh()
    clock.now += 61  # past the key's validUntil: nothing valid left to serve
    with pytest.raises(SecretStoreError):
        source.get()


def test_unavailable_with_nothing_cached(moto_server: ThreadedMotoServer) -> None:
    client = server_client(moto_server)
    moto_server.stop()
    with pytest.raises(SecretStoreError):
        MasterKeySource(client, SECRET, 30, clock=Clock()).get()


def test_unreadable_new_version_keeps_the_cached_key(sm: Any) -> None:
    clock = Clock()
    source = MasterKeySource(sm, SECRET, 30, clock=clock)
    source.get()
    sm.put_secret_value(SecretId=SECRET, SecretString='{"not": "a key"}')
    clock.now += 30
    assert source.get().api_key == KEY_1
    with pytest.raises(SecretFormatError):
        source.force_refresh()


def test_unreadable_secret_with_nothing_cached_raises(sm: Any) -> None:
    sm.put_secret_value(SecretId=SECRET, SecretString='{"not": "a key"}')
    with pytest.raises(SecretFormatError):
        MasterKeySource(sm, SECRET, 30, clock=Clock()).get()


# --- a Secrets Manager that accepts connections and never answers ------------------------------


class Hanging:
    """A TCP server that accepts and reads but never answers; counts connections."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


class Gate:
    """Forwards to a real client, but DescribeSecret waits until released (a slow check)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.entered = threading.Event()
        self.release = threading.Event()

    def describe_secret(self, **kwargs: Any) -> Any:
        self.entered.set()
        self.release.wait(10)
        return self.client.describe_secret(**kwargs)


def test_requests_holding_a_valid_key_are_served_while_one_request_checks(sm: Any) -> None:
    clock, gate = Clock(), Gate(sm)
    source = MasterKeySource(sm, SECRET, 30, clock=clock, version_client=gate)
    source.get()
    clock.now += 31
    checker = threading.Thread(target=source.get)
    checker.start()
    assert gate.entered.wait(5)
    served = [source.get().api_key for _ in range(20)]  # would block on the key lock before
    assert served == [KEY_1] * 20
    assert checker.is_alive()
    gate.release.set()
    checker.join(5)


def test_version_check_against_a_hanging_server_is_one_bounded_attempt(sm: Any) -> None:
    from vendor.wiring import VERSION_CHECK_CONFIG

    hanging = Hanging()
    try:
        checker = boto3.client(
            "secretsmanager",
            endpoint_url=f"http://127.0.0.1:{hanging.port}",
            region_name="us-east-1",
            config=VERSION_CHECK_CONFIG,
        )
        clock = Clock()
        source = MasterKeySource(sm, SECRET, 30, clock=clock, version_client=checker)
        source.get()
        clock.now += 31
        assert source.get().api_key == KEY_1  # stale while error, after one attempt
        assert hanging.connections == 1
    finally:
        hanging.close()
