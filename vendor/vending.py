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

from shared.errors import (
    BadRequestError,
    ForbiddenError,
    MintRefusedError,
    MomentoAuthenticationError,
    MomentoLimitExceededError,
    MomentoUnavailableError,
    PayloadTooLargeError,
)
from shared.momento_types import VendedToken
from shared.permissions import Permission, permissions_from_json
from vendor.audit_lines import AuditLines
from vendor.identity import Identity
from vendor.master_key import MasterKeySource
from vendor.mint_budget import MintBudget
from vendor.policy import Grant, Policy
from vendor.policy_source import PolicySource
from vendor.request_json import load_json
from vendor.token_cache import TokenCache
from vendor.token_id import token_id as token_id_for

if TYPE_CHECKING:
    from shared.momento_access import MomentoAccess

audit_logger = logging.getLogger("vendor.audit")
#: The "vended token" line of every vend, in Powertools' format at a fraction of its cost.
audit_lines = AuditLines(audit_logger)

#: Headroom slots (1/4 s each by default) a shared grant's mint may wait for before a 429.
SHARED_MINT_SLOT_WAITS = 4
_REQUEST_FIELDS = {"permissions", "ttlSeconds"}


@dataclass(frozen=True)
class VendRequest:
    """What a caller asked for; None fields mean "whatever policy gives me" (GET /token)."""

    permissions: tuple[Permission, ...] | None = None
    ttl_seconds: int | None = None
    #: `?name=`: becomes part of the token id (`vendor.token_id`), never of the scope.
    label: str | None = None


def parse_request_body(body: bytes | None, max_body_bytes: int) -> VendRequest:
    """A POST body: `{"permissions": [...], "ttlSeconds": N}`, both optional, nothing else.

    Unknown fields are refused (400) rather than ignored, so a typo such as `ttl` does not
    silently turn into a default one-hour token.
    """
    if body is not None and len(body) > max_body_bytes:
        raise PayloadTooLargeError(f"request body is larger than {max_body_bytes} bytes")
    if body is None or not body.strip():
        return VendRequest()
    raw = load_json(body)
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


def cache_key(identity: Identity, grant: Grant, label: str | None = None) -> str:
    """A digest of (owner, permissions, lifetime, label): no identity or scope in cache item names.

    A shared grant is keyed by its rule instead of the caller, so every caller of the rule (in
    every container) finds the one token; a per-caller grant never is (`Grant.shared_rule` is
    None whenever a placeholder or a per-caller rule contributed). A `?name=` label changes the
    token id, so it is part of the key; shared grants carry none (their id names the rule).
    """
    if grant.shared_rule is not None:
        return _cache_key(None, grant, None)
    return _cache_key(identity.principal, grant, label)


@functools.lru_cache(maxsize=10_000)
def _cache_key(principal: str | None, grant: Grant, label: str | None) -> str:
    """Remembered per (owner, grant, label): the policy hands a caller the same `Grant` every time."""
    owner: Any = ["rule", grant.shared_rule] if principal is None else principal
    parts: list[Any] = [owner, grant.permissions_json, grant.ttl_seconds]
    if label is not None:
        parts.append(label)
    material = json.dumps(
        parts,
        sort_keys=True,
        separators=(",", ":"),
    )
    return "vend-" + hashlib.sha256(material.encode()).hexdigest()


def budget_owner(identity: Identity, grant: Grant) -> str | None:
    """Whose mint budget a mint spends: the caller's; None (no budget) for a shared grant.

    A shared rule has at most one grant per lifetime bucket (its whole statement list; narrower
    requests are per-caller grants), so its mints are bounded by construction (about two a
    minute, the 60 s bucket re-minted every 48 s), and charging them to a budget would let one
    caller asking every bucket exhaust it for all the rule's callers. Headroom still applies.
    """
    return None if grant.shared_rule is not None else f"principal:{identity.principal}"


@dataclass(frozen=True)
class Vended:
    """One successful vend: what was granted, under which cache key, and the token."""

    identity: Identity
    grant: Grant
    cache_key: str
    token: VendedToken
    source: str
    #: The policy that granted it (a `PolicySource` may serve a newer one by the next request).
    policy: Policy

    def body(self) -> dict[str, Any]:
        return response_body(self.token, self.grant.permissions_json)

    def body_json(self) -> str:
        """The response body as sent: compact JSON (`encode_body`)."""
        return encode_body(self.body())


