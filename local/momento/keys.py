"""Key and token formats, as the SDK parses them (`momento/auth/momento_endpoint_resolver.py`).

- v1 API key: JWT (HS256, per-server secret) with `c` (cache endpoint), `cp` (control endpoint),
  `iat`, `exp` (absent for never-expiring keys) and `jti` (key id).
- v2 API key: JWT with `t` = `g` (global key, no endpoints), `jti`, `iat`, `exp` (optional).
- Disposable token api_key: a JWT shaped like a v1 key (so `from_string` would also parse it) with
  `typ` = `disposable`; the SDK wraps it with the endpoint as base64 JSON `{"endpoint","api_key"}`.
- Refresh tokens are opaque random strings.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid

import jwt


def new_id() -> str:
    return uuid.uuid4().hex


def new_refresh_token() -> str:
    return "mrt_" + secrets.token_urlsafe(32)


def _encode(claims: dict[str, object], secret: bytes) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def v1_key(secret: bytes, *, key_id: str, endpoint: str, issued_at: int, expires_at: int | None) -> str:
    claims: dict[str, object] = {
        "c": f"cache.{endpoint}",
        "cp": f"control.{endpoint}",
        "iat": issued_at,
        "jti": key_id,
    }
    if expires_at is not None:
        claims["exp"] = expires_at
    return _encode(claims, secret)


def v2_key(secret: bytes, *, key_id: str, issued_at: int, expires_at: int | None) -> str:
    claims: dict[str, object] = {"t": "g", "iat": issued_at, "jti": key_id}
    if expires_at is not None:
        claims["exp"] = expires_at
    return _encode(claims, secret)


def disposable_token(secret: bytes, *, key_id: str, endpoint: str, issued_at: int, expires_at: int) -> str:
    claims: dict[str, object] = {
        "c": f"cache.{endpoint}",
        "cp": f"control.{endpoint}",
        "iat": issued_at,
        "exp": expires_at,
        "jti": key_id,
        "typ": "disposable",
    }
    return _encode(claims, secret)


def wrap_disposable(api_key: str, endpoint: str) -> str:
    """What the SDK hands to apps: base64 of `{"endpoint", "api_key"}`."""
    return base64.b64encode(json.dumps({"endpoint": endpoint, "api_key": api_key}).encode()).decode()


def unwrap(token: str) -> str:
    """Accept a bare key or a base64-wrapped token (`{"endpoint","api_key"}`); return the bare key."""
    if "." in token:
        return token
    try:
        info = json.loads(base64.b64decode(token, validate=True))
    except (ValueError, UnicodeDecodeError):
        return token
    if isinstance(info, dict) and isinstance(info.get("api_key"), str):
        return str(info["api_key"])
    return token


def verify(secret: bytes, token: str) -> dict[str, object] | None:
    """The claims if the signature is ours (expiry is checked by the caller against the server clock)."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"verify_exp": False, "verify_iat": False}
        )
    except jwt.PyJWTError:
        return None
    return dict(claims)
