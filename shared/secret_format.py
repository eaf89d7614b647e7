"""The master secret: read every shape users already store, write rotations back the same way.

Users switch to this product without touching their secret, and whatever else reads the
secret (the seed's TVM, Momento's refresh Lambda, a script) keeps working after a rotation,
so a rotated value is written in the shape it was read in, with unknown fields kept verbatim.

Shapes (the JSON shapes differ only in the name of the key field; the other fields use the
console's names in all of them):

- `SEED`: `{"momento": "<key>"}` (seed 001's TVM).
- `RUST_TVM`: `{"momentoSecret": "<key>"}` (Momento's Rust TVM example); written like `SEED`.
- `REFRESH_LAMBDA`: `{"authToken", "refreshToken", "validUntil"}`, validUntil a string of
  epoch seconds (Momento's `api-key-refresh-lambda`); always written back as a string.
- `CONSOLE`: the console's "Download JSON", `{"apiKey", "refreshToken", "validUntil"}` plus
  `endpoint` for v2 keys; a v2 key also keeps `keyId` and optional `roleId` here.
- `PLAIN`: the bare key as the whole secret string (Momento's Secrets Manager guide).

All JSON shapes accept the optional fields `refreshToken`, `validUntil`, `endpoint`, `keyId`,
`roleId`; they are written only when set (null, "" and the refresh Lambda's "undefined" mean
absent). `validUntil` may be a number or a string of digits
and is written back in the type it was read in (0 or absent means no stored expiry; then the
key's JWT `exp` claim is used). A stored 0 ("never expires", as Momento's refresh Lambda writes
it) is written back as 0 while the key still never expires, so readers that require the field
keep finding it. In `SEED`/`RUST_TVM` it is written only when the JWT cannot tell it.

`PLAIN` holds nothing but the key: `fields_lost_on_render()` names what a render would
drop, so a rotation can log it. A plain secret never stores a refresh token, so it is
rotated by `generate` (the refresh token Momento returns with the new key is dropped) and
never spends one it could not store.

A v2 key (JWT claim `t == "g"`) needs its endpoint. A v2 key in a shape without `endpoint`
(a bare seed or plain secret) still parses, because other readers of that secret may use
it; it is rejected only when used as a v2 master key: the Momento access layer raises
`MomentoInvalidRequestError` before any call. The fix is to add `endpoint` (seed/console
JSON) to the secret.

Every problem raises `SecretFormatError(secret_id, problem)`; no message, cause or repr
ever contains the secret's value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from shared.errors import SecretFormatError
from shared.key_claims import read_claims
from shared.momento_types import IssuedKey, MasterKey


class SecretShape(StrEnum):
    SEED = "seed"
    RUST_TVM = "rust_tvm"
    REFRESH_LAMBDA = "refresh_lambda"
    CONSOLE = "console"
    PLAIN = "plain"


class KeyGeneration(StrEnum):
    V1 = "v1"
    V2 = "v2"


#: The field holding the key in each JSON shape.
KEY_FIELDS: Mapping[SecretShape, str] = MappingProxyType(
    {
        SecretShape.SEED: "momento",
        SecretShape.RUST_TVM: "momentoSecret",
        SecretShape.REFRESH_LAMBDA: "authToken",
        SecretShape.CONSOLE: "apiKey",
    }
)
#: Shapes that store only the key: validUntil is written only when the JWT cannot tell it.
_KEY_ONLY_SHAPES = frozenset({SecretShape.SEED, SecretShape.RUST_TVM})
REFRESH_TOKEN = "refreshToken"
VALID_UNTIL = "validUntil"
ENDPOINT = "endpoint"
KEY_ID = "keyId"
ROLE_ID = "roleId"
_OPTIONAL_FIELDS = (REFRESH_TOKEN, VALID_UNTIL, ENDPOINT, KEY_ID, ROLE_ID)
_KNOWN_FIELDS = frozenset(KEY_FIELDS.values()) | frozenset(_OPTIONAL_FIELDS)
#: Largest accepted validUntil: 9999-12-31. Anything above is most likely milliseconds.
_MAX_EPOCH_SECONDS = 253_402_300_799
#: Values meaning "absent". Momento's refresh Lambda builds its JSON with a template string,
#: so a field it never had is written as the text "undefined".
_ABSENT = frozenset({"", "undefined", "null"})


@dataclass(frozen=True)
class MasterSecret:
    """One master key with what rotating it needs, plus how to write it back."""

    api_key: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    #: Epoch seconds; None = never expires / unknown.
    valid_until: int | None
    #: Epoch seconds from the key's JWT `iat` claim (unverified), else None.
    issued_at: int | None
    endpoint: str | None
    key_id: str | None
    role_id: str | None
    shape: SecretShape
    #: Unknown top-level fields, kept verbatim.
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False)
    #: validUntil was stored as a string (always true for REFRESH_LAMBDA); kept to write it back alike.
    valid_until_text: bool = False
    #: validUntil was stored as 0 (never expires); written back as 0 while valid_until is None.
    valid_until_zero: bool = False

    def __post_init__(self) -> None:
        # Normalised so that equal secrets render equal: known names never hide in `extra`,
        # and the text flag only matters where validUntil is actually written.
        extra = {name: value for name, value in self.extra.items() if name not in _KNOWN_FIELDS}
        object.__setattr__(self, "extra", MappingProxyType(extra))
        if self.valid_until is not None or self.shape is SecretShape.PLAIN:
            object.__setattr__(self, "valid_until_zero", False)
        if self.shape is SecretShape.REFRESH_LAMBDA:
            object.__setattr__(self, "valid_until_text", True)
        elif not _writes_valid_until(self):
            object.__setattr__(self, "valid_until_text", False)

    def __repr__(self) -> str:
        extra_names = sorted(self.extra)
        return (
            f"MasterSecret(shape={self.shape.value}, generation={self.generation.value}, "
            f"api_key=<redacted>, refresh_token={'<redacted>' if self.refresh_token else None}, "
            f"valid_until={self.valid_until}, issued_at={self.issued_at}, endpoint={self.endpoint!r}, "
            f"key_id={self.key_id!r}, role_id={self.role_id!r}, extra_fields={extra_names!r})"
        )

    __str__ = __repr__

    @property
    def generation(self) -> KeyGeneration:
        return KeyGeneration.V2 if read_claims(self.api_key).is_v2 else KeyGeneration.V1

    def master_key(self) -> MasterKey:
        return MasterKey(api_key=self.api_key, endpoint=self.endpoint)

    def with_issued_key(self, issued: IssuedKey) -> MasterSecret:
        """The same secret (shape, unknown fields) holding new key material.

        A v1 refresh returns an endpoint too; it is stored only when the secret already
        stored one (v1 keys carry their endpoints), while a v2 key always keeps it.
        """
        claims = read_claims(issued.api_key)
        keep_endpoint = claims.is_v2 or self.endpoint is not None
        endpoint = issued.endpoint if keep_endpoint and issued.endpoint else self.endpoint
        role_id = issued.role_id
        if role_id is None and claims.is_v2:
            role_id = self.role_id
        return replace(
            self,
            api_key=issued.api_key,
            refresh_token=issued.refresh_token,
            valid_until=issued.valid_until if issued.valid_until is not None else claims.expires_at,
            issued_at=claims.issued_at,
            endpoint=endpoint,
            key_id=issued.key_id,
            role_id=role_id,
        )

    def fields_lost_on_render(self) -> tuple[str, ...]:
        """Names of the fields `render_secret` cannot store in this shape (only PLAIN loses any)."""
        if self.shape is not SecretShape.PLAIN:
            return ()
        lost: list[str] = []
        if self.refresh_token is not None:
            lost.append(REFRESH_TOKEN)
        if self.valid_until is not None and self.valid_until != read_claims(self.api_key).expires_at:
            lost.append(VALID_UNTIL)
        for name, value in ((ENDPOINT, self.endpoint), (KEY_ID, self.key_id), (ROLE_ID, self.role_id)):
            if value is not None:
                lost.append(name)
        return tuple(lost)


# --- parsing ----------------------------------------------------------------------------------


def parse_secret(secret_id: str, secret_string: str | None) -> MasterSecret:
    """Read a master secret in any supported shape; raises `SecretFormatError` otherwise."""
    if secret_string is None:
        raise SecretFormatError(
            secret_id, "the version has no SecretString (no value stored yet, or a binary secret)"
        )
    text = secret_string.strip()
    if not text:
        raise SecretFormatError(secret_id, "it is empty")
    is_json, document = _decode_json(secret_id, text)
    if not is_json:
        return _parse_plain(secret_id, text)
    if not isinstance(document, dict):
        raise SecretFormatError(secret_id, f"it is JSON but not an object (a {_json_type(document)})")
    return _parse_object(secret_id, document)


def _decode_json(secret_id: str, text: str) -> tuple[bool, Any]:
    """(True, value) for JSON, (False, None) for what can only be a plain-string key."""
    try:
        return True, json.loads(text)
    except json.JSONDecodeError as exc:
        if text[0] not in '{["':
            return False, None
        # msg and position only, and `from None`: the JSONDecodeError carries the whole value.
        raise SecretFormatError(
            secret_id, f"it is not valid JSON ({exc.msg} at position {exc.pos})"
        ) from None


def _json_type(value: Any) -> str:
    names = {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _valid_key(value: str) -> bool:
    return bool(value) and value.isascii() and value.isprintable() and not any(c.isspace() for c in value)


def _parse_plain(secret_id: str, text: str) -> MasterSecret:
    if not _valid_key(text):
        raise SecretFormatError(
            secret_id, "a plain-string key must be one word of printable ASCII (no spaces or line breaks)"
        )
    claims = read_claims(text)
    return MasterSecret(
        api_key=text,
        refresh_token=None,
        valid_until=claims.expires_at,
        issued_at=claims.issued_at,
        endpoint=None,
        key_id=None,
        role_id=None,
        shape=SecretShape.PLAIN,
    )


def _shape_of(secret_id: str, document: dict[str, Any]) -> SecretShape:
    shapes = [shape for shape, name in KEY_FIELDS.items() if name in document]
    if not shapes:
        expected = ", ".join(repr(name) for name in KEY_FIELDS.values())
        raise SecretFormatError(secret_id, f"it has no key field (expected one of {expected})")
    if len(shapes) > 1:
        names = ", ".join(repr(KEY_FIELDS[shape]) for shape in shapes)
        raise SecretFormatError(secret_id, f"it has several key fields ({names}); keep exactly one")
    return shapes[0]


def _optional_str(secret_id: str, document: dict[str, Any], name: str) -> str | None:
    value = document.get(name)
    if value is None or (isinstance(value, str) and value in _ABSENT):
        return None
    if not isinstance(value, str):
        raise SecretFormatError(secret_id, f"field {name!r} must be a string, not a {_json_type(value)}")
    if not _valid_key(value):
        raise SecretFormatError(secret_id, f"field {name!r} must be printable ASCII without spaces")
    return value


def _valid_until(secret_id: str, document: dict[str, Any]) -> tuple[int | None, bool, bool]:
    """(epoch seconds or None, stored as text, stored as 0)."""
    value = document.get(VALID_UNTIL)
    if value is None or (isinstance(value, str) and value in _ABSENT):
        return None, False, False
    as_text = isinstance(value, str)
    if as_text:
        if not (value.isascii() and value.isdigit()):
            raise SecretFormatError(secret_id, f"field {VALID_UNTIL!r} is not a string of epoch seconds")
        seconds = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, float) and value.is_integer():
        seconds = int(value)
    else:
        raise SecretFormatError(
            secret_id, f"field {VALID_UNTIL!r} must be whole epoch seconds, not a {_json_type(value)}"
        )
    if seconds < 0 or seconds > _MAX_EPOCH_SECONDS:
        raise SecretFormatError(secret_id, f"field {VALID_UNTIL!r} is out of range for epoch seconds")
    return (seconds or None), as_text, seconds == 0


def _parse_object(secret_id: str, document: dict[str, Any]) -> MasterSecret:
    shape = _shape_of(secret_id, document)
    key_field = KEY_FIELDS[shape]
    api_key = document[key_field]
    if not isinstance(api_key, str) or not _valid_key(api_key):
        raise SecretFormatError(
            secret_id, f"field {key_field!r} must be a non-empty string of printable ASCII without spaces"
        )
    valid_until, as_text, zero = _valid_until(secret_id, document)
    claims = read_claims(api_key)
    return MasterSecret(
        api_key=api_key,
        refresh_token=_optional_str(secret_id, document, REFRESH_TOKEN),
        valid_until=valid_until if valid_until is not None else claims.expires_at,
        issued_at=claims.issued_at,
        endpoint=_optional_str(secret_id, document, ENDPOINT),
        key_id=_optional_str(secret_id, document, KEY_ID),
        role_id=_optional_str(secret_id, document, ROLE_ID),
        shape=shape,
        extra=document,
        valid_until_text=as_text,
        valid_until_zero=zero,
    )


# --- rendering --------------------------------------------------------------------------------


def render_secret(secret: MasterSecret) -> str:
    """The SecretString for `secret`, in its shape; `parse_secret` reads it back equal."""
    if secret.shape is SecretShape.PLAIN:
        return secret.api_key
    document: dict[str, Any] = {KEY_FIELDS[secret.shape]: secret.api_key}
    if secret.refresh_token is not None:
        document[REFRESH_TOKEN] = secret.refresh_token
    if _writes_valid_until(secret):
        until = secret.valid_until or 0
        document[VALID_UNTIL] = str(until) if secret.valid_until_text else until
    for name, value in ((ENDPOINT, secret.endpoint), (KEY_ID, secret.key_id), (ROLE_ID, secret.role_id)):
        if value is not None:
            document[name] = value
    for name, value in secret.extra.items():
        document.setdefault(name, value)
    return json.dumps(document)


def _writes_valid_until(secret: MasterSecret) -> bool:
    if secret.shape is SecretShape.PLAIN:
        return False
    if secret.valid_until is None:
        return secret.valid_until_zero
    if secret.shape in _KEY_ONLY_SHAPES:
        return secret.valid_until != read_claims(secret.api_key).expires_at
    return True