def audit_of(identity: Identity, grant: Grant, token: VendedToken, source: str) -> dict[str, Any]:
    """The audit object of a "vended token" line (`vendor.audit`)."""
    return {
        "caller": identity.principal,
        "tokenId": token.token_id,
        "permissions": grant.permissions_json,
        "expiresAt": token.expires_at,
        "source": source,
        "sharedRule": grant.shared_rule,
    }


def log_vended(audit: dict[str, Any], *, constant: bool = False) -> None:
    """The "vended token" audit line: from this one call site whichever path vended (its
    `location` is the same for a mint and a memory hit: outside finding F4)."""
    audit_lines.info("vended token", audit, constant=constant)


class Vendor:
    """Grants by policy, then reuses or mints; one audit line per vend (and per refusal)."""

    def __init__(
        self,
        policy: Policy | PolicySource,
        master_keys: MasterKeySource,
        access: MomentoAccess,
        tokens: TokenCache,
        budget: MintBudget | None = None,
    ) -> None:
        self._policy = policy
        self._master_keys = master_keys
        self._access = access
        self._tokens = tokens
        self._budget = budget

    def current_policy(self) -> Policy:
        """The policy serving now (a `PolicySource` re-reads its store within its max age)."""
        policy = self._policy
        return policy.current() if isinstance(policy, PolicySource) else policy

    @property
    def tokens(self) -> TokenCache:
        return self._tokens

    def vend(self, identity: Identity, request: VendRequest) -> dict[str, Any]:
        return self.issue(identity, request).body()

    def issue(self, identity: Identity, request: VendRequest) -> Vended:
        policy = self.current_policy()
        try:
            grant = policy.grant(identity, request.permissions, request.ttl_seconds)
        except ForbiddenError as exc:
            audit_logger.warning(
                "vend refused", extra={"audit": {"caller": identity.principal, "reason": str(exc)}}
            )
            raise
        label = request.label if grant.shared_rule is None else None
        key = cache_key(identity, grant, label)
        try:
            outcome = self._tokens.get_or_mint(
                key,
                lambda: self._admitted_mint(identity, grant, label),
                grant.ttl_seconds,
            )
        except (MintRefusedError, MomentoLimitExceededError) as exc:
            retry = exc.retry_after_seconds if isinstance(exc, MintRefusedError) else None
            audit_logger.warning(
                "vend throttled",
                extra={
                    "audit": {
                        "caller": identity.principal,
                        "reason": exc.code,
                        "retryAfter": retry,
                        "sharedRule": grant.shared_rule,
                    }
                },
            )
            raise
        log_vended(audit_of(identity, grant, outcome.token, outcome.source))
        return Vended(identity, grant, key, outcome.token, outcome.source, policy)

    def _admitted_mint(self, identity: Identity, grant: Grant, label: str | None) -> VendedToken:
        """A mint the budget admits first (else `MintRefusedError`, nothing minted)."""
        if self._budget is None:
            return self._mint(identity, grant, label)
        # A shared grant's one mint serves many callers: worth waiting up to a second for a slot.
        waits = SHARED_MINT_SLOT_WAITS if grant.shared_rule is not None else 0
        admission = self._budget.admit(budget_owner(identity, grant), wait_slots=waits)
        try:
            return self._mint(identity, grant, label)
        except MomentoUnavailableError:
            raise  # unknown outcome (timeout, unreachable): a token may exist, the count stands
        except Exception:
            # Momento said no (limit, INVALID_ARGUMENT, refused key) or the key could not be read:
            # nothing was issued, so the caller's budget is not spent (outside finding F1).
            self._budget.refund(admission)
            raise

    def _mint(self, identity: Identity, grant: Grant, label: str | None) -> VendedToken:
        """Mint with the cached key; a refused key means a rotation we have not seen: re-read, retry once."""
        token_id = grant.shared_token_id or token_id_for(identity.principal, label)
        try:
            return self._access.mint_token(
                self._master_keys.get(), grant.permissions, grant.ttl_seconds, token_id
            )
        except MomentoAuthenticationError:
            key = self._master_keys.force_refresh()
            return self._access.mint_token(key, grant.permissions, grant.ttl_seconds, token_id)


def encode_body(body: dict[str, Any]) -> str:
    """Every JSON response body, success or error, on every path: one encoding, so the direct
    token routes and the resolver cannot drift apart byte-wise."""
    return json.dumps(body, separators=(",", ":"))


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
