"""The master secret format: every shape users have, written back unchanged in shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.errors import SecretFormatError
from shared.momento_types import IssuedKey, MasterKey
from shared.secret_format import KeyGeneration, MasterSecret, SecretShape, parse_secret, render_secret
from tests.shared.jwt_keys import v1_key, v2_key, wrapped_v1_key

SECRET_ID = "arn:aws:secretsmanager:us-east-1:123456789012:secret:momento-master-AbCdEf"
KEY = v1_key(iat=1_700_000_000, exp=1_700_086_400)
REFRESH = "refresh-token-0123456789"


def roundtrip_document(document: dict[str, Any]) -> dict[str, Any]:
    rendered: dict[str, Any] = json.loads(render_secret(parse_secret(SECRET_ID, json.dumps(document))))
    return rendered


# --- reading each shape -----------------------------------------------------------------------


def test_seed_shape() -> None:
    secret = parse_secret(SECRET_ID, json.dumps({"momento": KEY}))

    assert secret.shape is SecretShape.SEED
    assert secret.api_key == KEY
    assert secret.refresh_token is None
    assert secret.valid_until == 1_700_086_400  # from the JWT's exp claim
    assert secret.issued_at == 1_700_000_000
    assert secret.generation is KeyGeneration.V1
    assert json.loads(render_secret(secret)) == {"momento": KEY}


def test_refresh_lambda_shape_keeps_valid_until_a_string() -> None:
    document = {"authToken": KEY, "refreshToken": REFRESH, "validUntil": "1700090000"}

    secret = parse_secret(SECRET_ID, json.dumps(document))

    assert secret.shape is SecretShape.REFRESH_LAMBDA
    assert secret.refresh_token == REFRESH
    assert secret.valid_until == 1_700_090_000  # the stored field wins over the JWT
    assert roundtrip_document(document) == document


def test_refresh_lambda_shape_accepts_a_numeric_valid_until_and_writes_a_string() -> None:
    document = {"authToken": KEY, "refreshToken": REFRESH, "validUntil": 1_700_090_000}

    assert roundtrip_document(document)["validUntil"] == "1700090000"


def test_console_shape_v1_keeps_the_number_type() -> None:
    document = {"apiKey": KEY, "refreshToken": REFRESH, "validUntil": 1_700_090_000}

    secret = parse_secret(SECRET_ID, json.dumps(document))

    assert secret.shape is SecretShape.CONSOLE
    assert secret.generation is KeyGeneration.V1
    assert roundtrip_document(document) == document


def test_console_shape_v2_with_endpoint_key_id_and_role() -> None:
    key = v2_key()
    document = {"apiKey": key, "endpoint": "cell-1.example", "keyId": "k-1", "roleId": "r-1"}

    secret = parse_secret(SECRET_ID, json.dumps(document))

    assert secret.generation is KeyGeneration.V2
    assert (secret.endpoint, secret.key_id, secret.role_id) == ("cell-1.example", "k-1", "r-1")
    assert secret.valid_until is None
    assert secret.master_key() == MasterKey(api_key=key, endpoint="cell-1.example")
    assert roundtrip_document(document) == document


def test_plain_string_key_with_surrounding_whitespace() -> None:
    secret = parse_secret(SECRET_ID, f"  {KEY}\n")

    assert secret.shape is SecretShape.PLAIN
    assert secret.api_key == KEY
    assert secret.valid_until == 1_700_086_400
    assert render_secret(secret) == KEY


def test_plain_string_key_that_is_not_a_jwt() -> None:
    secret = parse_secret(SECRET_ID, "opaque-key")

    assert (secret.valid_until, secret.issued_at, secret.generation) == (None, None, KeyGeneration.V1)


def test_base64_wrapped_v1_key_claims_are_read() -> None:
    key = wrapped_v1_key(iat=1_700_000_123, exp=1_700_000_999)

    secret = parse_secret(SECRET_ID, key)

    assert (secret.issued_at, secret.valid_until) == (1_700_000_123, 1_700_000_999)


def test_v2_key_in_seed_shape_parses_without_endpoint() -> None:
    # Decision: readable (other readers may use it); the access layer refuses it as a v2 master key.
    secret = parse_secret(SECRET_ID, json.dumps({"momento": v2_key()}))

    assert secret.generation is KeyGeneration.V2
    assert secret.master_key().endpoint is None


def test_unknown_fields_are_kept_verbatim() -> None:
    document = {"momento": KEY, "app": {"nested": [1, 2, None]}, "note": "keep me", "n": 1.5}

    secret = parse_secret(SECRET_ID, json.dumps(document))

    assert dict(secret.extra) == {"app": {"nested": [1, 2, None]}, "note": "keep me", "n": 1.5}
    assert roundtrip_document(document) == document


@pytest.mark.parametrize("empty", [None, "", "undefined", "null"])
def test_empty_optional_fields_mean_absent(empty: str | None) -> None:
    document = {"apiKey": KEY, "refreshToken": empty, "validUntil": empty, "endpoint": empty}

    secret = parse_secret(SECRET_ID, json.dumps(document))

    assert (secret.refresh_token, secret.endpoint) == (None, None)
    assert secret.valid_until == 1_700_086_400


def test_valid_until_zero_means_no_stored_expiry() -> None:
    secret = parse_secret(SECRET_ID, json.dumps({"apiKey": v2_key(), "validUntil": 0, "endpoint": "e.x"}))

    assert secret.valid_until is None


# --- rejections -------------------------------------------------------------------------------

SENSITIVE = "SENSITIVEvalue0123456789"


@pytest.mark.parametrize(
    ("secret_string", "problem"),
    [
        (None, "binary"),
        ("", "empty"),
        ("   \n", "empty"),
        (f'{{"momento": "{SENSITIVE}"', "not valid JSON"),
        (f'["{SENSITIVE}"]', "not an object"),
        (f'"{SENSITIVE}"', "not an object"),
        ("12345", "not an object"),
        ("null", "not an object"),
        (f"{SENSITIVE} with spaces", "plain-string key"),
        (json.dumps({"other": SENSITIVE}), "no key field"),
        (json.dumps({"momento": SENSITIVE, "apiKey": SENSITIVE}), "several key fields"),
        (json.dumps({"momento": ""}), "'momento' must be a non-empty string"),
        (json.dumps({"apiKey": 12345}), "'apiKey' must be a non-empty string"),
        (json.dumps({"apiKey": f"{SENSITIVE} x"}), "'apiKey' must be a non-empty string"),
        (json.dumps({"authToken": SENSITIVE, "refreshToken": 5}), "'refreshToken' must be a string"),
        (json.dumps({"apiKey": SENSITIVE, "endpoint": ["x"]}), "'endpoint' must be a string"),
        (json.dumps({"apiKey": SENSITIVE, "keyId": f"{SENSITIVE} x"}), "'keyId' must be printable"),
        (json.dumps({"authToken": SENSITIVE, "validUntil": "tomorrow"}), "not a string of epoch seconds"),
        (json.dumps({"authToken": SENSITIVE, "validUntil": "-5"}), "not a string of epoch seconds"),
        (json.dumps({"authToken": SENSITIVE, "validUntil": 1.5}), "whole epoch seconds"),
        (json.dumps({"authToken": SENSITIVE, "validUntil": True}), "whole epoch seconds"),
        (json.dumps({"authToken": SENSITIVE, "validUntil": [1]}), "whole epoch seconds"),
        (json.dumps({"authToken": SENSITIVE, "refreshToken": {"a": 1}}), "'refreshToken' must be a string"),
        (json.dumps({"authToken": SENSITIVE, "validUntil": -1}), "out of range"),
        (json.dumps({"authToken": SENSITIVE, "validUntil": 1_700_000_000_000}), "out of range"),
    ],
)
def test_rejections_name_the_secret_and_never_echo_the_value(secret_string: str | None, problem: str) -> None:
    with pytest.raises(SecretFormatError) as caught:
        parse_secret(SECRET_ID, secret_string)

    error = caught.value
    assert error.secret_id == SECRET_ID
    assert SECRET_ID in str(error)
    assert problem in error.problem
    for text in (str(error), repr(error), error.problem):
        assert SENSITIVE not in text
    assert error.__cause__ is None
    assert error.__suppress_context__ is True or error.__context__ is None


# --- repr, rotation ---------------------------------------------------------------------------


def test_repr_and_str_hide_key_refresh_token_and_extra_values() -> None:
    secret = parse_secret(
        SECRET_ID, json.dumps({"apiKey": KEY, "refreshToken": REFRESH, "custom": SENSITIVE})
    )

    for text in (repr(secret), str(secret), f"{secret}"):
        assert KEY not in text
        assert REFRESH not in text
        assert SENSITIVE not in text
        assert "custom" in text  # field names are fine, values are not


def test_with_issued_key_keeps_shape_and_extra_and_takes_new_material() -> None:
    original = parse_secret(
        SECRET_ID, json.dumps({"authToken": KEY, "refreshToken": REFRESH, "validUntil": "1", "x": 1})
    )
    new_key = v1_key(iat=1_800_000_000, exp=1_800_086_400)

    rotated = original.with_issued_key(
        IssuedKey(api_key=new_key, refresh_token="next", valid_until=1_800_086_400, endpoint="cell.example")
    )

    assert rotated.shape is SecretShape.REFRESH_LAMBDA
    assert rotated.issued_at == 1_800_000_000
    assert rotated.endpoint is None  # a v1 secret that stored no endpoint keeps storing none
    assert json.loads(render_secret(rotated)) == {
        "authToken": new_key,
        "refreshToken": "next",
        "validUntil": "1800086400",
        "x": 1,
    }
    assert parse_secret(SECRET_ID, render_secret(rotated)) == rotated


def test_with_issued_v2_key_stores_endpoint_and_key_id() -> None:
    original = parse_secret(SECRET_ID, json.dumps({"apiKey": KEY, "refreshToken": REFRESH}))
    new_key = v2_key(iat=1_800_000_000, exp=1_900_000_000)

    rotated = original.with_issued_key(
        IssuedKey(new_key, None, 1_900_000_000, endpoint="cell-2.example", key_id="k2", role_id="r2")
    )

    assert rotated.generation is KeyGeneration.V2
    assert json.loads(render_secret(rotated)) == {
        "apiKey": new_key,
        "validUntil": 1_900_000_000,
        "endpoint": "cell-2.example",
        "keyId": "k2",
        "roleId": "r2",
    }


def test_plain_shape_reports_what_a_render_would_lose() -> None:
    plain = parse_secret(SECRET_ID, KEY)
    assert plain.fields_lost_on_render() == ()

    rotated = plain.with_issued_key(IssuedKey(v1_key(exp=1_900_000_000), "rt", 1_900_000_000))

    assert rotated.fields_lost_on_render() == ("refreshToken",)
    assert parse_secret(SECRET_ID, json.dumps({"momento": KEY})).fields_lost_on_render() == ()


def test_seed_shape_stores_rotation_fields_with_console_names() -> None:
    seed = parse_secret(SECRET_ID, json.dumps({"momento": KEY}))
    new_key = v1_key(iat=1_800_000_000, exp=1_800_086_400)

    rotated = seed.with_issued_key(IssuedKey(new_key, "rt", 1_800_086_400))

    # validUntil equals the JWT's exp, so the seed shape need not store it.
    assert json.loads(render_secret(rotated)) == {"momento": new_key, "refreshToken": "rt"}


def test_extra_cannot_shadow_known_fields() -> None:
    secret = MasterSecret(
        KEY, None, None, None, None, None, None, SecretShape.CONSOLE, {"apiKey": "x", "y": 2}
    )

    assert dict(secret.extra) == {"y": 2}
    assert json.loads(render_secret(secret))["apiKey"] == KEY


def test_jwt_without_readable_claims_is_just_a_key() -> None:
    broken = "aaa.!!!.bbb"

    secret = parse_secret(SECRET_ID, json.dumps({"momento": broken, "validUntil": 5}))

    assert (secret.issued_at, secret.valid_until) == (None, 5)


# --- drop-in shapes from Momento's own examples (issue 11) -------------------------------------


def test_rust_tvm_shape_is_read_and_written_back_alike() -> None:
    # Momento's Rust TVM example stores {"momentoSecret": "<key>"}.
    document = {"momentoSecret": KEY, "team": "payments"}

    secret = parse_secret(SECRET_ID, json.dumps(document))

    assert secret.shape is SecretShape.RUST_TVM
    assert secret.api_key == KEY
    assert secret.valid_until == 1_700_086_400  # from the JWT
    assert roundtrip_document(document) == document
    issued = IssuedKey(api_key=v1_key(iat=1, exp=2), refresh_token=None, valid_until=2)
    rotated = secret.with_issued_key(issued)
    assert json.loads(render_secret(rotated)) == {"momentoSecret": v1_key(iat=1, exp=2), "team": "payments"}


@pytest.mark.parametrize("zero", ["0", 0])
def test_a_stored_never_expires_zero_is_kept(zero: object) -> None:
    # Momento's refresh Lambda writes "validUntil": "0" for a key that never expires; readers
    # of that secret expect the field, so a rotation writes it back.
    never = v1_key(iat=1_700_000_000, exp=None)
    document = {"authToken": never, "refreshToken": REFRESH, "validUntil": zero}

    secret = parse_secret(SECRET_ID, json.dumps(document))

    assert secret.valid_until is None
    assert roundtrip_document(document)["validUntil"] == "0"  # the refresh Lambda's shape: a string
    successor = v1_key(iat=1_700_000_100, exp=None)
    issued = IssuedKey(api_key=successor, refresh_token="next-rt-0001", valid_until=None)
    rotated = secret.with_issued_key(issued)
    assert json.loads(render_secret(rotated))["validUntil"] == "0"
    # an expiring successor writes its real expiry instead
    expiring = secret.with_issued_key(
        IssuedKey(api_key=KEY, refresh_token="next-refresh-token-2", valid_until=1_700_090_000)
    )
    assert json.loads(render_secret(expiring))["validUntil"] == "1700090000"


def test_console_zero_keeps_its_number_type() -> None:
    document = {"apiKey": v1_key(iat=1_700_000_000, exp=None), "validUntil": 0}
    assert roundtrip_document(document) == document


def test_a_version_without_a_value_names_what_is_missing() -> None:
    with pytest.raises(SecretFormatError, match="no value stored yet"):
        parse_secret(SECRET_ID, None)
