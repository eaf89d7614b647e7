"""gRPC `token.Token`: GenerateDisposableToken."""

from __future__ import annotations

import grpc
from momento_wire_types.generated import token_pb2 as token_pb
from momento_wire_types.generated import token_pb2_grpc as token_grpc

from local.momento import grants as grants_mod
from local.momento.errors import invalid
from local.momento.rpc import Service, unary


class TokenService(Service, token_grpc.TokenServicer):
    @unary("GenerateDisposableToken")
    def GenerateDisposableToken(
        self, request: token_pb._GenerateDisposableTokenRequest, context: grpc.ServicerContext
    ) -> token_pb._GenerateDisposableTokenResponse:
        caller = self.minter(context, request.auth_token, "generate disposable tokens")
        limits = self.state.limits
        valid_for = int(request.expires.valid_for_seconds)
        if valid_for <= 0:
            raise invalid("Disposable tokens must expire: valid_for_seconds must be positive")
        if valid_for > limits.max_token_seconds:
            raise invalid(f"Disposable tokens must expire within {limits.max_token_seconds} seconds")
        if request.permissions.WhichOneof("kind") != "explicit":
            raise invalid("Disposable tokens take explicit permissions")
        count = len(request.permissions.explicit.permissions)
        if count > limits.max_permissions:
            raise invalid(f"At most {limits.max_permissions} permissions per disposable token (got {count})")
        try:
            granted = grants_mod.from_wire(request.permissions)
        except grants_mod.BadPermissions as e:
            raise invalid(str(e)) from None
        # Counted like the JS SDK's `tokenId.length`: UTF-16 code units, not code points.
        if len(request.token_id.encode("utf-16-le")) // 2 > limits.max_token_id_chars:
            raise invalid(f"TokenID must be less than or equal to {limits.max_token_id_chars} characters.")
        cred = self.state.credentials.issue_disposable(caller, granted, valid_for, request.token_id or None)
        return token_pb._GenerateDisposableTokenResponse(
            api_key=cred.api_key, endpoint=self.state.endpoint, valid_until=cred.expires_at or 0
        )
