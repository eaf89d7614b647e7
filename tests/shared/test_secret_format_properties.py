"""Round-trip properties of the secret format, over generated secrets of every shape."""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.errors import SecretFormatError
from shared.key_claims import read_claims
from shared.secret_format import KEY_FIELDS, MasterSecret, SecretShape, parse_secret, render_secret
from tests.shared.jwt_keys import make_jwt

SECRET_ID = "momento/master"
KNOWN = {"momento", "authToken", "apiKey", "refreshToken", "validUntil", "endpoint", "keyId", "roleId"}

words = st.text(alphabet=string.ascii_letters + string.digits + "-_.:/", min_size=1, max_size=24).filter(
    lambda word: word not in {"undefined", "null"}
)
epochs = st.integers(min_value=1, max_value=4_102_444_800)
json_leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=10)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
extras = st.dictionaries(st.text(max_size=12).filter(lambda name: name not in KNOWN), json_values, max_size=4)


@st.composite
def api_keys(draw: st.DrawFn) -> str:
    """JWT-shaped v1 or v2 keys with or without iat/exp, or opaque keys."""
    if draw(st.booleans()):
        return draw(words)
    claims: dict[str, Any] = {}
    if draw(st.booleans()):
        claims["t"] = "g"
    if draw(st.booleans()):
        claims["iat"] = draw(epochs)
    if draw(st.booleans()):
        claims["exp"] = draw(epochs)
    return make_jwt(claims)


@st.composite
def documents(draw: st.DrawFn) -> tuple[SecretShape, dict[str, Any]]:
    """A JSON secret as a user might store it (canonical types, so it renders back identically)."""
    shape = draw(st.sampled_from([s for s in SecretShape if s is not SecretShape.PLAIN]))
    document: dict[str, Any] = dict(draw(extras))
    document[KEY_FIELDS[shape]] = draw(api_keys())
    for name in ("refreshToken", "endpoint", "keyId", "roleId"):
        if draw(st.booleans()):
            document[name] = draw(words)
    if draw(st.booleans()):
        seconds = draw(epochs)
        as_text = shape is SecretShape.REFRESH_LAMBDA or draw(st.booleans())
        document["validUntil"] = str(seconds) if as_text else seconds
    return shape, document


@given(documents())
def test_parse_render_parse_is_stable_and_keeps_unknown_fields(
    case: tuple[SecretShape, dict[str, Any]],
) -> None:
    shape, document = case

    secret = parse_secret(SECRET_ID, json.dumps(document))
    rendered = json.loads(render_secret(secret))

    assert secret.shape is shape
    assert parse_secret(SECRET_ID, render_secret(secret)) == secret
    for name, value in document.items():
        if name not in KNOWN:
            assert rendered[name] == value
    # Every stored field comes back with its type, except a seed's validUntil equal to the JWT's exp.
    for name, value in document.items():
        if name in rendered:
            assert rendered[name] == value
        else:
            assert shape in (SecretShape.SEED, SecretShape.RUST_TVM)
            assert name == "validUntil"
            assert secret.valid_until == int(value)


@st.composite
def master_secrets(draw: st.DrawFn) -> MasterSecret:
    """Secrets built directly, as a rotation builds them (PLAIN holds only a key)."""
    shape = draw(st.sampled_from(list(SecretShape)))
    key = draw(api_keys())
    if shape is SecretShape.PLAIN:
        return parse_secret(SECRET_ID, key if key.startswith("eyJ") else f"key-{key}")
    optional = st.none() | words
    return MasterSecret(
        api_key=key,
        refresh_token=draw(optional),
        valid_until=draw(st.none() | epochs),
        issued_at=None,
        endpoint=draw(optional),
        key_id=draw(optional),
        role_id=draw(optional),
        shape=shape,
        extra=draw(extras),
        valid_until_text=draw(st.booleans()),
    )


@given(master_secrets())
def test_render_then_parse_returns_the_same_secret(secret: MasterSecret) -> None:
    parsed = parse_secret(SECRET_ID, render_secret(secret))

    expected_valid_until = secret.valid_until
    if expected_valid_until is None:
        # With nothing stored, the reader falls back to the key's own exp claim.
        expected_valid_until = read_claims(secret.api_key).expires_at
    assert parsed.shape is secret.shape
    assert parsed.api_key == secret.api_key
    assert parsed.refresh_token == secret.refresh_token
    assert parsed.valid_until == expected_valid_until
    assert (parsed.endpoint, parsed.key_id, parsed.role_id) == (
        secret.endpoint,
        secret.key_id,
        secret.role_id,
    )
    assert parsed.extra == secret.extra
    assert parse_secret(SECRET_ID, render_secret(parsed)) == parsed


secret_texts = st.text(max_size=60) | json_values.map(json.dumps) | extras.map(json.dumps)


@st.composite
def near_miss_documents(draw: st.DrawFn) -> str:
    """JSON objects with the known field names holding values of any type."""
    names = st.sampled_from(sorted(KNOWN))
    return json.dumps(draw(st.dictionaries(names, json_values, min_size=1, max_size=4)))


@given(secret_texts | near_miss_documents())
def test_any_input_parses_or_raises_secret_format_error_only(text: str) -> None:
    failure: SecretFormatError | None = None
    try:
        secret = parse_secret(SECRET_ID, text)
    except SecretFormatError as error:
        failure = error
    if failure is None:
        assert parse_secret(SECRET_ID, render_secret(secret)) == secret
    else:
        assert failure.secret_id == SECRET_ID
        assert failure.__cause__ is None
