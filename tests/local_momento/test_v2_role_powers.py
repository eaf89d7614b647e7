"""The v2 system roles as Momento's roles doc describes them (public-dev-docs
`docs/platform/authentication/roles-and-permissions.md`): only Owner is a super-user; Operator has
read/write auth and resource management; Viewer is read-only across account, auth and resource
management. Driven with the real Python SDK and the HTTP API."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import httpx
import pytest
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes as S
from momento.errors import MomentoErrorCode
from momento.responses import ListCaches
from momento.utilities import ExpiresIn
from momento_wire_types.generated import auth_pb2 as auth_pb
from momento_wire_types.generated import permissionmessages_pb2 as perm_pb

from local.momento.server import MomentoLocalServer
from local.momento.testing import Sdk, error_code

pytestmark = pytest.mark.integration

ALL_CACHES_READ_WRITE = perm_pb.Permissions(
    explicit=perm_pb.ExplicitPermissions(
        permissions=[
            perm_pb.PermissionsType(
                cache_permissions=perm_pb.PermissionsType.CachePermissions(
                    role=perm_pb.CacheReadWrite, all_caches=perm_pb.PermissionsType.All()
                )
            )
        ]
    )
)


@pytest.fixture
def api(momento_server: MomentoLocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=str(momento_server.api_keys_url), timeout=5) as client:
        yield client


def _list_caches(sdk: Sdk, key: str) -> list[str] | MomentoErrorCode | None:
    resp = sdk.cache(key).list_caches()
    if isinstance(resp, ListCaches.Success):
        return sorted(c.name for c in resp.caches)
    return error_code(resp)


def test_operator_is_not_a_super_user(sdk: Sdk, momento_server: MomentoLocalServer) -> None:
    momento_server.create_cache("c1")
    operator = momento_server.mint_v2_key(role_id="operator")
    # it mints no disposable tokens (documented only for "an API key with Super User scope"; guess)
    auth = sdk.auth(operator.api_key)
    minted = auth.generate_disposable_token(S.cache_read_write("c1"), ExpiresIn.minutes(1))
    assert error_code(minted) == MomentoErrorCode.PERMISSION_ERROR
    # ... and generates no v1 keys, not even data-only ones
    request = auth_pb._GenerateApiTokenRequest(
        auth_token=operator.api_key, permissions=ALL_CACHES_READ_WRITE, description="t"
    )
    request.never.SetInParent()
    with pytest.raises(grpc.RpcError) as err:
        sdk.auth_stub().GenerateApiToken(request, metadata=[("authorization", operator.api_key)], timeout=5)
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # the server's record agrees: not a super-user
    record = momento_server.credential(operator.api_key)
    assert record is not None
    assert not record.grants.super_user


def test_operator_manages_resources_and_uses_data(sdk: Sdk, momento_server: MomentoLocalServer) -> None:
    momento_server.create_cache("c1")
    operator = momento_server.mint_v2_key(role_id="operator")
    cache = sdk.cache(operator.api_key)
    # resource management read/write: create, list, delete caches
    assert error_code(cache.create_cache("made-by-operator")) is None
    assert _list_caches(sdk, operator.api_key) == ["c1", "made-by-operator"]
    assert error_code(cache.delete_cache("made-by-operator")) is None
    # data: read and write (the doc's Database rule, assumed for caches and topics)
    assert error_code(cache.set("c1", "k", "v")) is None
    assert error_code(cache.get("c1", "k")) is None
    assert error_code(sdk.topics(operator.api_key).publish("c1", "t", "m")) is None


def test_operator_manages_api_keys_but_not_owner_ones(
    api: httpx.Client, momento_server: MomentoLocalServer
) -> None:
    operator = momento_server.mint_v2_key(role_id="operator")
    headers = {"Authorization": operator.api_key}
    body = {"description": "successor", "expiry": "never"}
    # the rotator's v2 renewal: a successor with the caller's own role, then revoke the old key
    made = api.post("/api-keys", json={**body, "role_id": "operator"}, headers=headers)
    assert made.status_code == 200
    assert api.post("/api-keys", json={**body, "role_id": "owner"}, headers=headers).status_code == 403
    assert api.get("/api-keys", headers=headers).status_code == 200
    new_headers = {"Authorization": made.json()["api_key"]}
    assert api.delete(f"/api-keys/{operator.key_id}", headers=new_headers).json() == {}


def test_viewer_may_list_caches_but_change_nothing(sdk: Sdk, momento_server: MomentoLocalServer) -> None:
    momento_server.create_cache("c1")
    viewer = momento_server.mint_v2_key(role_id="viewer")
    assert _list_caches(sdk, viewer.api_key) == ["c1"]
    cache = sdk.cache(viewer.api_key)
    assert error_code(cache.create_cache("nope")) == MomentoErrorCode.PERMISSION_ERROR
    assert error_code(cache.delete_cache("c1")) == MomentoErrorCode.PERMISSION_ERROR
    assert _list_caches(sdk, viewer.api_key) == ["c1"]
