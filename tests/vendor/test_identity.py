"""Caller identity per auth mode, read from the sample events in `events/vendor/`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.errors import BadRequestError, UnauthenticatedError
from vendor.identity import identify
from vendor.token_id import token_id

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
    raw["requestContext"]["authorizer"]["jwt"]["claims"]["roles"] = "[b a]"
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


@pytest.mark.parametrize("sub", [0, 1, "", None, True, [], {}, ["x"]])
def test_lambda_sub_that_is_not_a_non_empty_string_is_401(sub: Any) -> None:
    raw = event("get-token-lambda.json")
    raw["requestContext"]["authorizer"]["lambda"]["sub"] = sub
    raw["requestContext"]["authorizer"]["lambda"]["principalId"] = "fallback"
    with pytest.raises(UnauthenticatedError):
        identify(raw, "lambda", "cognito:groups")


@pytest.mark.parametrize("mode", ["jwt", "lambda"])
def test_lone_surrogate_principal_is_400(mode: str) -> None:
    raw = event(f"get-token-{mode}.json")
    holder = raw["requestContext"]["authorizer"]
    (holder["jwt"]["claims"] if mode == "jwt" else holder["lambda"])["sub"] = "user\ud800"
    with pytest.raises(BadRequestError):
        identify(raw, mode, "cognito:groups")


ASSUMED = "arn:aws:sts::123456789012:assumed-role/Cognito_PoolAuth_Role/CognitoIdentityCredentials"


def iam_event(arn: str, cognito: dict[str, Any] | None = None) -> dict[str, Any]:
    raw = event("get-token-iam.json")
    iam = raw["requestContext"]["authorizer"]["iam"]
    iam["userArn"] = arn
    iam["userId"] = "AROAEXAMPLE:" + arn.rsplit("/", 1)[-1]
    iam["cognitoIdentity"] = cognito
    return raw


def test_iam_cognito_identity_pool_user_is_its_identity_id() -> None:
    cognito = {"amr": ["authenticated"], "identityId": "us-east-1:1234", "identityPoolId": "us-east-1:pool"}
    identity = identify(iam_event(ASSUMED, cognito), "iam", "g")
    assert identity.principal == "us-east-1:1234"
    assert identity.claims["sub"] == "us-east-1:1234"
    assert identity.claims["cognitoIdentityPoolId"] == "us-east-1:pool"
    assert identity.names_resources


def test_iam_assumed_role_session_names_no_resource() -> None:
    identity = identify(iam_event("arn:aws:sts::123456789012:assumed-role/App/alice"), "iam", "g")
    assert not identity.names_resources
    assert "sub" not in identity.claims
    assert "userArn" not in identity.claims


def test_iam_user_names_resources() -> None:
    identity = identify(event("get-token-iam.json"), "iam", "g")
    assert identity.names_resources
    assert identity.claims["sub"] == "AIDAEXAMPLEEXAMPLE"


def test_token_id_of_a_long_principal_fits_momento_and_stays_traceable() -> None:
    arn = "arn:aws:sts::123456789012:assumed-role/a-rather-long-role-name-for-services/" + "s" * 40
    identity = identify(iam_event(arn), "iam", "g")
    assert len(arn) > 64
    assert len(identity.token_id) <= 64
    assert identity.token_id.startswith(arn[-47:])
    assert token_id(arn) != token_id(arn[:-1] + "t")


@pytest.mark.parametrize(
    "principal", ["a" * 64, "a" * 65, "x\ud800", "\u00e9" * 80, "with space", "", "~", "a/b:c@d"]
)
def test_token_id_rules(principal: str) -> None:
    tid = token_id(principal)
    assert len(tid) <= 64
    assert tid.isascii()
    if len(principal) <= 64 and principal and all(c.isalnum() or c in "._:/@+=-" for c in principal):
        assert tid == principal
    else:
        assert tid != principal
        assert "~" in tid


def test_iam_assumed_role_gets_nothing_from_sub_or_principal_placeholders() -> None:
    from vendor.policy import Policy

    policy = Policy.from_json(
        {
            "rules": [
                {
                    "allow": [
                        {"cache": "c", "keyPrefix": "user-{sub}-", "role": "read_write"},
                        {"cache": "c", "keyPrefix": "p-{principal}/", "role": "read_write"},
                        {"cache": "c", "topic": "t-{claims.userArn}", "role": "publish_subscribe"},
                        {"cache": "public", "role": "read_only"},
                    ]
                }
            ]
        },
        3600,
    )
    chooser = identify(iam_event("arn:aws:sts::123456789012:assumed-role/App/victim"), "iam", "g")
    assert [a.permission.cache for a in policy.allowances(chooser)] == ["public"]
    named = identify(event("get-token-iam.json"), "iam", "g")
    assert len(policy.allowances(named)) == 3  # the ARN holds "/", the p-{principal}/ delimiter
