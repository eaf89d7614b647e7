"""Unsigned JWT-shaped keys for tests: Momento's keys are JWTs, and only their claims matter here."""

from __future__ import annotations

import base64
import json
from typing import Any


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims: dict[str, Any]) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64url(json.dumps(claims).encode())
    return f"{header}.{payload}.{_b64url(b'not-a-real-signature')}"


def v1_key(iat: int = 1_700_000_000, exp: int | None = 1_700_086_400, **claims: Any) -> str:
    body: dict[str, Any] = {"sub": "user@example.com", "cp": "control.example", "c": "cache.example"}
    body["iat"] = iat
    if exp is not None:
        body["exp"] = exp
    body.update(claims)
    return make_jwt(body)


def v2_key(iat: int = 1_700_000_000, exp: int | None = None) -> str:
    body: dict[str, Any] = {"t": "g", "iat": iat, "id": "key-id"}
    if exp is not None:
        body["exp"] = exp
    return make_jwt(body)


def wrapped_v1_key(endpoint: str = "cell-1.example", **claims: Any) -> str:
    """A refreshed v1 key as Momento returns it: base64 of JSON {endpoint, api_key}."""
    inner = v1_key(**claims)
    return base64.b64encode(json.dumps({"endpoint": endpoint, "api_key": inner}).encode()).decode("ascii")
