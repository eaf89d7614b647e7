"""v1 keys over the wire `auth.Auth` stub: GenerateApiToken, RefreshApiToken chains, spent refresh tokens."""

from __future__ import annotations

import grpc
import jwt
import pytest
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes as S
from momento.errors import MomentoErrorCode
from momento.utilities import ExpiresIn
from momento_wire_types.generated import auth_pb2 as auth_pb
from momento_wire_types.generated import permissionmessages_pb2 as perm_pb

from local.momento.server import MintedV1Key, MomentoLocalServer
from local.momento.testing import Sdk, error_code

pytestmark = pytest.mark.integration


def refresh(sdk: Sdk, api_key: str, refresh_token: str) -> auth_pb._RefreshApiTokenResponse:
    resp: auth_pb._RefreshApiTokenResponse = sdk.auth_stub().RefreshApiToken(
        auth_pb._RefreshApiTokenRequest(api_key=api_key, refresh_token=refresh_token),
        metadata=[("authorization", api_key)],
        timeout=5,
    )
    return resp


def test_console_key_has_the_sdk_claims(master: MintedV1Key) -> None:
    claims = jwt.decode(master.api_key, options={"verify_signature": False})
    assert claims["c"] == "cache.momento.local"
    assert claims["cp"] == "control.momento.local"
    assert claims["exp"] == master.valid_until
    assert claims["jti"] == master.key_id
    assert set(master.console_json()) == {"apiKey", "refreshToken", "validUntil"}


def test_a_chain_of_refreshes(sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer) -> None:
    momento_server.clock.freeze()
    lifetime = master.valid_until - int(momento_server.clock.now())  # type: ignore[operator]
    key, token = master.api_key, master.refresh_token
    seen = {key}
    for step in range(3):
        # WHEN the key is refreshed a day later
        momento_server.clock.advance(86400)
        resp = refresh(sdk, key, token)

        # THEN a new key with a new single-use refresh token and the same lifetime comes back
        assert resp.api_key not in seen, step
        assert resp.refresh_token != token
        assert resp.endpoint == "momento.local"
        assert resp.valid_until == int(momento_server.clock.now()) + lifetime
        # AND the new key can mint tokens
        sdk.mint(resp.api_key, S.cache_read_write("c1"))
        seen.add(resp.api_key)
        key, token = resp.api_key, resp.refresh_token
    # AND earlier keys keep working until they expire
    sdk.mint(master.api_key, S.cache_read_write("c1"))


def test_a_spent_refresh_token_is_rejected(sdk: Sdk, master: MintedV1Key) -> None:
    first = refresh(sdk, master.api_key, master.refresh_token)
    assert first.api_key

    with pytest.raises(grpc.RpcError) as err:
        refresh(sdk, master.api_key, master.refresh_token)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_refresh_token_belongs_to_its_key(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer
) -> None:
    other = momento_server.mint_master_key()
    with pytest.raises(grpc.RpcError) as err:
        refresh(sdk, other.api_key, master.refresh_token)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # the failed attempt did not spend it
    assert refresh(sdk, master.api_key, master.refresh_token).api_key


def test_an_expired_key_cannot_be_refreshed(sdk: Sdk, momento_server: MomentoLocalServer) -> None:
    key = momento_server.mint_master_key(valid_for_seconds=60)
    momento_server.clock.advance(60)
    with pytest.raises(grpc.RpcError) as err:
        refresh(sdk, key.api_key, key.refresh_token)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def _generate(
    sdk: Sdk, caller: str, permissions: perm_pb.Permissions, valid_for: int | None
) -> auth_pb._GenerateApiTokenResponse:
    request = auth_pb._GenerateApiTokenRequest(auth_token=caller, permissions=permissions, description="test")
    if valid_for is None:
        request.never.SetInParent()
    else:
        request.expires.valid_for_seconds = valid_for
    resp: auth_pb._GenerateApiTokenResponse = sdk.auth_stub().GenerateApiToken(
        request, metadata=[("authorization", caller)], timeout=5
    )
    return resp


