"""Vending as a plain function of its dependencies: identity + request -> grant -> token -> body.

`vendor/app.py` only adapts HTTP to this module, so tests drive it with a moto-backed
`MasterKeySource` and the local Momento server without any event plumbing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shared.errors import BadRequestError, ForbiddenError, MomentoAuthenticationError, PayloadTooLargeError
from shared.momento_types import VendedToken
from shared.permissions import Permission, permissions_from_json
from vendor.identity import Identity
from vendor.master_key import MasterKeySource
from vendor.policy import Grant, Policy
from vendor.token_cache import TokenCache

if TYPE_CHECKING:
    from shared.momento_access import MomentoAccess

audit_logger = logging.getLogger("vendor.audit")

_REQUEST_FIELDS = {"permissions", "ttlSeconds"}


@dataclass(frozen=True)
class VendRequest:
    """What a caller asked for; None fields mean "whatever policy gives me" (GET /token)."""

    permissions: tuple[Permission, ...] | None = None
    ttl_seconds: int | None = None


def parse_request_body(body: bytes | None, max_body_bytes: int) -> VendRequest:
    """A POST body: `{"permissions": [...], "ttlSeconds": N}`, both optional, nothing else.

    Unknown fields are refused (400) rather than ignored, so a typo such as `ttl` does not
    silently turn into a default one-hour token.
    """
    if body is not None and len(body) > max_body_bytes:
        raise PayloadTooLargeError(f"request body is larger than {max_body_bytes} bytes")
    if body is None or not body.strip():
        return VendRequest()
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequestError("request body is not valid JSON") from None
    if not isinstance(raw, dict):
        raise BadRequestError("request body must be a JSON object")
    extra = sorted(set(raw) - _REQUEST_FIELDS)
    if extra:
        names = ", ".join(extra)
        raise BadRequestError(f"unknown request field(s): {names}; expected permissions, ttlSeconds")
    ttl = raw.get("ttlSeconds")
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 1):
        raise BadRequestError("ttlSeconds must be a positive integer")
    permissions = permissions_from_json(raw["permissions"]) if "permissions" in raw else None
    return VendRequest(permissions=permissions, ttl_seconds=ttl)


def cache_key(identity: Identity, grant: Grant) -> str:
    """A digest of (caller, permissions, lifetime): no identity or scope in cache item names."""
    return _cache_key(identity.principal, grant)


@functools.lru_cache(maxsize=10_000)
def _cache_key(principal: str, grant: Grant) -> str:
    """Remembered per (caller, grant): the policy hands a caller the same `Grant` every time."""
    material = json.dumps(
        [principal, grant.permissions_json, grant.ttl_seconds],
        sort_keys=True,
        separators=(",", ":"),
    )
    return "vend-" + hashlib.sha256(material.encode()).hexdigest()


class Vendor:
    """Grants by policy, then reuses or mints; one audit line per vend (and per refusal)."""

    def __init__(
        self,
        policy: Policy,
        master_keys: MasterKeySource,
        access: MomentoAccess,
        tokens: TokenCache,
    ) -> None:
        self._policy = policy
        self._master_keys = master_keys
        self._access = access
        self._tokens = tokens

    def vend(self, identity: Identity, request: VendRequest) -> dict[str, Any]:
        try:
            grant = self._policy.grant(identity, request.permissions, request.ttl_seconds)
        except ForbiddenError as exc:
            audit_logger.warning(
                "vend refused", extra={"audit": {"caller": identity.principal, "reason": str(exc)}}
            )
            raise
        outcome = self._tokens.get_or_mint(cache_key(identity, grant), lambda: self._mint(identity, grant))
        token = outcome.token
        permissions = grant.permissions_json
        audit_logger.info(
            "vended token",
            extra={
                "audit": {
                    "caller": identity.principal,
                    "tokenId": token.token_id,
                    "permissions": permissions,
                    "expiresAt": token.expires_at,
                    "source": outcome.source,
                }
            },
        )
        return response_body(token, permissions)

    def _mint(self, identity: Identity, grant: Grant) -> VendedToken:
        """Mint with the cached key; a refused key means a rotation we have not seen: re-read, retry once."""
        try:
            return self._access.mint_token(
                self._master_keys.get(), grant.permissions, grant.ttl_seconds, identity.token_id
            )
        except MomentoAuthenticationError:
            key = self._master_keys.force_refresh()
            return self._access.mint_token(key, grant.permissions, grant.ttl_seconds, identity.token_id)


def response_body(token: VendedToken, permissions: list[dict[str, str]]) -> dict[str, Any]:
    """Both public TVM shapes: Momento's (`authToken`, `expiresAt`) and the seed's (`token`, `exp`)."""
    return {
        "authToken": token.auth_token,
        "expiresAt": token.expires_at,
        "token": token.auth_token,
        "exp": token.expires_at,
        "endpoint": token.endpoint,
        "tokenId": token.token_id,
        "permissions": permissions,
    }
