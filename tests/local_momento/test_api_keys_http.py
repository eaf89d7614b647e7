"""The v2 API keys HTTP API, shaped as Momento's reference (public-dev-docs
`docs/platform/authentication/api-keys-http-api.md`): generate, list, revoke; a revoked key stops
working over gRPC at once."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import jwt
import pytest
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes as S
from momento.errors import MomentoErrorCode
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
    assert info["account_id"] == "default"
    assert set(body) == {"api_key", "key_info"}
    assert set(info) == {
        "key_id",
        "account_id",
        "description",
        "role_id",
        "expires_at_epoch_seconds",
        "issued_at_epoch_seconds",
    }

    # AND the list shows both keys, without plaintext
    listed = api.get("/api-keys", headers={"Authorization": v2_key.api_key}).json()
    assert set(listed) == {"key_info"}  # no next_token: nothing more
    assert {k["key_id"] for k in listed["key_info"]} == {v2_key.key_id, info["key_id"]}
    assert all("api_key" not in k for k in listed["key_info"])
    # AND the never-expiring key has no expiry field at all
    (mine,) = [k for k in listed["key_info"] if k["key_id"] == v2_key.key_id]
    assert "expires_at_epoch_seconds" not in mine

    # AND the new key works with the SDK (from_api_key_v2 + host/port override); an operator key
    # uses data and lists caches, it mints nothing (only Owner is a super-user)
    assert error_code(sdk.cache(new_key).set("c1", "k", "v")) is None
    assert error_code(sdk.cache(new_key).list_caches()) is None

    # WHEN it is revoked
    assert api.delete(f"/api-keys/{info['key_id']}", headers={"Authorization": v2_key.api_key}).json() == {}

    # THEN it is rejected over gRPC at once, and gone from the list; revoking again is 404
    assert error_code(sdk.cache(new_key).get("c1", "k")) == MomentoErrorCode.AUTHENTICATION_ERROR
    assert error_code(sdk.cache(new_key).list_caches()) == MomentoErrorCode.AUTHENTICATION_ERROR
    listed = api.get("/api-keys", headers={"Authorization": v2_key.api_key}).json()
    assert [k["key_id"] for k in listed["key_info"]] == [v2_key.key_id]
    assert (
        api.delete(f"/api-keys/{info['key_id']}", headers={"Authorization": v2_key.api_key}).status_code
        == 404
    )


def test_revoking_the_caller_itself(api: httpx.Client, v2_key: MintedV2Key) -> None:
    headers = {"Authorization": v2_key.api_key}
    resp = api.delete(f"/api-keys/{v2_key.key_id}", headers=headers)
    assert (resp.status_code, resp.json()) == (200, {})
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
        assert len(page["key_info"]) <= 2
        seen += [k["key_id"] for k in page["key_info"]]
        if "next_token" not in page:
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
    assert [k["key_id"] for k in listed["key_info"]] == [v2_key.key_id]
    minted = sdk.auth(new_key).generate_disposable_token(S.cache_read_write("c1"), ExpiresIn.minutes(1))
    assert error_code(minted) == MomentoErrorCode.AUTHENTICATION_ERROR


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"role_id": "no-such-role"}, 404, "NotFound"),
        ({"role_id": ""}, 400, "Bad Request"),
        ({"expiry": "tomorrow"}, 400, "Bad Request"),
        ({"expiry": 1}, 400, "Bad Request"),
        ({"expiry": True}, 400, "Bad Request"),
        ({"description": 5}, 400, "Bad Request"),
        ({"role_id": None}, 400, "Bad Request"),
    ],
)
def test_bad_requests(
    api: httpx.Client, v2_key: MintedV2Key, body: dict[str, object], status: int, code: str
) -> None:
    resp = create(api, v2_key.api_key, **body)
    assert resp.status_code == status
    assert set(resp.json()) == {"code", "message"}
    assert resp.json()["code"] == code


@pytest.mark.parametrize("missing", ["role_id", "description", "expiry"])
def test_every_field_is_required(
    api: httpx.Client, v2_key: MintedV2Key, momento_server: MomentoLocalServer, missing: str
) -> None:
    before = momento_server.state.credentials.count()
    payload = {"role_id": "operator", "description": "d", "expiry": "never"}
    del payload[missing]
    resp = api.post("/api-keys", json=payload, headers={"Authorization": v2_key.api_key})
    assert (resp.status_code, resp.json()["code"]) == (400, "Bad Request")
    assert missing in resp.json()["message"]
    assert momento_server.state.credentials.count() == before


def test_post_needs_a_json_content_type(api: httpx.Client, v2_key: MintedV2Key) -> None:
    body = b'{"role_id": "operator", "description": "d", "expiry": "never"}'
    resp = api.post("/api-keys", content=body, headers={"Authorization": v2_key.api_key})
    assert resp.status_code == 400


@pytest.mark.parametrize("limit", ["0", "101", "-1", "x", "1.5", "", "+5"])
def test_list_limit_is_1_to_100(api: httpx.Client, v2_key: MintedV2Key, limit: str) -> None:
    resp = api.get("/api-keys", params={"limit": limit}, headers={"Authorization": v2_key.api_key})
    assert (resp.status_code, resp.json()["code"]) == (400, "Bad Request")
    for ok in ("1", "100"):
        good = api.get("/api-keys", params={"limit": ok}, headers={"Authorization": v2_key.api_key})
        assert good.status_code == 200


def test_auth_errors(api: httpx.Client, momento_server: MomentoLocalServer, master: MintedV1Key) -> None:
    viewer = momento_server.mint_v2_key(role_id="viewer")
    data_only = momento_server.mint_master_key(super_user=False)
    assert create(api, "").status_code == 401
    assert create(api, "garbage").json() == {"code": "Unauthorized", "message": "Invalid signature"}
    for key in (viewer.api_key, data_only.api_key):
        resp = create(api, key)
        assert resp.status_code == 403
        assert resp.json()["code"] == "PermissionDenied"
        resp = api.delete(f"/api-keys/{viewer.key_id}", headers={"Authorization": key})
        assert resp.status_code == 403
    # a v1 super-user key may manage v2 keys (a guess; see README)
    assert create(api, master.api_key).status_code == 200
    assert api.get("/nope").status_code == 404
    other = momento_server.mint_v2_key(account="other")
    resp = api.delete(f"/api-keys/{viewer.key_id}", headers={"Authorization": other.api_key})
    assert (resp.status_code, resp.json()["code"]) == (404, "NotFound")


def test_role_powers(api: httpx.Client, momento_server: MomentoLocalServer) -> None:
    # Momento's roles-and-permissions.md: Operator reads and writes auth management (manages keys),
    # Viewer is read-only there (lists keys, cannot create or revoke).
    operator = momento_server.mint_v2_key(role_id="operator")
    viewer = momento_server.mint_v2_key(role_id="viewer")
    made = create(api, operator.api_key, role_id="viewer")
    assert made.status_code == 200
    assert create(api, operator.api_key, role_id="operator").status_code == 200
    # no escalation: an operator key cannot make an owner key (guess; see README)
    assert create(api, operator.api_key, role_id="owner").status_code == 403
    listed = api.get("/api-keys", headers={"Authorization": viewer.api_key})
    assert listed.status_code == 200
    key_id = made.json()["key_info"]["key_id"]
    assert api.delete(f"/api-keys/{key_id}", headers={"Authorization": viewer.api_key}).status_code == 403
    assert api.delete(f"/api-keys/{key_id}", headers={"Authorization": operator.api_key}).json() == {}


def test_v2_roles_on_the_data_plane(sdk: Sdk, momento_server: MomentoLocalServer) -> None:
    momento_server.create_cache("c1")
    viewer = momento_server.mint_v2_key(role_id="viewer")
    cache = sdk.cache(viewer.api_key)
    assert error_code(cache.get("c1", "k")) is None
    assert error_code(cache.set("c1", "k", "v")) == MomentoErrorCode.PERMISSION_ERROR
    minted = sdk.auth(viewer.api_key).generate_disposable_token(S.cache_read_only("c1"), ExpiresIn.minutes(1))
    assert error_code(minted) == MomentoErrorCode.PERMISSION_ERROR


def test_revoking_while_paging_skips_no_key(
    api: httpx.Client, v2_key: MintedV2Key, momento_server: MomentoLocalServer
) -> None:
    # GIVEN six keys (the caller's and five more), listed two per page
    momento_server.set_quota(None)
    made = [create(api, v2_key.api_key, description=f"k{i}").json()["key_info"]["key_id"] for i in range(5)]
    headers = {"Authorization": v2_key.api_key}
    seen: list[str] = []
    params: dict[str, str] = {"limit": "2"}
    while True:
        page = api.get("/api-keys", params=params, headers=headers).json()
        ids = [k["key_id"] for k in page["key_info"]]
        seen += ids
        # WHEN the client revokes every listed key it created before asking for the next page
        for key_id in ids:
            if key_id in made:
                assert api.delete(f"/api-keys/{key_id}", headers=headers).status_code == 200
        if "next_token" not in page:
            break
        # the token is opaque: not a number a client could compute
        assert not page["next_token"].isdigit()
        params["next_token"] = page["next_token"]
    # THEN every key was listed exactly once (an offset would have skipped keys)
    assert sorted(seen) == sorted([v2_key.key_id, *made])


@pytest.mark.parametrize("token", ["2", "not-a-token", "YWZ0ZXI6eDp5"])
def test_a_next_token_we_did_not_issue_is_400(api: httpx.Client, v2_key: MintedV2Key, token: str) -> None:
    resp = api.get("/api-keys", params={"next_token": token}, headers={"Authorization": v2_key.api_key})
    assert resp.status_code == 400
    assert resp.json()["code"] == "Bad Request"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/api-keys", "GET, POST"),
        ("PATCH", "/api-keys", "GET, POST"),
        ("DELETE", "/api-keys", "GET, POST"),
        ("GET", "/api-keys/some-id", "DELETE"),
        ("PUT", "/api-keys/some-id", "DELETE"),
        ("BREW", "/api-keys", None),
    ],
)
def test_unsupported_methods_answer_json(
    api: httpx.Client, v2_key: MintedV2Key, method: str, path: str, allow: str | None
) -> None:
    # The reference: "All errors share a common JSON body" {code, message}.
    resp = api.request(method, path, headers={"Authorization": v2_key.api_key})
    assert resp.status_code == 405
    assert resp.headers["content-type"] == "application/json"
    body = resp.json()
    assert body["code"] == "MethodNotAllowed"
    assert body["message"]
    assert resp.headers.get("allow") == allow
    if method == "BREW":  # http.server closes after its own errors: the answer must say so
        assert resp.headers.get("connection") == "close"
    # nothing changed: the caller's key still lists
    assert api.get("/api-keys", headers={"Authorization": v2_key.api_key}).status_code == 200
