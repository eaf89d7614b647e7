"""GenerateDisposableToken through the real SDK AuthClient: response, expiry, caps, who may mint."""

from __future__ import annotations

import base64
import json

import pytest
from momento.auth.access_control.disposable_token_scope import DisposableTokenProps, DisposableTokenScope
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes as S
from momento.auth.access_control.permission_scope import (
    CachePermission,
    CacheRole,
    CacheSelector,
    Permissions,
)
from momento.errors import MomentoErrorCode
from momento.responses import CacheGet, GenerateDisposableToken
from momento.utilities import ExpiresIn

from local.momento.server import MintedV1Key, MomentoLocalServer
from local.momento.testing import Sdk, error_code

pytestmark = pytest.mark.integration


def test_success_carries_endpoint_expiry_and_a_usable_token(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer
) -> None:
    # GIVEN a frozen clock
    now = int(momento_server.clock.now())
    momento_server.clock.freeze(now)

    # WHEN a token is minted for 10 minutes with a token id
    resp = sdk.mint(master.api_key, S.cache_read_write("c1"), seconds=600, token_id="user-42")

    # THEN the SDK sees the logical endpoint and the expiry, and the token is base64 JSON of both
    assert resp.endpoint == "momento.local"
    assert resp.expires_at.epoch() == now + 600
    wrapped = json.loads(base64.b64decode(resp.auth_token))
    assert wrapped["endpoint"] == "momento.local"
    # AND the server recorded the token id and who minted it
    record = momento_server.credential(resp.auth_token)
    assert record is not None
    assert record.token_id == "user-42"
    assert record.parent == master.key_id
    # AND the token works on the data plane
    cache = sdk.cache(resp.auth_token)
    assert error_code(cache.set("c1", "k", "v")) is None
    got = cache.get("c1", "k")
    assert isinstance(got, CacheGet.Hit)
    assert got.value_string == "v"


def test_token_expires_on_the_server_clock(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer
) -> None:
    token = sdk.mint(master.api_key, S.cache_read_write("c1"), seconds=60).auth_token
    cache = sdk.cache(token)
    assert error_code(cache.set("c1", "k", "v")) is None

    momento_server.clock.advance(61)

    assert error_code(cache.get("c1", "k")) == MomentoErrorCode.AUTHENTICATION_ERROR


def test_lifetime_is_capped_at_25_hours_by_default(sdk: Sdk, master: MintedV1Key) -> None:
    # Momento's auth limits: "Time to live (TTL), token: 25 hours" (docs/platform/limits/auth.mdx).
    auth = sdk.auth(master.api_key)
    longest = auth.generate_disposable_token(S.cache_read_write("c1"), ExpiresIn.seconds(25 * 3600))
    assert isinstance(longest, GenerateDisposableToken.Success)
    too_long = auth.generate_disposable_token(S.cache_read_write("c1"), ExpiresIn.seconds(25 * 3600 + 1))
    assert error_code(too_long) == MomentoErrorCode.INVALID_ARGUMENT_ERROR


def test_lifetime_cap_is_configurable() -> None:
    with MomentoLocalServer(max_token_seconds=3600) as server:
        key = server.mint_master_key()
        sdk = Sdk(server)
        try:
            auth = sdk.auth(key.api_key)
            ok = auth.generate_disposable_token(S.cache_read_write("c1"), ExpiresIn.hours(1))
            assert isinstance(ok, GenerateDisposableToken.Success)
            refused = auth.generate_disposable_token(S.cache_read_write("c1"), ExpiresIn.seconds(3601))
            assert error_code(refused) == MomentoErrorCode.INVALID_ARGUMENT_ERROR
        finally:
            sdk.close()


