"""Read the unverified claims of a Momento API key, without any dependency.

The secret format needs a key's `iat`, `exp` and type claim `t` to tell v1 from v2 keys and
to learn an expiry the secret does not store. Nothing here verifies a signature: Momento
does that on every call; these claims only steer which API we call and when we rotate.

Momento keys come in two wrappings: a bare JWT (legacy and v2 keys) and base64 of JSON
`{"endpoint", "api_key"}` (refreshed v1 keys, as Momento's JS SDK returns them) whose
`api_key` is the JWT.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

#: Claim `t` of a v2 ("global") API key.
V2_KEY_TYPE = "g"


@dataclass(frozen=True)
class KeyClaims:
    issued_at: int | None
    expires_at: int | None
    key_type: str | None
    #: Endpoint carried by the base64 JSON wrapping of a v1 key, if any.
    wrapped_endpoint: str | None = None

    @property
    def is_v2(self) -> bool:
        return self.key_type == V2_KEY_TYPE


NO_CLAIMS = KeyClaims(issued_at=None, expires_at=None, key_type=None)


def _b64url_json(part: str) -> Any:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))


def _jwt_payload(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = _b64url_json(parts[1])
    except (ValueError, UnicodeError, binascii.Error):
        return None
    return payload if isinstance(payload, dict) else None


def _unwrap(key: str) -> tuple[str, str | None]:
    """Return the inner JWT and endpoint of a base64-JSON-wrapped key, or the key itself."""
    if "." in key:
        return key, None
    try:
        decoded = json.loads(base64.b64decode(key.encode("ascii"), validate=True))
    except (ValueError, UnicodeError, binascii.Error):
        return key, None
    if isinstance(decoded, dict) and isinstance(decoded.get("api_key"), str):
        endpoint = decoded.get("endpoint")
        return decoded["api_key"], endpoint if isinstance(endpoint, str) else None
    return key, None


def _int_claim(payload: dict[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def read_claims(key: str) -> KeyClaims:
    """The key's claims, or `NO_CLAIMS` when it is not a readable JWT (never raises)."""
    inner, endpoint = _unwrap(key)
    payload = _jwt_payload(inner)
    if payload is None:
        return KeyClaims(None, None, None, endpoint)
    key_type = payload.get("t")
    return KeyClaims(
        issued_at=_int_claim(payload, "iat"),
        expires_at=_int_claim(payload, "exp"),
        key_type=key_type if isinstance(key_type, str) else None,
        wrapped_endpoint=endpoint,
    )
