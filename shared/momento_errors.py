"""Momento failures become `shared.errors` types here, through one table.

Momento reports failures three ways: SDK error values (`error_code`, a `MomentoErrorCode`),
gRPC status codes from the wire stubs, and HTTP statuses from the API keys HTTP API. All
three are keys of `ERROR_TYPES`, so a failure is classified by its code, never by matching
message text. Messages name the operation and the code; the server's message is appended
only after every secret the call used has been cut out of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

import grpc
from momento.errors import MomentoErrorCode

from shared.errors import (
    MomentoAuthenticationError,
    MomentoError,
    MomentoInvalidRequestError,
    MomentoLimitExceededError,
    MomentoNotFoundError,
    MomentoPermissionError,
    MomentoRefreshRefusedError,
    MomentoUnavailableError,
)

type _Code = MomentoErrorCode | grpc.StatusCode | int
_SDK = MomentoErrorCode
_GRPC = grpc.StatusCode

#: The one table: SDK error code, gRPC status or HTTP status -> our error type.
ERROR_TYPES: Mapping[_Code, type[MomentoError]] = MappingProxyType(
    {
        # unavailable, timeout, internal: may succeed later
        _SDK.SERVER_UNAVAILABLE: MomentoUnavailableError,
        _SDK.TIMEOUT_ERROR: MomentoUnavailableError,
        _SDK.INTERNAL_SERVER_ERROR: MomentoUnavailableError,
        _SDK.CONNECTION_ERROR: MomentoUnavailableError,
        _SDK.CANCELLED_ERROR: MomentoUnavailableError,
        _SDK.UNKNOWN_SERVICE_ERROR: MomentoUnavailableError,
        _SDK.UNKNOWN_ERROR: MomentoUnavailableError,
        _SDK.CLIENT_RESOURCE_EXHAUSTED: MomentoUnavailableError,
        _GRPC.UNAVAILABLE: MomentoUnavailableError,
        _GRPC.DEADLINE_EXCEEDED: MomentoUnavailableError,
        _GRPC.INTERNAL: MomentoUnavailableError,
        _GRPC.UNKNOWN: MomentoUnavailableError,
        _GRPC.CANCELLED: MomentoUnavailableError,
        _GRPC.ABORTED: MomentoUnavailableError,
        _GRPC.DATA_LOSS: MomentoUnavailableError,
        500: MomentoUnavailableError,
        502: MomentoUnavailableError,
        503: MomentoUnavailableError,
        504: MomentoUnavailableError,
        # authentication: the key is expired, revoked or not a key
        _SDK.AUTHENTICATION_ERROR: MomentoAuthenticationError,
        _GRPC.UNAUTHENTICATED: MomentoAuthenticationError,
        401: MomentoAuthenticationError,
        # permission: a valid key that may not do this
        _SDK.PERMISSION_ERROR: MomentoPermissionError,
        _GRPC.PERMISSION_DENIED: MomentoPermissionError,
        403: MomentoPermissionError,
        # Momento's auth quota
        _SDK.LIMIT_EXCEEDED_ERROR: MomentoLimitExceededError,
        _GRPC.RESOURCE_EXHAUSTED: MomentoLimitExceededError,
        429: MomentoLimitExceededError,
        # invalid argument
        _SDK.INVALID_ARGUMENT_ERROR: MomentoInvalidRequestError,
        _SDK.BAD_REQUEST_ERROR: MomentoInvalidRequestError,
        _SDK.FAILED_PRECONDITION_ERROR: MomentoInvalidRequestError,
        _SDK.ALREADY_EXISTS_ERROR: MomentoInvalidRequestError,
        _GRPC.INVALID_ARGUMENT: MomentoInvalidRequestError,
        _GRPC.FAILED_PRECONDITION: MomentoInvalidRequestError,
        _GRPC.OUT_OF_RANGE: MomentoInvalidRequestError,
        _GRPC.UNIMPLEMENTED: MomentoInvalidRequestError,
        _GRPC.ALREADY_EXISTS: MomentoInvalidRequestError,
        400: MomentoInvalidRequestError,
        409: MomentoInvalidRequestError,
        # not found
        _SDK.NOT_FOUND_ERROR: MomentoNotFoundError,
        _GRPC.NOT_FOUND: MomentoNotFoundError,
        404: MomentoNotFoundError,
    }
)

#: What a refused `RefreshApiToken` reports as: the key or refresh token is expired, spent or
#: mismatched (Momento does not document which status it uses, so every "no" counts), and
#: an operator must store a fresh key and refresh token.
REFRESH_REFUSALS: frozenset[type[MomentoError]] = frozenset(
    {MomentoAuthenticationError, MomentoPermissionError, MomentoInvalidRequestError, MomentoNotFoundError}
)

_MAX_DETAIL = 200


def error_type(code: _Code) -> type[MomentoError]:
    """The error type for a code; unknown HTTP statuses fall back by class (5xx retryable)."""
    found = ERROR_TYPES.get(code)
    if found is not None:
        return found
    if isinstance(code, int) and not isinstance(code, bool):
        return MomentoUnavailableError if code >= 500 else MomentoInvalidRequestError
    return MomentoUnavailableError


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` without any of `secrets` in it, shortened to a log-friendly length."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    text = " ".join(text.split())
    return text if len(text) <= _MAX_DETAIL else text[:_MAX_DETAIL] + "..."


def _code_name(code: _Code) -> str:
    if isinstance(code, MomentoErrorCode | grpc.StatusCode):
        return str(code.name)
    return f"HTTP {code}"


def momento_error(
    operation: str,
    code: _Code,
    detail: str | None = None,
    secrets: Iterable[str | None] = (),
    *,
    refresh: bool = False,
) -> MomentoError:
    """Build the error for `operation` failing with `code`; `refresh` marks a RefreshApiToken call."""
    kind = error_type(code)
    if refresh and kind in REFRESH_REFUSALS:
        kind = MomentoRefreshRefusedError
    message = f"Momento {operation} failed: {_code_name(code)}"
    if detail:
        message += f" ({redact(detail, secrets)})"
    return kind(message)
