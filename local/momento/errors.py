"""One error type for every service; mapped to gRPC status codes and HTTP statuses in one place."""

from __future__ import annotations

from enum import Enum

import grpc


class Code(Enum):
    INVALID_ARGUMENT = "invalid_argument"
    UNAUTHENTICATED = "unauthenticated"
    PERMISSION_DENIED = "permission_denied"
    NOT_FOUND = "not_found"
    #: HTTP only: a known path asked with a method it does not serve.
    METHOD_NOT_ALLOWED = "method_not_allowed"
    ALREADY_EXISTS = "already_exists"
    FAILED_PRECONDITION = "failed_precondition"
    LIMIT_EXCEEDED = "limit_exceeded"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"


GRPC_STATUS: dict[Code, grpc.StatusCode] = {
    Code.INVALID_ARGUMENT: grpc.StatusCode.INVALID_ARGUMENT,
    Code.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    Code.PERMISSION_DENIED: grpc.StatusCode.PERMISSION_DENIED,
    Code.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    Code.METHOD_NOT_ALLOWED: grpc.StatusCode.UNIMPLEMENTED,
    Code.ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    Code.FAILED_PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    Code.LIMIT_EXCEEDED: grpc.StatusCode.RESOURCE_EXHAUSTED,
    Code.UNAVAILABLE: grpc.StatusCode.UNAVAILABLE,
    Code.INTERNAL: grpc.StatusCode.INTERNAL,
}

HTTP_STATUS: dict[Code, int] = {
    Code.INVALID_ARGUMENT: 400,
    Code.UNAUTHENTICATED: 401,
    Code.PERMISSION_DENIED: 403,
    Code.NOT_FOUND: 404,
    Code.METHOD_NOT_ALLOWED: 405,
    Code.ALREADY_EXISTS: 409,
    Code.FAILED_PRECONDITION: 400,
    Code.LIMIT_EXCEEDED: 429,
    Code.UNAVAILABLE: 503,
    Code.INTERNAL: 500,
}


#: The HTTP APIs' `code` labels. Momento documents "Bad Request", "NotFound" and "PermissionDenied"
#: (api-keys-http-api.md, "Error responses"); the others are guesses in the same style.
HTTP_CODE: dict[Code, str] = {
    Code.INVALID_ARGUMENT: "Bad Request",
    Code.FAILED_PRECONDITION: "Bad Request",
    Code.UNAUTHENTICATED: "Unauthorized",
    Code.PERMISSION_DENIED: "PermissionDenied",
    Code.NOT_FOUND: "NotFound",
    Code.METHOD_NOT_ALLOWED: "MethodNotAllowed",
    Code.ALREADY_EXISTS: "Conflict",
    Code.LIMIT_EXCEEDED: "TooManyRequests",
    Code.UNAVAILABLE: "ServiceUnavailable",
    Code.INTERNAL: "InternalServerError",
}


class MomentoError(Exception):
    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def unauthenticated(message: str = "Invalid signature or expired/unknown credentials") -> MomentoError:
    return MomentoError(Code.UNAUTHENTICATED, message)


def denied(message: str) -> MomentoError:
    return MomentoError(Code.PERMISSION_DENIED, message)


def invalid(message: str) -> MomentoError:
    return MomentoError(Code.INVALID_ARGUMENT, message)


def not_found(message: str) -> MomentoError:
    return MomentoError(Code.NOT_FOUND, message)
