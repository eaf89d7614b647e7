"""The v2 API keys HTTP API: generate, list, revoke; a revoked key stops working over gRPC at once."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import jwt
import pytest
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes as S
from momento.errors import MomentoErrorCode
from momento.responses import GenerateDisposableToken
from momento.utilities import ExpiresIn

from local.momento.server import MintedV1Key, MintedV2Key, MomentoLocalServer
from local.momento.testing import Sdk, error_code

pytestmark = pytest.mark.integration


@pytest.fixture
def api(momento_server: MomentoLocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=str(momento_server.api_keys_url), timeout=5) as client:
        yield client


def create(api: httpx.Client, caller: str, **body: object) -> httpx.Response:
    payload = {"role_id": "operator", "description": "rotated", "expiry": "never", **body}
    return api.post("/api-keys", json=payload, headers={"Authorization": caller})


def test_generate_list_revoke(
    api: httpx.Client, v2_key: MintedV2Key, sdk: Sdk, momento_server: MomentoLocalServer
) -> None:
    momento_server.create_cache("c1")
    # WHEN an owner key generates a new operator key that expires in a day
    expires = int(momento_server.clock.now()) + 86400
    resp = create(api, v2_key.api_key, expiry=expires)

    # THEN the response carries the plaintext key and its info; the key is a v2 (`t` = `g`) JWT
    assert resp.status_code == 200
    body = resp.json()
    new_key, info = body["api_key"], body["key_info"]
    assert jwt.decode(new_key, options={"verify_signature": False})["t"] == "g"
    assert info["role_id"] == "operator"
    assert info["description"] == "rotated"
    assert info["expires_at_epoch_seconds"] == expires
    assert body["endpoint"] == "momento.local"

    # AND the list shows both keys, without plaintext
    listed = api.get("/api-keys", headers={"Authorization": v2_key.api_key}).json()
    assert {k["key_id"] for k in listed["api_keys"]} == {v2_key.key_id, info["key_id"]}
    assert "api_key" not in listed["api_keys"][0]

    # AND the new key works with the SDK (from_api_key_v2 + host/port override)
    assert isinstance(sdk.mint(new_key, S.cache_read_write("c1")), GenerateDisposableToken.Success)
    assert error_code(sdk.cache(new_key).set("c1", "k", "v")) is None

    # WHEN it is revoked
    assert (
        api.delete(f"/api-keys/{info['key_id']}", headers={"Authorization": v2_key.api_key}).status_code
        == 204
    )

    # THEN it is rejected over gRPC at once, and gone from the list; revoking again is 404
    minted = sdk.auth(new_key).generate_disposable_token(S.cache_read_write("c1"), ExpiresIn.minutes(1))
    assert error_code(minted) == MomentoErrorCode.AUTHENTICATION_ERROR
    assert error_code(sdk.cache(new_key).get("c1", "k")) == MomentoErrorCode.AUTHENTICATION_ERROR
    listed = api.get("/api-keys", headers={"Authorization": v2_key.api_key}).json()
    assert [k["key_id"] for k in listed["api_keys"]] == [v2_key.key_id]
    assert (
        api.delete(f"/api-keys/{info['key_id']}", headers={"Authorization": v2_key.api_key}).status_code
        == 404
    )


def test_revoking_the_caller_itself(api: httpx.Client, v2_key: MintedV2Key) -> None:
    headers = {"Authorization": v2_key.api_key}
    assert api.delete(f"/api-keys/{v2_key.key_id}", headers=headers).status_code == 204
    assert api.get("/api-keys", headers=headers).status_code == 401


def test_paging(api: httpx.Client, v2_key: MintedV2Key, momento_server: MomentoLocalServer) -> None:
    momento_server.set_quota(None)
    for i in range(4):
        assert create(api, v2_key.api_key, description=f"k{i}").status_code == 200
    headers = {"Authorization": f"Bearer {v2_key.api_key}"}
    seen: list[str] = []
    params: dict[str, str] = {"limit": "2"}
    while True:
        page = api.get("/api-keys", params=params, headers=headers).json()
        assert len(page["api_keys"]) <= 2
        seen += [k["key_id"] for k in page["api_keys"]]
        if not page["next_token"]:
            break
        params["next_token"] = page["next_token"]
    assert len(seen) == len(set(seen)) == 5


def test_expired_keys_are_not_listed_and_do_not_work(
    api: httpx.Client, v2_key: MintedV2Key, sdk: Sdk, momento_server: MomentoLocalServer
) -> None:
    expires = int(momento_server.clock.now()) + 60
    new_key = create(api, v2_key.api_key, expiry=expires).json()["api_key"]
    momento_server.clock.advance(61)
    listed = api.get("/api-keys", headers={"Authorization": v2_key.api_key}).json()
    assert [k["key_id"] for k in listed["api_keys"]] == [v2_key.key_id]
    minted = sdk.auth(new_key).generate_disposable_token(S.cache_read_write("c1"), ExpiresIn.minutes(1))
    assert error_code(minted) == MomentoErrorCode.AUTHENTICATION_ERROR


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"role_id": "no-such-role"}, 400),
        ({"expiry": "tomorrow"}, 400),
        ({"expiry": 1}, 400),
        ({"description": 5}, 400),
    ],
)
def test_bad_requests(api: httpx.Client, v2_key: MintedV2Key, body: dict[str, object], status: int) -> None:
    resp = create(api, v2_key.api_key, **body)
    assert resp.status_code == status
    assert set(resp.json()) == {"code", "message"}
    assert resp.json()["code"] == "invalid_argument"


def test_auth_errors(api: httpx.Client, momento_server: MomentoLocalServer, master: MintedV1Key) -> None:
    viewer = momento_server.mint_v2_key(role_id="viewer")
    operator = momento_server.mint_v2_key(role_id="operator")
    data_only = momento_server.mint_master_key(super_user=False)
    assert create(api, "").status_code == 401
    assert create(api, "garbage").json() == {"code": "unauthenticated", "message": "Invalid signature"}
    for key in (viewer.api_key, operator.api_key, data_only.api_key):
        resp = create(api, key)
        assert resp.status_code == 403
        assert resp.json()["code"] == "permission_denied"
    # a v1 super-user key may manage v2 keys (a guess; see README)
    assert create(api, master.api_key).status_code == 200
    assert api.get("/nope").status_code == 404
    other = momento_server.mint_v2_key(account="other")
    assert (
        api.delete(f"/api-keys/{viewer.key_id}", headers={"Authorization": other.api_key}).status_code == 404
    )


def test_v2_roles_on_the_data_plane(sdk: Sdk, momento_server: MomentoLocalServer) -> None:
    momento_server.create_cache("c1")
    viewer = momento_server.mint_v2_key(role_id="viewer")
    cache = sdk.cache(viewer.api_key)
    assert error_code(cache.get("c1", "k")) is None
    assert error_code(cache.set("c1", "k", "v")) == MomentoErrorCode.PERMISSION_ERROR
    minted = sdk.auth(viewer.api_key).generate_disposable_token(S.cache_read_only("c1"), ExpiresIn.minutes(1))
    assert error_code(minted) == MomentoErrorCode.PERMISSION_ERROR