SUPER = perm_pb.Permissions(super_user=perm_pb.SuperUser)
ALL_DATA = perm_pb.Permissions(
    explicit=perm_pb.ExplicitPermissions(
        permissions=[
            perm_pb.PermissionsType(
                cache_permissions=perm_pb.PermissionsType.CachePermissions(
                    role=perm_pb.CacheReadWrite, all_caches=perm_pb.PermissionsType.All()
                )
            ),
            perm_pb.PermissionsType(
                topic_permissions=perm_pb.PermissionsType.TopicPermissions(
                    role=perm_pb.TopicReadWrite,
                    all_caches=perm_pb.PermissionsType.All(),
                    all_topics=perm_pb.PermissionsType.All(),
                )
            ),
        ]
    )
)


def test_a_v1_super_user_key_cannot_generate_a_super_user_key(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer
) -> None:
    # Momento's JS SDK integration test "should not support generating a superuser token when
    # authenticated via a v1 superuser token": PERMISSION_ERROR, "Insufficient permissions".
    before = momento_server.state.credentials.count()
    for valid_for in (3600, None):
        with pytest.raises(grpc.RpcError) as err:
            _generate(sdk, master.api_key, SUPER, valid_for)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "Insufficient permissions" in str(err.value.details())
    # AND nothing was issued
    assert momento_server.state.credentials.count() == before


def test_a_v1_super_user_key_generates_data_only_keys(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer
) -> None:
    # WHEN an all-data read-write key is generated, expiring and never-expiring
    expiring = _generate(sdk, master.api_key, ALL_DATA, 3600)
    never = _generate(sdk, master.api_key, ALL_DATA, None)

    # THEN the expiring one has a refresh token and valid_until; the never-expiring one has neither
    # (no refresh token, valid_until 0, no `exp`)
    assert expiring.refresh_token
    assert expiring.valid_until == int(momento_server.clock.now()) + 3600
    assert never.refresh_token == ""
    assert never.valid_until == 0
    assert "exp" not in jwt.decode(never.api_key, options={"verify_signature": False})
    # AND a data-only key mints no tokens and manages no caches
    minted = sdk.auth(never.api_key).generate_disposable_token(S.cache_read_write("c1"), ExpiresIn.minutes(1))
    assert error_code(minted) == MomentoErrorCode.PERMISSION_ERROR
    assert error_code(sdk.cache(never.api_key).create_cache("c3")) == MomentoErrorCode.PERMISSION_ERROR
    # AND it reads and writes every cache and topic
    assert error_code(sdk.cache(never.api_key).set("c2", "k", "v")) is None
    assert error_code(sdk.topics(never.api_key).publish("c2", "t", "m")) is None
    # AND the expiring one refreshes; ten years later the never-expiring one still works
    assert refresh(sdk, expiring.api_key, expiring.refresh_token).api_key
    momento_server.clock.advance(10 * 365 * 86400)
    assert error_code(sdk.cache(never.api_key).get("c2", "k")) is None


def test_a_never_expiring_console_key_has_no_refresh_token(momento_server: MomentoLocalServer) -> None:
    key = momento_server.mint_master_key(valid_for_seconds=None)
    assert key.refresh_token == ""
    assert key.console_json() == {"apiKey": key.api_key, "refreshToken": None, "validUntil": None}


def _cache_stmt(role: int, cache: str | None) -> perm_pb.PermissionsType:
    c = perm_pb.PermissionsType.CachePermissions(role=role)  # type: ignore[arg-type]
    if cache is None:
        c.all_caches.SetInParent()
    else:
        c.cache_selector.cache_name = cache
    return perm_pb.PermissionsType(cache_permissions=c)


def _topic_stmt(role: int, cache: str, topic: str) -> perm_pb.PermissionsType:
    t = perm_pb.PermissionsType.TopicPermissions(role=role)  # type: ignore[arg-type]
    t.cache_selector.cache_name = cache
    t.topic_selector.topic_name = topic
    return perm_pb.PermissionsType(topic_permissions=t)


