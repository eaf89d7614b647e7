"""gRPC `control_client.ScsControl` (subset): CreateCache, DeleteCache, ListCaches."""

from __future__ import annotations

import grpc
from momento_wire_types.generated import controlclient_pb2 as control_pb
from momento_wire_types.generated import controlclient_pb2_grpc as control_grpc

from local.momento.rpc import Service, unary


class ControlService(Service, control_grpc.ScsControlServicer):
    @unary("CreateCache")
    def CreateCache(
        self, request: control_pb._CreateCacheRequest, context: grpc.ServicerContext
    ) -> control_pb._CreateCacheResponse:
        cred = self.caller(context)
        self.state.credentials.require(cred, cred.grants.control, "create caches")
        self.state.caches.create(cred.account, request.cache_name)
        return control_pb._CreateCacheResponse()

    @unary("DeleteCache")
    def DeleteCache(
        self, request: control_pb._DeleteCacheRequest, context: grpc.ServicerContext
    ) -> control_pb._DeleteCacheResponse:
        cred = self.caller(context)
        self.state.credentials.require(cred, cred.grants.control, "delete caches")
        self.state.caches.delete(cred.account, request.cache_name)
        self.state.topics.close_all(cred.account, request.cache_name)
        return control_pb._DeleteCacheResponse()

    @unary("ListCaches")
    def ListCaches(
        self, request: control_pb._ListCachesRequest, context: grpc.ServicerContext
    ) -> control_pb._ListCachesResponse:
        cred = self.caller(context)
        # Resource management read: the Viewer role may list (roles-and-permissions.md).
        self.state.credentials.require(cred, cred.grants.control or cred.grants.list_caches, "list caches")
        return control_pb._ListCachesResponse(
            cache=[control_pb._Cache(cache_name=n) for n in self.state.caches.names(cred.account)]
        )
