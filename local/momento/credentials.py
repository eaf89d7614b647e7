"""Issued API keys (v1, v2), refresh tokens and disposable tokens, and authentication."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from enum import StrEnum

from local.momento import keys
from local.momento.clock import Clock
from local.momento.errors import Code, MomentoError, denied, invalid, not_found, unauthenticated
from local.momento.grants import Grants


class Kind(StrEnum):
    V1 = "v1"
    V2 = "v2"
    DISPOSABLE = "disposable"


@dataclass
class Credential:
    key_id: str
    kind: Kind
    account: str
    grants: Grants
    issued_at: int
    expires_at: int | None
    api_key: str = field(repr=False)
    description: str = ""
    role_id: str | None = None
    #: Disposable tokens: the caller's token id (`DisposableTokenProps.token_id`).
    token_id: str | None = None
    #: v1 keys: the lifetime a refresh gives the next key (None = never expires).
    valid_for: int | None = None
    #: Key id of the credential that minted this one.
    parent: str | None = None
    revoked_at: float | None = None
    #: Creation order on this server (set when stored): the API keys list's paging order.
    serial: int = 0

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


@dataclass
class _Refresh:
    key_id: str
    spent: bool = False


class Credentials:
    def __init__(self, clock: Clock, endpoint: str, secret: bytes | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._secret = secret or secrets.token_bytes(32)
        self.endpoint = endpoint
        self._by_id: dict[str, Credential] = {}
        self._by_key: dict[str, Credential] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._serial = 0

    # -- authentication -------------------------------------------------------------------
    def authenticate(self, token: str | None) -> Credential:
        """The live credential for a bare key or a base64-wrapped token; UNAUTHENTICATED otherwise."""
        if not token:
            raise unauthenticated("Missing authorization")
        cred = self._by_key.get(token)
        if cred is None:
            cred = self._by_key.get(keys.unwrap(token))
        if cred is None:
            raise unauthenticated("Invalid signature")
        if cred.revoked_at is not None:
            raise unauthenticated("The API key has been revoked")
        if cred.expired(self._clock.now()):
            raise unauthenticated("The API key or token has expired")
        return cred

    # -- issuing ----------------------------------------------------------------------------
    def _store(self, cred: Credential) -> Credential:
        with self._lock:
            self._serial += 1
            cred.serial = self._serial
            self._by_id[cred.key_id] = cred
            self._by_key[cred.api_key] = cred
        return cred

    def _new_refresh(self, key_id: str) -> str:
        token = keys.new_refresh_token()
        with self._lock:
            self._refresh[token] = _Refresh(key_id)
        return token

    def issue_v1(
        self,
        account: str,
        grants: Grants,
        valid_for: int | None,
        *,
        description: str = "",
        parent: str | None = None,
    ) -> tuple[Credential, str]:
        """A v1 key and its refresh token; a never-expiring key gets none ("" ), as Momento's JS
        SDK documents (`packages/core/src/internal/clients/auth/AbstractAuthClient.ts`)."""
        now = int(self._clock.now())
        key_id = keys.new_id()
        expires_at = None if valid_for is None else now + valid_for
        api_key = keys.v1_key(
            self._secret, key_id=key_id, endpoint=self.endpoint, issued_at=now, expires_at=expires_at
        )
        cred = self._store(
            Credential(
                key_id,
                Kind.V1,
                account,
                grants,
                now,
                expires_at,
                api_key,
                description=description,
                valid_for=valid_for,
                parent=parent,
            )
        )
        return cred, ("" if expires_at is None else self._new_refresh(key_id))

    def refresh_v1(self, api_key: str, refresh_token: str) -> tuple[Credential, str]:
        """Spend `refresh_token` (issued with `api_key`); a new key with the same grants and lifetime."""
        old = self.authenticate(api_key)
        if old.kind is not Kind.V1:
            raise invalid("Only v1 API keys can be refreshed")
        with self._lock:
            entry = self._refresh.get(refresh_token)
            # Guess: Momento's status for a spent / unknown / mismatched refresh token is not documented.
            if entry is None or entry.key_id != old.key_id:
                raise unauthenticated("Invalid refresh token")
            if entry.spent:
                raise unauthenticated("Refresh token has already been used")
            entry.spent = True
        return self.issue_v1(
            old.account, old.grants, old.valid_for, description=old.description, parent=old.key_id
        )

    def issue_v2(
        self,
        account: str,
        grants: Grants,
        role_id: str,
        description: str,
        expires_at: int | None,
        *,
        parent: str | None = None,
    ) -> Credential:
        now = int(self._clock.now())
        key_id = keys.new_id()
        api_key = keys.v2_key(self._secret, key_id=key_id, issued_at=now, expires_at=expires_at)
        return self._store(
            Credential(
                key_id,
                Kind.V2,
                account,
                grants,
                now,
                expires_at,
                api_key,
                description=description,
                role_id=role_id,
                parent=parent,
            )
        )

    def issue_disposable(
        self, caller: Credential, grants: Grants, valid_for: int, token_id: str | None
    ) -> Credential:
        now = int(self._clock.now())
        key_id = keys.new_id()
        expires_at = now + valid_for
        api_key = keys.disposable_token(
            self._secret, key_id=key_id, endpoint=self.endpoint, issued_at=now, expires_at=expires_at
        )
        return self._store(
            Credential(
                key_id,
                Kind.DISPOSABLE,
                caller.account,
                grants,
                now,
                expires_at,
                api_key,
                token_id=token_id,
                parent=caller.key_id,
            )
        )

    # -- v2 management --------------------------------------------------------------------
    def list_v2(self, account: str) -> list[Credential]:
        now = self._clock.now()
        with self._lock:
            creds = list(self._by_id.values())
        return [
            c
            for c in creds
            if c.kind is Kind.V2 and c.account == account and c.revoked_at is None and not c.expired(now)
        ]

    def revoke(self, account: str, key_id: str) -> Credential:
        with self._lock:
            cred = self._by_id.get(key_id)
            if cred is None or cred.account != account or cred.revoked_at is not None:
                raise not_found(f"API key {key_id} not found")
            cred.revoked_at = self._clock.now()
            return cred

    # -- inspection (tests) -----------------------------------------------------------------
    def get(self, key_id: str) -> Credential:
        with self._lock:
            cred = self._by_id.get(key_id)
        if cred is None:
            raise not_found(f"no credential {key_id}")
        return cred

    def find(self, api_key: str) -> Credential | None:
        return self._by_key.get(keys.unwrap(api_key))

    def count(self) -> int:
        """How many keys and tokens were ever issued (tests: a refused call issued nothing)."""
        with self._lock:
            return len(self._by_id)

    def disposable_tokens(self) -> list[Credential]:
        with self._lock:
            return [c for c in self._by_id.values() if c.kind is Kind.DISPOSABLE]

    def require(self, cred: Credential, allowed: bool, what: str) -> None:
        if not allowed:
            raise denied(f"Insufficient permissions to {what}")


__all__ = ["Code", "Credential", "Credentials", "Kind", "MomentoError"]
