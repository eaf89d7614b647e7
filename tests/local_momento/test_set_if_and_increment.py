"""`SetIf` (every condition the JS/web SDKs send) and `Increment` (value, TTL, non-integer error).

`Increment` and `SetIfNotExists` go through the real Python SDK (`CacheClient.increment`,
`set_if_not_exists`; momento 1.29.1 has no `set_if_*` for the other conditions). `SetIf` goes through
the generated `cache_client.Scs` stub with exactly the request the JS SDK builds
(`packages/client-sdk-nodejs/src/internal/cache-data-client.ts`, `sendSetIfAbsent` etc.); the Node
conformance suite (`tests/conformance/`) drives the same RPC through `@gomomento/sdk` itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import grpc
import pytest
from momento.auth.access_control.disposable_token_scope import (
    CacheItemKey,
    CacheItemSelector,
    DisposableTokenCachePermission,
    DisposableTokenCachePermissions,
    DisposableTokenScope,
)
from momento.auth.access_control.disposable_token_scopes import DisposableTokenScopes as S
from momento.auth.access_control.permission_scope import CacheRole, CacheSelector
from momento.errors import MomentoErrorCode
from momento.responses import CacheGet, CacheIncrement, CacheSetIfNotExists
from momento_wire_types.generated import cacheclient_pb2 as cache_pb
from momento_wire_types.generated import cacheclient_pb2_grpc as cache_grpc
from momento_wire_types.generated import common_pb2 as common_pb

from local.momento.server import MintedV1Key, MomentoLocalServer
from local.momento.testing import Sdk, error_code

pytestmark = pytest.mark.integration


@pytest.fixture
def scs(momento_server: MomentoLocalServer) -> Iterator[cache_grpc.ScsStub]:
    channel = grpc.insecure_channel(momento_server.address)
    yield cache_grpc.ScsStub(channel)  # type: ignore[no-untyped-call]
    channel.close()


def _set_if(stub: cache_grpc.ScsStub, key: str, **condition: object) -> str:
    req = cache_pb._SetIfRequest(cache_key=b"k", cache_body=b"new", ttl_milliseconds=60_000, **condition)
    resp = stub.SetIf(req, metadata=(("authorization", key), ("cache", "c1")))
    return str(resp.WhichOneof("result"))


@pytest.mark.parametrize(
    ("condition", "when_absent", "when_old", "when_other"),
    [
        ({"absent": common_pb.Absent()}, "stored", "not_stored", "not_stored"),
        ({"present": common_pb.Present()}, "not_stored", "stored", "stored"),
        ({"equal": common_pb.Equal(value_to_check=b"old")}, "not_stored", "stored", "not_stored"),
        ({"not_equal": common_pb.NotEqual(value_to_check=b"old")}, "stored", "not_stored", "stored"),
        (
            {"present_and_not_equal": common_pb.PresentAndNotEqual(value_to_check=b"old")},
            "not_stored",
            "not_stored",
            "stored",
        ),
        (
            {"absent_or_equal": common_pb.AbsentOrEqual(value_to_check=b"old")},
            "stored",
            "stored",
            "not_stored",
        ),
    ],
)
def test_set_if_condition_decides_against_the_live_value(
    sdk: Sdk,
    scs: cache_grpc.ScsStub,
    master: MintedV1Key,
    condition: dict[str, object],
    when_absent: str,
    when_old: str,
    when_other: str,
) -> None:
    cache = sdk.cache(master.api_key)
    for existing, expected in ((None, when_absent), (b"old", when_old), (b"other", when_other)):
        # GIVEN the key absent, holding the compared value, or holding another value
        cache.delete("c1", "k")
        if existing is not None:
            cache.set("c1", "k", existing)
        # WHEN SetIf runs with the condition
        result = _set_if(scs, master.api_key, **condition)
        # THEN it stores exactly when the condition holds, and the item shows it
        assert result == expected, (existing, condition)
        got = cache.get("c1", "k")
        want = b"new" if expected == "stored" else existing
        assert (got.value_bytes if isinstance(got, CacheGet.Hit) else None) == want


def test_set_if_without_condition_is_invalid_argument(scs: cache_grpc.ScsStub, master: MintedV1Key) -> None:
    with pytest.raises(grpc.RpcError) as err:
        _set_if(scs, master.api_key)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_set_if_needs_write_permission_on_the_key(
    sdk: Sdk, scs: cache_grpc.ScsStub, master: MintedV1Key
) -> None:
    # GIVEN a read-only token for c1
    token = sdk.mint(master.api_key, S.cache_read_only("c1")).auth_token
    # WHEN it tries SetIf(absent) THEN PERMISSION_DENIED, and nothing was written
    with pytest.raises(grpc.RpcError) as err:
        _set_if(scs, token, absent=common_pb.Absent())
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert isinstance(sdk.cache(master.api_key).get("c1", "k"), CacheGet.Miss)


def test_set_if_expired_token_is_unauthenticated(
    momento_server: MomentoLocalServer, sdk: Sdk, scs: cache_grpc.ScsStub, master: MintedV1Key
) -> None:
    token = sdk.mint(master.api_key, S.cache_read_write("c1"), seconds=60).auth_token
    momento_server.clock.advance(61)
    with pytest.raises(grpc.RpcError) as err:
        _set_if(scs, token, absent=common_pb.Absent())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_set_if_not_exists_through_the_python_sdk(sdk: Sdk, master: MintedV1Key) -> None:
    cache = sdk.cache(master.api_key)
    assert isinstance(cache.set_if_not_exists("c1", "k", "first"), CacheSetIfNotExists.Stored)
    assert isinstance(cache.set_if_not_exists("c1", "k", "second"), CacheSetIfNotExists.NotStored)
    got = cache.get("c1", "k")
    assert isinstance(got, CacheGet.Hit)
    assert got.value_string == "first"


def test_increment_counts_from_missing_and_from_a_set_integer(sdk: Sdk, master: MintedV1Key) -> None:
    cache = sdk.cache(master.api_key)
    # GIVEN no item: increment creates it with the amount
    first = cache.increment("c1", "n", 5)
    assert isinstance(first, CacheIncrement.Success)
    assert first.value == 5
    second = cache.increment("c1", "n", -7)
    assert isinstance(second, CacheIncrement.Success)
    assert second.value == -2
    # AND the stored value is the base-10 string a Get sees
    got = cache.get("c1", "n")
    assert isinstance(got, CacheGet.Hit)
    assert got.value_string == "-2"
    # GIVEN an item set to "10" by Set, increment adds to it
    cache.set("c1", "m", "10")
    third = cache.increment("c1", "m", 0)
    assert isinstance(third, CacheIncrement.Success)
    assert third.value == 10


def test_increment_of_a_non_integer_is_failed_precondition_and_changes_nothing(
    sdk: Sdk, master: MintedV1Key
) -> None:
    cache = sdk.cache(master.api_key)
    for bad in ("abcxyz", "1.5", " 1", ""):
        cache.set("c1", "s", bad)
        resp = cache.increment("c1", "s", 1)
        assert error_code(resp) == MomentoErrorCode.FAILED_PRECONDITION_ERROR, (bad, resp)
        got = cache.get("c1", "s")
        assert isinstance(got, CacheGet.Hit)
        assert got.value_string == bad


def test_increment_overflowing_i64_is_failed_precondition(sdk: Sdk, master: MintedV1Key) -> None:
    cache = sdk.cache(master.api_key)
    cache.set("c1", "big", str(2**63 - 1))
    assert error_code(cache.increment("c1", "big", 1)) == MomentoErrorCode.FAILED_PRECONDITION_ERROR
    got = cache.get("c1", "big")
    assert isinstance(got, CacheGet.Hit)
    assert got.value_string == str(2**63 - 1)


def test_increment_ttl_is_set_by_each_call(
    momento_server: MomentoLocalServer, sdk: Sdk, master: MintedV1Key
) -> None:
    cache = sdk.cache(master.api_key)
    momento_server.clock.freeze()
    # GIVEN a counter created with a 10 s TTL
    cache.increment("c1", "n", 1, ttl=timedelta(seconds=10))
    momento_server.clock.advance(8)
    # WHEN it is incremented again with a 10 s TTL, 8 s later
    cache.increment("c1", "n", 1, ttl=timedelta(seconds=10))
    momento_server.clock.advance(8)
    # THEN it lives on (16 s after creation) and expires 10 s after the last increment
    assert isinstance(cache.get("c1", "n"), CacheGet.Hit)
    momento_server.clock.advance(3)
    assert isinstance(cache.get("c1", "n"), CacheGet.Miss)
    # AND a counter after expiry starts from the amount again
    again = cache.increment("c1", "n", 1, ttl=timedelta(seconds=10))
    assert isinstance(again, CacheIncrement.Success)
    assert again.value == 1


def test_increment_needs_read_and_write_on_the_key(sdk: Sdk, master: MintedV1Key) -> None:
    # GIVEN tokens that may only read, only write, or read-write key "n" of c1
    def token(role: CacheRole) -> str:
        scope = DisposableTokenScope(
            DisposableTokenCachePermissions(
                [
                    DisposableTokenCachePermission(
                        CacheSelector("c1"), role, CacheItemSelector(CacheItemKey("n"))
                    )
                ]
            )
        )
        return sdk.mint(master.api_key, scope).auth_token

    for role in (CacheRole.READ_ONLY, CacheRole.WRITE_ONLY):
        resp = sdk.cache(token(role)).increment("c1", "n", 1)
        assert error_code(resp) == MomentoErrorCode.PERMISSION_ERROR, role
    rw = sdk.cache(token(CacheRole.READ_WRITE))
    assert isinstance(rw.increment("c1", "n", 1), CacheIncrement.Success)
    # AND another key stays out of reach
    assert error_code(rw.increment("c1", "other", 1)) == MomentoErrorCode.PERMISSION_ERROR


def test_increment_on_unknown_cache_is_not_found(sdk: Sdk, master: MintedV1Key) -> None:
    resp = sdk.cache(master.api_key).increment("nope", "n", 1)
    assert error_code(resp) == MomentoErrorCode.NOT_FOUND_ERROR
