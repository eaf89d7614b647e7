"""The auth quota (5/s per account by default) and runtime fault injection."""

from __future__ import annotations

import time

import httpx
import pytest
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes as S
from momento.errors import MomentoErrorCode
from momento.responses import GenerateDisposableToken
from momento.utilities import ExpiresIn

from local.momento.server import MintedV1Key, MintedV2Key, MomentoLocalServer
from local.momento.testing import Sdk, error_code

pytestmark = pytest.mark.integration


def _mint(sdk: Sdk, key: str) -> object:
    return sdk.auth(key).generate_disposable_token(S.cache_read_only("c1"), ExpiresIn.minutes(1))


def test_quota_is_five_per_second_per_account(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer
) -> None:
    # GIVEN a stopped clock, a key of the same account and one of another account
    momento_server.clock.freeze()
    same_account = momento_server.mint_master_key()
    other_account = momento_server.mint_master_key(account="other")

    # WHEN six tokens are minted within the same second by two keys of one account
    results = [_mint(sdk, key) for key in [master.api_key] * 3 + [same_account.api_key] * 3]

    # THEN five succeed and the sixth is LIMIT_EXCEEDED_ERROR
    assert [isinstance(r, GenerateDisposableToken.Success) for r in results] == [True] * 5 + [False]
    assert error_code(results[5]) == MomentoErrorCode.LIMIT_EXCEEDED_ERROR
    # AND another account is not affected
    assert isinstance(_mint(sdk, other_account.api_key), GenerateDisposableToken.Success)
    # AND a second later the account may mint again
    momento_server.clock.advance(1)
    assert isinstance(_mint(sdk, master.api_key), GenerateDisposableToken.Success)


def test_quota_applies_to_the_api_keys_api(v2_key: MintedV2Key, momento_server: MomentoLocalServer) -> None:
    momento_server.clock.freeze()
    momento_server.set_quota(2)
    url = f"{momento_server.api_keys_url}/api-keys"
    headers = {"Authorization": v2_key.api_key}
    body = {"role_id": "viewer", "description": "d", "expiry": "never"}
    codes = [httpx.post(url, json=body, headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert httpx.get(url, headers=headers).status_code == 200  # listing is not a key operation


def test_quota_can_be_switched_off(sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer) -> None:
    momento_server.clock.freeze()
    momento_server.set_quota(None)
    assert all(isinstance(_mint(sdk, master.api_key), GenerateDisposableToken.Success) for _ in range(20))


def test_unavailable(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer, v2_key: MintedV2Key
) -> None:
    token = sdk.mint(master.api_key, S.cache_read_write("c1")).auth_token
    momento_server.faults.set(unavailable=True)

    assert error_code(_mint(sdk, master.api_key)) == MomentoErrorCode.SERVER_UNAVAILABLE
    assert error_code(sdk.cache(token).get("c1", "k")) == MomentoErrorCode.SERVER_UNAVAILABLE
    resp = httpx.get(f"{momento_server.api_keys_url}/api-keys", headers={"Authorization": v2_key.api_key})
    assert resp.status_code == 503
    assert resp.json()["code"] == "ServiceUnavailable"

    momento_server.faults.clear()
    assert error_code(sdk.cache(token).get("c1", "k")) is None


def test_faults_limited_to_some_methods(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer
) -> None:
    token = sdk.mint(master.api_key, S.cache_read_write("c1")).auth_token
    momento_server.faults.set(unavailable=True, only=["GenerateDisposableToken"])
    assert error_code(_mint(sdk, master.api_key)) == MomentoErrorCode.SERVER_UNAVAILABLE
    assert error_code(sdk.cache(token).set("c1", "k", "v")) is None


def test_added_latency(sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer) -> None:
    auth = sdk.auth(master.api_key)
    momento_server.faults.set(latency_seconds=0.3)
    started = time.monotonic()
    assert isinstance(
        auth.generate_disposable_token(S.cache_read_only("c1"), ExpiresIn.minutes(1)),
        GenerateDisposableToken.Success,
    )
    assert time.monotonic() - started >= 0.3


def test_error_rate(sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer) -> None:
    momento_server.set_quota(None)
    cache = sdk.cache(master.api_key)
    momento_server.faults.set(error_rate=1.0)
    assert error_code(cache.set("c1", "k", "v")) == MomentoErrorCode.SERVER_UNAVAILABLE
    momento_server.faults.set(error_rate=0.5)
    codes = {error_code(_mint(sdk, master.api_key)) for _ in range(40)}
    assert codes == {None, MomentoErrorCode.SERVER_UNAVAILABLE}
    momento_server.faults.set(error_rate=0.0)
    assert error_code(cache.set("c1", "k", "v")) is None
