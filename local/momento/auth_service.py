"""gRPC `auth.Auth`: GenerateApiToken and RefreshApiToken (v1 keys with single-use refresh tokens)."""

from __future__ import annotations

import grpc
from momento_wire_types.generated import auth_pb2 as auth_pb
from momento_wire_types.generated import auth_pb2_grpc as auth_grpc

from local.momento import grants as grants_mod
from local.momento.errors import denied, invalid
from local.momento.rpc import Service, unary


class AuthService(Service, auth_grpc.AuthServicer):
    @unary("GenerateApiToken")
    def GenerateApiToken(
        self, request: auth_pb._GenerateApiTokenRequest, context: grpc.ServicerContext
    ) -> auth_pb._GenerateApiTokenResponse:
        caller = self.minter(context, request.auth_token, "generate API keys")
        if request.HasField("permissions"):
            try:
                granted = grants_mod.from_wire(request.permissions)
            except grants_mod.BadPermissions as e:
                raise invalid(str(e)) from None
        else:
            granted = grants_mod.SUPER_USER
        if granted.super_user:
            # Momento: only a console session may create super-user keys; an API key asking for
            # one gets PERMISSION_ERROR "Insufficient permissions" (JS SDK integration tests,
            # packages/common-integration-tests/src/auth/auth-client.ts).
            raise denied("Insufficient permissions to generate a super-user key (only the console can)")
        expiry = request.WhichOneof("expiry")
        if expiry == "never":
            valid_for: int | None = None
        elif expiry == "expires":
            valid_for = int(request.expires.valid_for_seconds)
            if valid_for <= 0:
                raise invalid("valid_for_seconds must be positive")
        else:
            raise invalid("expiry must be 'never' or 'expires'")
        cred, refresh = self.state.credentials.issue_v1(
            caller.account, granted, valid_for, description=request.description, parent=caller.key_id
        )
        # A never-expiring key has no refresh token: `refresh` is "" (proto3 default).
        return auth_pb._GenerateApiTokenResponse(
            api_key=cred.api_key,
            refresh_token=refresh,
            endpoint=self.state.endpoint,
            valid_until=cred.expires_at or 0,
        )

    @unary("RefreshApiToken")
    def RefreshApiToken(
        self, request: auth_pb._RefreshApiTokenRequest, context: grpc.ServicerContext
    ) -> auth_pb._RefreshApiTokenResponse:
        # The key being refreshed travels in the body; the header (if any) is not required to match.
        old = self.state.authenticate(request.api_key)
        self.state.charge_auth_quota(old)
        cred, refresh = self.state.credentials.refresh_v1(request.api_key, request.refresh_token)
        return auth_pb._RefreshApiTokenResponse(
            api_key=cred.api_key,
            refresh_token=refresh,
            endpoint=self.state.endpoint,
            valid_until=cred.expires_at or 0,
        )
