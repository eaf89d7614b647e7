"""Caller identity per auth mode, read from the sample events in `events/vendor/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.errors import UnauthenticatedError
from vendor.identity import identify, parse_groups

EVENTS = Path(__file__).parents[2] / "events" / "vendor"


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def test_jwt_identity_from_claims() -> None:
    identity = identify(event("get-token-jwt.json"), "jwt", "cognito:groups")
    assert identity.principal == "3f1c2a4e-8b7d-4c1e-9a2b-5d6e7f8a9b0c"
    assert identity.token_id == identity.principal
    assert identity.groups == ("members",)
    assert identity.claims["tenant"] == "acme"


def test_jwt_custom_groups_claim() -> None:
    raw = event("get-token-jwt.json")
    raw["requestContext"]["authorizer"]["jwt"]["claims"]["roles"] = '["a","b"]'
    assert identify(raw, "jwt", "roles").groups == ("a", "b")


def test_lambda_identity_from_context() -> None:
    identity = identify(event("get-token-lambda.json"), "lambda", "cognito:groups")
    assert identity.principal == "device17"
    assert identity.groups == ("members",)


def test_iam_identity_from_caller() -> None:
    identity = identify(event("get-token-iam.json"), "iam", "cognito:groups")
    assert identity.principal == "arn:aws:iam::123456789012:user/orders-service"
    assert identity.claims["accountId"] == "123456789012"
    assert "accessKey" not in identity.claims


def test_none_mode_uses_source_ip() -> None:
    assert identify(event("get-token-none.json"), "none", "g").principal == "203.0.113.7"


@pytest.mark.parametrize("mode", ["jwt", "lambda", "iam"])
def test_no_authorizer_is_unauthenticated(mode: str) -> None:
    with pytest.raises(UnauthenticatedError):
        identify(event("get-token-jwt-unauthenticated.json"), mode, "cognito:groups")


def test_headers_never_identify_a_caller() -> None:
    raw = event("get-token-jwt-unauthenticated.json")
    raw["headers"]["x-user"] = "admin"
    raw["headers"]["authorization"] = "Bearer forged"
    with pytest.raises(UnauthenticatedError):
        identify(raw, "jwt", "cognito:groups")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[admins members]", ("admins", "members")),
        ('["admins","members"]', ("admins", "members")),
        ("admins,members", ("admins", "members")),
        (["members", "admins"], ("admins", "members")),
        ("", ()),
        (None, ()),
        ({"nested": 1}, ()),
    ],
)
def test_parse_groups(raw: Any, expected: tuple[str, ...]) -> None:
    assert parse_groups(raw) == expected


def test_none_mode_ignores_forwarded_for_headers() -> None:
    raw = event("get-token-none.json")
    raw["headers"]["x-forwarded-for"] = "198.51.100.1"
    raw["headers"]["x-real-ip"] = "198.51.100.1"
    assert identify(raw, "none", "g").principal == "203.0.113.7"


def test_lambda_groups_come_from_the_authorizer_context_only() -> None:
    raw = event("get-token-lambda.json")
    raw["headers"]["groups"] = "admins"
    raw["queryStringParameters"] = {"groups": "admins", "sub": "someone-else"}
    identity = identify(raw, "lambda", "cognito:groups")
    assert (identity.principal, identity.groups) == ("device17", ("members",))
