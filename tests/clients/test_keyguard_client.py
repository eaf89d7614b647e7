"""keyguard_client against the vendor behind a local HTTP front, tokens used with the real SDK."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from keyguard_client import TokenVendingClient, VendingClientError
from momento import CacheClient, Configurations
from momento.responses import CacheGet

from local.api_gateway import serve
from tests.shared.jwt_keys import make_jwt
from tests.vendor.conftest import Built, VendorStack

SUB = "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c"
ID_TOKEN = make_jwt({"sub": SUB, "cognito:groups": ["members"], "tenant": "acme"})

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def handler_of(built: Built) -> Any:
    return lambda event, context: built.app.resolve(event, context)


@pytest.fixture
def vendor_url(vendor_stack: VendorStack) -> Iterator[str]:
    with serve(handler_of(vendor_stack.build(TOKEN_REUSE_FRACTION="0"))) as base:
        yield f"{base}/token"


def test_token_works_with_the_sdk_through_the_credential_provider(
    vendor_url: str, vendor_stack: VendorStack
) -> None:
    client = TokenVendingClient(
        vendor_url,
        bearer_token=lambda: ID_TOKEN,
        permissions=[{"cache": "tenant-acme", "keyPrefix": f"user-{SUB}-", "role": "read_write"}],
        ttl_seconds=600,
        local_endpoint=vendor_stack.momento.address,
    )
    creds = client.credentials()
    # The vendor widens a request to the whole part of the allowance it belongs to (issue 13).
    assert {"cache": "tenant-acme", "keyPrefix": f"user-{SUB}-", "role": "read_write"} in creds.permissions
    assert creds.token_id == SUB
    with CacheClient.create(
        Configurations.Laptop.latest(), client.credential_provider(), timedelta(seconds=60)
    ) as cache:
        cache.set("tenant-acme", f"user-{SUB}-cart", "3 items")
        got = cache.get("tenant-acme", f"user-{SUB}-cart")
        assert isinstance(got, CacheGet.Hit)
        assert got.value_string == "3 items"
    assert client.fetches == 1


def test_default_scope_with_get_and_reuse_until_the_renewal_margin(vendor_url: str) -> None:
    clock = Clock(time.time())
    client = TokenVendingClient(vendor_url, bearer_token=ID_TOKEN, renew_margin_seconds=60, clock=clock)
    creds = client.credentials()
    clock.now = creds.expires_at - 61
    assert client.credentials() is creds
    clock.now = creds.expires_at - 59
    renewed = client.credentials()
    assert renewed.auth_token != creds.auth_token
    assert client.fetches == 2


def test_short_tokens_renew_half_way(vendor_url: str) -> None:
    clock = Clock(time.time())
    client = TokenVendingClient(
        vendor_url, bearer_token=ID_TOKEN, ttl_seconds=60, renew_margin_seconds=300, clock=clock
    )
    creds = client.credentials()
    assert creds.expires_at - creds.fetched_at <= 60
    clock.now = creds.fetched_at + (creds.expires_at - creds.fetched_at) / 2 - 1
    assert client.credentials() is creds


def test_vendor_errors_carry_status_code_and_retry_after(vendor_url: str, vendor_stack: VendorStack) -> None:
    forbidden = TokenVendingClient(
        vendor_url, bearer_token=ID_TOKEN, permissions=[{"cache": "tenant-globex", "role": "read_only"}]
    )
    with pytest.raises(VendingClientError) as caught:
        forbidden.credentials()
    assert (caught.value.status, caught.value.code) == (403, "forbidden")
    vendor_stack.momento.faults.set(unavailable=True)
    with pytest.raises(VendingClientError) as caught:
        TokenVendingClient(vendor_url, bearer_token=ID_TOKEN).credentials()
    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (
        503,
        "momento_unavailable",
        5.0,
    )


def test_missing_bearer_is_refused_by_the_gateway(vendor_url: str) -> None:
    with pytest.raises(VendingClientError) as caught:
        TokenVendingClient(vendor_url).credentials()
    assert caught.value.status == 401


def test_failed_renewal_keeps_a_still_valid_token(vendor_url: str, vendor_stack: VendorStack) -> None:
    clock = Clock(time.time())
    client = TokenVendingClient(vendor_url, bearer_token=ID_TOKEN, clock=clock)
    creds = client.credentials()
    vendor_stack.momento.faults.set(unavailable=True)
    clock.now = creds.expires_at - 10
    assert client.credentials() is creds
    clock.now = creds.expires_at
    with pytest.raises(VendingClientError):
        client.credentials()


def test_unreachable_vendor_is_status_zero() -> None:
    with pytest.raises(VendingClientError) as caught:
        TokenVendingClient("http://127.0.0.1:9/token", timeout_seconds=1).credentials()
    assert caught.value.status == 0


def test_reprs_never_show_the_token(vendor_url: str) -> None:
    client = TokenVendingClient(vendor_url, bearer_token=ID_TOKEN)
    creds = client.credentials()
    assert creds.auth_token not in repr(creds)
    assert creds.auth_token not in repr(client)
    assert ID_TOKEN not in repr(client)


def test_without_a_local_endpoint_the_provider_uses_the_tokens_own_endpoint(vendor_url: str) -> None:
    client = TokenVendingClient(vendor_url, bearer_token=ID_TOKEN)
    provider = client.credential_provider()
    assert provider.port == 443
    assert provider.cache_endpoint == f"cache.{client.credentials().endpoint}"
    assert provider.auth_token != client.credentials().auth_token  # the SDK unwraps the disposable token


def test_bad_arguments_are_refused_early() -> None:
    with pytest.raises(ValueError, match="http"):
        TokenVendingClient("file:///etc/passwd")
    with pytest.raises(ValueError, match="host:port"):
        TokenVendingClient("http://127.0.0.1:1/token", local_endpoint="nohost")


def test_the_example_app_sets_gets_publishes_and_is_denied(
    vendor_url: str, vendor_stack: VendorStack, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "clients" / "python" / "examples" / "cache_and_topic.py"
    spec = importlib.util.spec_from_file_location("cache_and_topic", path)
    assert spec is not None
    assert spec.loader is not None
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    lines = example.run(
        [
            "--url", vendor_url,
            "--bearer", ID_TOKEN,
            "--cache", "tenant-acme",
            "--key", f"user-{SUB}-cart",
            "--denied-key", "shared-notice",
            "--topic", f"orders-{SUB}",
            "--local-endpoint", vendor_stack.momento.address,
        ]
    )  # fmt: skip
    assert lines[1:] == [
        f"set tenant-acme/user-{SUB}-cart: ok",
        f"get tenant-acme/user-{SUB}-cart: ok -> 'hello from keyguard'",
        "set tenant-acme/shared-notice: refused (PERMISSION_ERROR)",
        f"publish tenant-acme/orders-{SUB}: ok",
    ]
    assert ID_TOKEN not in capsys.readouterr().out


class FakeVendor:
    """A scripted HTTP front: each request pops the next (status, headers, body); records requests."""

    def __init__(self, answers: list[tuple[int, dict[str, str], bytes]]) -> None:
        import http.server
        import threading

        self.answers = answers
        self.requests: list[dict[str, str]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append({k.lower(): v for k, v in self.headers.items()})
                status, headers, body = outer.answers.pop(0) if outer.answers else (500, {}, b"{}")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def token_answer(expires_at: int) -> tuple[int, dict[str, str], bytes]:
    import json

    return (
        200,
        {"Content-Type": "application/json"},
        json.dumps({"authToken": "t", "expiresAt": expires_at}).encode(),
    )


def test_redirects_are_refused_so_the_bearer_never_leaves_the_url() -> None:
    elsewhere = FakeVendor([token_answer(int(time.time()) + 600)])
    front = FakeVendor([(302, {"Location": elsewhere.url}, b"")])
    try:
        with pytest.raises(VendingClientError) as caught:
            TokenVendingClient(front.url, bearer_token=ID_TOKEN).credentials()
        assert (caught.value.status, caught.value.code) == (302, "redirect_refused")
        assert elsewhere.requests == []
    finally:
        front.close()
        elsewhere.close()


def test_failed_renewal_waits_for_retry_after_before_asking_again() -> None:
    # GIVEN a held token due for renewal and a vendor answering 429 with Retry-After: 30,
    # WHEN the app keeps calling credentials(), THEN the vendor is asked once per 30 s, not per call.
    now = time.time()
    throttled = (429, {"Retry-After": "30"}, b'{"error": "momento_limit_exceeded", "message": "later"}')
    fake = FakeVendor([token_answer(int(now) + 600), throttled, throttled, token_answer(int(now) + 1200)])
    clock = Clock(now)
    try:
        client = TokenVendingClient(fake.url, bearer_token=ID_TOKEN, renew_margin_seconds=120, clock=clock)
        held = client.credentials()
        clock.now = held.expires_at - 100
        for _ in range(5):
            assert client.credentials() is held
        assert len(fake.requests) == 2
        clock.now += 30
        assert client.credentials() is held
        assert len(fake.requests) == 3
        clock.now += 30
        assert client.credentials().expires_at == int(now) + 1200
        assert len(fake.requests) == 4
    finally:
        fake.close()


def test_failed_renewal_retries_without_retry_after_after_the_configured_pause() -> None:
    now = time.time()
    down: tuple[int, dict[str, str], bytes] = (
        503,
        {},
        b'{"error": "momento_unavailable", "message": "down"}',
    )
    fake = FakeVendor([token_answer(int(now) + 600), down, token_answer(int(now) + 1200)])
    clock = Clock(now)
    try:
        client = TokenVendingClient(
            fake.url, bearer_token=ID_TOKEN, renewal_retry_seconds=7, renew_margin_seconds=120, clock=clock
        )
        held = client.credentials()
        clock.now = held.expires_at - 100
        assert client.credentials() is held
        clock.now += 6
        assert client.credentials() is held
        assert len(fake.requests) == 2
        clock.now += 1
        assert client.credentials() is not held
    finally:
        fake.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://tvm.example.com/token",
        "http://10.0.0.5/token",
        "http://203.0.113.9:8080/token",
        "http://localhost.evil.example/token",
        "ftp://tvm.example.com/token",
        "https:///token",
        "tvm.example.com/token",
    ],
)
def test_plain_http_is_refused_except_loopback(url: str) -> None:
    from keyguard_client import TokenVendingClient

    with pytest.raises(ValueError, match="https"):
        TokenVendingClient(url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:3000/token", "http://localhost:3000/token", "http://[::1]:3000/token"]
)
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    from keyguard_client import TokenVendingClient

    assert repr(TokenVendingClient(url)) == f"TokenVendingClient(url={url!r})"