def test_token_id_longer_than_64_characters_is_invalid_argument(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer
) -> None:
    # The Python SDK (1.29.1) sends any token id; the JS SDK refuses > 64 characters before the RPC.
    auth = sdk.auth(master.api_key)
    props = DisposableTokenProps
    ok = auth.generate_disposable_token(S.cache_read_write("c1"), ExpiresIn.minutes(1), props("t" * 64))
    assert isinstance(ok, GenerateDisposableToken.Success)
    before = momento_server.state.credentials.count()
    refused = auth.generate_disposable_token(S.cache_read_write("c1"), ExpiresIn.minutes(1), props("t" * 65))
    assert error_code(refused) == MomentoErrorCode.INVALID_ARGUMENT_ERROR
    # characters count as the JS SDK counts them (UTF-16 units): 32 emoji fit, 33 do not
    emoji = "\N{GRINNING FACE}"
    fits = auth.generate_disposable_token(S.cache_read_write("c1"), ExpiresIn.minutes(1), props(emoji * 32))
    assert isinstance(fits, GenerateDisposableToken.Success)
    too_long = auth.generate_disposable_token(
        S.cache_read_write("c1"), ExpiresIn.minutes(1), props(emoji * 33)
    )
    assert error_code(too_long) == MomentoErrorCode.INVALID_ARGUMENT_ERROR
    assert momento_server.state.credentials.count() == before + 1


def test_at_most_twenty_permissions(sdk: Sdk, master: MintedV1Key) -> None:
    def scope(n: int) -> DisposableTokenScope:
        return DisposableTokenScope(
            Permissions([CachePermission(CacheSelector(f"c{i}"), CacheRole.READ_ONLY) for i in range(n)])
        )

    auth = sdk.auth(master.api_key)
    assert isinstance(
        auth.generate_disposable_token(scope(20), ExpiresIn.minutes(1)), GenerateDisposableToken.Success
    )
    resp = auth.generate_disposable_token(scope(21), ExpiresIn.minutes(1))
    assert error_code(resp) == MomentoErrorCode.INVALID_ARGUMENT_ERROR


def test_only_super_user_keys_mint(sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer) -> None:
    # GIVEN a data-only v1 key and a disposable token
    data_key = momento_server.mint_master_key(super_user=False)
    token = sdk.mint(master.api_key, S.cache_read_write("c1")).auth_token

    # THEN neither may mint tokens, while the data-only key still reads and writes data
    for key in (data_key.api_key, token):
        resp = sdk.auth(key).generate_disposable_token(S.cache_read_only("c1"), ExpiresIn.minutes(1))
        assert error_code(resp) == MomentoErrorCode.PERMISSION_ERROR
    assert error_code(sdk.cache(data_key.api_key).set("c1", "k", "v")) is None


def test_unknown_or_expired_keys_cannot_mint(sdk: Sdk, momento_server: MomentoLocalServer) -> None:
    short = momento_server.mint_master_key(valid_for_seconds=10)
    stranger = MomentoLocalServer().mint_master_key()  # signed by another server

    momento_server.clock.advance(11)

    for key in (short.api_key, stranger.api_key):
        resp = sdk.auth(key).generate_disposable_token(S.cache_read_only("c1"), ExpiresIn.minutes(1))
        assert error_code(resp) == MomentoErrorCode.AUTHENTICATION_ERROR


def test_unknown_cache_is_not_found(sdk: Sdk, master: MintedV1Key) -> None:
    token = sdk.mint(master.api_key, S.cache_read_write("nope")).auth_token
    assert error_code(sdk.cache(token).get("nope", "k")) == MomentoErrorCode.NOT_FOUND_ERROR
    assert error_code(sdk.topics(token).publish("nope", "t", "m")) == MomentoErrorCode.PERMISSION_ERROR
    everything = sdk.mint(master.api_key, S.topic_publish_subscribe("nope", "t")).auth_token
    assert error_code(sdk.topics(everything).publish("nope", "t", "m")) == MomentoErrorCode.NOT_FOUND_ERROR


def test_item_ttl_follows_the_server_clock(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer
) -> None:
    from datetime import timedelta

    cache = sdk.cache(master.api_key)
    assert error_code(cache.set("c1", "k", "v", ttl=timedelta(seconds=30))) is None
    assert isinstance(cache.get("c1", "k"), CacheGet.Hit)
    momento_server.clock.advance(31)
    assert isinstance(cache.get("c1", "k"), CacheGet.Miss)
