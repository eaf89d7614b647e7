"""POST bodies: both fields optional, everything else refused with a precise status."""

from __future__ import annotations

import json

import pytest

from shared.errors import BadRequestError, PayloadTooLargeError, UnknownScopeError
from shared.permissions import CachePermission, CacheRole
from vendor.vending import VendRequest, parse_request_body

LIMIT = 1024


def body(value: object) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize("raw", [None, b"", b"  ", b"{}"])
def test_empty_means_default_scope(raw: bytes | None) -> None:
    assert parse_request_body(raw, LIMIT) == VendRequest()


def test_permissions_and_ttl() -> None:
    parsed = parse_request_body(
        body({"permissions": [{"cache": "c", "role": "read_only"}], "ttlSeconds": 60}), LIMIT
    )
    assert parsed == VendRequest((CachePermission("c", CacheRole.READ_ONLY),), 60)


@pytest.mark.parametrize("raw", [b"{", b"[1]", b'"x"', b"\xff\xfe"])
def test_malformed_is_400(raw: bytes) -> None:
    with pytest.raises(BadRequestError) as caught:
        parse_request_body(raw, LIMIT)
    assert caught.value.status == 400
    assert caught.value.code == "bad_request"


@pytest.mark.parametrize("ttl", [0, -5, 1.5, "60", True])
def test_bad_ttl_is_400(ttl: object) -> None:
    with pytest.raises(BadRequestError, match="ttlSeconds"):
        parse_request_body(body({"ttlSeconds": ttl}), LIMIT)


def test_unknown_field_is_400() -> None:
    with pytest.raises(BadRequestError, match="ttl"):
        parse_request_body(body({"ttl": 60}), LIMIT)


@pytest.mark.parametrize(
    "permissions",
    [[], [{"cache": "c", "role": "owner"}], [{"cache": "c", "role": "read_only", "prefix": "x"}], ["c"]],
)
def test_unknown_scope_is_400(permissions: object) -> None:
    with pytest.raises(UnknownScopeError) as caught:
        parse_request_body(body({"permissions": permissions}), LIMIT)
    assert (caught.value.status, caught.value.code) == (400, "unknown_scope")


def test_oversized_is_413_before_parsing() -> None:
    with pytest.raises(PayloadTooLargeError) as caught:
        parse_request_body(b"{" * (LIMIT + 1), LIMIT)
    assert caught.value.status == 413


@pytest.mark.parametrize("raw", [b" " * (LIMIT + 1), b"{}" + b"\n" * LIMIT])
def test_oversized_is_413_even_when_blank_or_padded(raw: bytes) -> None:
    with pytest.raises(PayloadTooLargeError):
        parse_request_body(raw, LIMIT)