def _explicit(*stmts: perm_pb.PermissionsType) -> perm_pb.Permissions:
    return perm_pb.Permissions(explicit=perm_pb.ExplicitPermissions(permissions=list(stmts)))


@pytest.mark.parametrize(
    "permissions",
    [
        pytest.param(_explicit(), id="empty"),
        pytest.param(
            _explicit(_cache_stmt(perm_pb.CacheReadOnly, None), _cache_stmt(perm_pb.CacheReadWrite, None)),
            id="conflicting-all-caches",
        ),
        pytest.param(
            _explicit(_cache_stmt(perm_pb.CacheReadOnly, "g"), _cache_stmt(perm_pb.CacheReadWrite, "g")),
            id="conflicting-cache-name",
        ),
        pytest.param(
            _explicit(
                _topic_stmt(perm_pb.TopicReadOnly, "g", "r"), _topic_stmt(perm_pb.TopicReadWrite, "g", "r")
            ),
            id="conflicting-topic",
        ),
        pytest.param(
            _explicit(_cache_stmt(perm_pb.CacheReadWrite, "g"), _cache_stmt(perm_pb.CacheReadWrite, "g")),
            id="duplicate",
        ),
    ],
)
def test_empty_or_conflicting_permissions_are_invalid_argument(
    sdk: Sdk, master: MintedV1Key, permissions: perm_pb.Permissions
) -> None:
    # JS SDK integration tests "cannot create token with empty permission list" and
    # "... duplicate/conflicting cache/topic permissions": INVALID_ARGUMENT_ERROR.
    with pytest.raises(grpc.RpcError) as err:
        _generate(sdk, master.api_key, permissions, 60)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_same_cache_with_different_selectors_is_not_a_conflict(sdk: Sdk, master: MintedV1Key) -> None:
    permissions = _explicit(
        _cache_stmt(perm_pb.CacheReadOnly, None), _cache_stmt(perm_pb.CacheReadWrite, "c1")
    )
    key = _generate(sdk, master.api_key, permissions, 60).api_key
    assert error_code(sdk.cache(key).set("c1", "k", "v")) is None
    assert error_code(sdk.cache(key).set("c2", "k", "v")) == MomentoErrorCode.PERMISSION_ERROR


def test_all_data_read_write_with_the_function_invoke_statement_is_accepted(
    sdk: Sdk, master: MintedV1Key
) -> None:
    # The JS SDK's AllDataReadWrite: cache + topic + {FunctionInvoke, AllCaches, AllFunctions}.
    fn = perm_pb.PermissionsType.FunctionPermissions(role=perm_pb.FunctionInvoke)
    fn.all_caches.SetInParent()
    fn.all_functions.SetInParent()
    permissions = perm_pb.Permissions()
    permissions.CopyFrom(ALL_DATA)
    permissions.explicit.permissions.append(perm_pb.PermissionsType(function_permissions=fn))
    key = _generate(sdk, master.api_key, permissions, 60).api_key
    assert error_code(sdk.cache(key).set("c1", "k", "v")) is None


def test_a_data_only_key_cannot_generate_keys(sdk: Sdk, master: MintedV1Key) -> None:
    data = _generate(sdk, master.api_key, ALL_DATA, 3600)
    for permissions in (SUPER, ALL_DATA):
        with pytest.raises(grpc.RpcError) as err:
            _generate(sdk, data.api_key, permissions, 3600)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_unknown_keys_are_unauthenticated(sdk: Sdk, master: MintedV1Key) -> None:
    forged = jwt.encode(
        {"c": "cache.momento.local", "cp": "control.momento.local"},
        "not-the-server-secret-but-long-enough-for-hs256",
    )
    with pytest.raises(grpc.RpcError) as err:
        _generate(sdk, forged, SUPER, 3600)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_code(sdk.cache(forged).get("c1", "k")) == MomentoErrorCode.AUTHENTICATION_ERROR
