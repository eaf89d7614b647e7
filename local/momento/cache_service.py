"""gRPC `cache_client.Scs` (subset): Get, Set, SetIf, SetIfNotExists, Increment, Delete, KeysExist."""

from __future__ import annotations

import grpc
from momento_wire_types.generated import cacheclient_pb2 as cache_pb
from momento_wire_types.generated import cacheclient_pb2_grpc as cache_grpc

from local.momento.credentials import Credential
from local.momento.data import Condition
from local.momento.errors import denied, invalid
from local.momento.grants import Access
from local.momento.rpc import Service, unary


def set_if_condition(request: cache_pb._SetIfRequest) -> Condition:
    """The `_SetIfRequest.condition` oneof as a predicate over the live value (None = absent).

    Meanings from the JS SDK's doc comments (`packages/core/src/internal/clients/cache/
    AbstractCacheClient.ts`, setIfPresent ... setIfAbsentOrEqual); the SDK sends exactly one."""
    which = request.WhichOneof("condition")
    if which == "absent":
        return lambda v: v is None
    if which == "present":
        return lambda v: v is not None
    if which == "equal":
        want = bytes(request.equal.value_to_check)
        return lambda v: v is not None and v == want
    if which == "not_equal":
        other = bytes(request.not_equal.value_to_check)
        return lambda v: v is None or v != other
    if which == "present_and_not_equal":
        other = bytes(request.present_and_not_equal.value_to_check)
        return lambda v: v is not None and v != other
    if which == "absent_or_equal":
        want = bytes(request.absent_or_equal.value_to_check)
        return lambda v: v is None or v == want
    raise invalid("SetIf needs a condition")


class CacheService(Service, cache_grpc.ScsServicer):
    def _check(self, cred: Credential, cache: str, keys: list[bytes], access: Access) -> None:
        for key in keys:
            if not cred.grants.may_cache(cache, key, access):
                raise denied(f"Insufficient permissions to {access.value} this key in cache {cache}")

    def _begin(
        self, context: grpc.ServicerContext, keys: list[bytes], access: Access
    ) -> tuple[Credential, str]:
        cred = self.caller(context)
        cache = self.cache_name(context)
        self._check(cred, cache, keys, access)
        return cred, cache

    @unary("Get")
    def Get(self, request: cache_pb._GetRequest, context: grpc.ServicerContext) -> cache_pb._GetResponse:
        cred, cache = self._begin(context, [request.cache_key], Access.READ)
        value = self.state.caches.get(cred.account, cache, request.cache_key)
        if value is None:
            return cache_pb._GetResponse(result=cache_pb.Miss)
        return cache_pb._GetResponse(result=cache_pb.Hit, cache_body=value)

    @unary("Set")
    def Set(self, request: cache_pb._SetRequest, context: grpc.ServicerContext) -> cache_pb._SetResponse:
        cred, cache = self._begin(context, [request.cache_key], Access.WRITE)
        self.state.caches.set(
            cred.account, cache, request.cache_key, request.cache_body, request.ttl_milliseconds
        )
        return cache_pb._SetResponse(result=cache_pb.Ok)

    @unary("SetIfNotExists")
    def SetIfNotExists(
        self, request: cache_pb._SetIfNotExistsRequest, context: grpc.ServicerContext
    ) -> cache_pb._SetIfNotExistsResponse:
        cred, cache = self._begin(context, [request.cache_key], Access.WRITE)
        stored = self.state.caches.set_if_not_exists(
            cred.account, cache, request.cache_key, request.cache_body, request.ttl_milliseconds
        )
        if stored:
            return cache_pb._SetIfNotExistsResponse(stored=cache_pb._SetIfNotExistsResponse._Stored())
        return cache_pb._SetIfNotExistsResponse(not_stored=cache_pb._SetIfNotExistsResponse._NotStored())

    @unary("SetIf")
    def SetIf(
        self, request: cache_pb._SetIfRequest, context: grpc.ServicerContext
    ) -> cache_pb._SetIfResponse:
        cred, cache = self._begin(context, [request.cache_key], Access.WRITE)
        condition = set_if_condition(request)
        stored = self.state.caches.set_if(
            cred.account, cache, request.cache_key, request.cache_body, request.ttl_milliseconds, condition
        )
        if stored:
            return cache_pb._SetIfResponse(stored=cache_pb._SetIfResponse._Stored())
        return cache_pb._SetIfResponse(not_stored=cache_pb._SetIfResponse._NotStored())

    @unary("Increment")
    def Increment(
        self, request: cache_pb._IncrementRequest, context: grpc.ServicerContext
    ) -> cache_pb._IncrementResponse:
        # Increment reads and writes the item: a write-only grant is not enough (guess, README).
        cred, cache = self._begin(context, [request.cache_key], Access.WRITE)
        self._check(cred, cache, [request.cache_key], Access.READ)
        value = self.state.caches.increment(
            cred.account, cache, request.cache_key, request.amount, request.ttl_milliseconds
        )
        return cache_pb._IncrementResponse(value=value)

    @unary("Delete")
    def Delete(
        self, request: cache_pb._DeleteRequest, context: grpc.ServicerContext
    ) -> cache_pb._DeleteResponse:
        cred, cache = self._begin(context, [request.cache_key], Access.WRITE)
        self.state.caches.delete_key(cred.account, cache, request.cache_key)
        return cache_pb._DeleteResponse()

    @unary("KeysExist")
    def KeysExist(
        self, request: cache_pb._KeysExistRequest, context: grpc.ServicerContext
    ) -> cache_pb._KeysExistResponse:
        keys = list(request.cache_keys)
        cred, cache = self._begin(context, keys, Access.READ)
        return cache_pb._KeysExistResponse(exists=self.state.caches.keys_exist(cred.account, cache, keys))
