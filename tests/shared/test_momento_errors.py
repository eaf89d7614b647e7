"""The one table from Momento's codes to our error types, and message redaction."""

from __future__ import annotations

import grpc
import pytest
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
from shared.momento_errors import ERROR_TYPES, error_type, momento_error, redact


def test_every_sdk_error_code_and_grpc_failure_status_is_mapped() -> None:
    for code in MomentoErrorCode:
        assert code in ERROR_TYPES, code
    for status in grpc.StatusCode:
        if status is not grpc.StatusCode.OK:
            assert status in ERROR_TYPES, status


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (MomentoErrorCode.SERVER_UNAVAILABLE, MomentoUnavailableError),
        (MomentoErrorCode.TIMEOUT_ERROR, MomentoUnavailableError),
        (MomentoErrorCode.INTERNAL_SERVER_ERROR, MomentoUnavailableError),
        (MomentoErrorCode.AUTHENTICATION_ERROR, MomentoAuthenticationError),
        (MomentoErrorCode.PERMISSION_ERROR, MomentoPermissionError),
        (MomentoErrorCode.LIMIT_EXCEEDED_ERROR, MomentoLimitExceededError),
        (MomentoErrorCode.INVALID_ARGUMENT_ERROR, MomentoInvalidRequestError),
        (MomentoErrorCode.NOT_FOUND_ERROR, MomentoNotFoundError),
        (grpc.StatusCode.UNAVAILABLE, MomentoUnavailableError),
        (grpc.StatusCode.DEADLINE_EXCEEDED, MomentoUnavailableError),
        (grpc.StatusCode.UNAUTHENTICATED, MomentoAuthenticationError),
        (grpc.StatusCode.PERMISSION_DENIED, MomentoPermissionError),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, MomentoLimitExceededError),
        (grpc.StatusCode.INVALID_ARGUMENT, MomentoInvalidRequestError),
        (grpc.StatusCode.NOT_FOUND, MomentoNotFoundError),
        (400, MomentoInvalidRequestError),
        (401, MomentoAuthenticationError),
        (403, MomentoPermissionError),
        (404, MomentoNotFoundError),
        (429, MomentoLimitExceededError),
        (500, MomentoUnavailableError),
        (503, MomentoUnavailableError),
        (418, MomentoInvalidRequestError),
        (599, MomentoUnavailableError),
    ],
)
def test_mapping(code: MomentoErrorCode | grpc.StatusCode | int, expected: type[MomentoError]) -> None:
    assert error_type(code) is expected


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED],
)
def test_a_refresh_that_momento_says_no_to_is_refused(code: grpc.StatusCode) -> None:
    assert isinstance(momento_error("refresh API key", code, refresh=True), MomentoRefreshRefusedError)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (grpc.StatusCode.UNAVAILABLE, MomentoUnavailableError),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, MomentoLimitExceededError),
    ],
)
def test_a_refresh_that_may_succeed_later_stays_retryable(
    code: grpc.StatusCode, expected: type[MomentoError]
) -> None:
    error = momento_error("refresh API key", code, refresh=True)

    assert type(error) is expected
    assert error.retryable


def test_message_names_operation_and_code_and_cuts_out_secrets() -> None:
    error = momento_error(
        "mint disposable token",
        MomentoErrorCode.AUTHENTICATION_ERROR,
        "bad key eyJSECRET.KEY.sig\nand refresh rt-123",
        ("eyJSECRET.KEY.sig", "rt-123", None),
    )

    assert str(error) == (
        "Momento mint disposable token failed: AUTHENTICATION_ERROR "
        "(bad key <redacted> and refresh <redacted>)"
    )


def test_redact_shortens_long_details() -> None:
    assert len(redact("x" * 1000, ())) == 203
