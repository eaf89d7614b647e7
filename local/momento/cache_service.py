"""gRPC `cache_client.Scs` (subset): Get, Set, SetIfNotExists, Delete, KeysExist."""

from __future__ import annotations

import grpc
from momento_wire_types.generated import cacheclient_pb2 as cache_pb
from momento_wire_types.generated import cacheclient_pb2_grpc as cache_grpc

from local.momento.credentials import Credential
from local.momento.errors import denied
from local.momento.grants import Access
from local.momento.rpc import Service, unary


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
