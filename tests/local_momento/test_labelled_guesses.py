"""The README's labelled guesses that no other test pins: so a change to one of them is deliberate."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes as S
from momento.errors import MomentoErrorCode
from momento_wire_types.generated import cachepubsub_pb2 as pubsub_pb
from momento_wire_types.generated import cachepubsub_pb2_grpc as pubsub_grpc
from momento_wire_types.generated import permissionmessages_pb2 as perm_pb
from momento_wire_types.generated import token_pb2 as token_pb
from momento_wire_types.generated import token_pb2_grpc as token_grpc

from local.momento.server import MintedV1Key, MomentoLocalServer
from local.momento.testing import Sdk, error_code

pytestmark = pytest.mark.integration


@pytest.fixture
def channel(momento_server: MomentoLocalServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(momento_server.address) as ch:
        yield ch


def _mint(channel: grpc.Channel, key: str, permissions: perm_pb.Permissions) -> grpc.StatusCode:
    stub = token_grpc.TokenStub(channel)  # type: ignore[no-untyped-call]
    request = token_pb._GenerateDisposableTokenRequest(auth_token=key, permissions=permissions)
    request.expires.valid_for_seconds = 60
    try:
        stub.GenerateDisposableToken(request, metadata=[("authorization", key)], timeout=5)
    except grpc.RpcError as err:
        return err.code()
    return grpc.StatusCode.OK


def test_a_disposable_token_cannot_be_super_user(channel: grpc.Channel, master: MintedV1Key) -> None:
    code = _mint(channel, master.api_key, perm_pb.Permissions(super_user=perm_pb.SuperUser))
    assert code == grpc.StatusCode.INVALID_ARGUMENT


def test_a_permit_none_role_is_invalid_argument(channel: grpc.Channel, master: MintedV1Key) -> None:
    stmt = perm_pb.PermissionsType.CachePermissions(role=perm_pb.CachePermitNone)
    stmt.all_caches.SetInParent()
    permissions = perm_pb.Permissions(
        explicit=perm_pb.ExplicitPermissions(permissions=[perm_pb.PermissionsType(cache_permissions=stmt)])
    )
    assert _mint(channel, master.api_key, permissions) == grpc.StatusCode.INVALID_ARGUMENT


def test_tokens_outlive_the_key_that_minted_them(
    sdk: Sdk, master: MintedV1Key, momento_server: MomentoLocalServer
) -> None:
    v2 = momento_server.mint_v2_key(role_id="owner")
    token = sdk.mint(v2.api_key, S.cache_read_write("c1")).auth_token
    momento_server.state.credentials.revoke("default", v2.key_id)
    assert error_code(sdk.cache(token).set("c1", "k", "v")) is None
    assert error_code(sdk.cache(v2.api_key).get("c1", "k")) == MomentoErrorCode.AUTHENTICATION_ERROR


def test_an_idle_subscription_gets_heartbeats() -> None:
    with MomentoLocalServer(heartbeat_seconds=0.2, http_port=None) as server:
        key = server.mint_master_key()
        server.create_cache("c1")
        with grpc.insecure_channel(server.address) as ch:
            stub = pubsub_grpc.PubsubStub(ch)  # type: ignore[no-untyped-call]
            stream = stub.Subscribe(
                pubsub_pb._SubscriptionRequest(cache_name="c1", topic="t"),
                metadata=[("authorization", key.api_key)],
                timeout=5,
            )
            kinds = [next(stream).WhichOneof("kind") for _ in range(3)]
            stream.cancel()
    assert kinds == ["heartbeat"] * 3
