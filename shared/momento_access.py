"""The one small interface between this product and Momento.

CONTRACT (implementation pending; see issue 4). Everything that talks to Momento goes
through `MomentoAccess`; no other module imports the `momento` SDK or the wire stubs.
SDK error values and gRPC/HTTP status codes become `shared.errors` exceptions here and
nowhere else. Key material lives only in `IssuedKey` / `VendedToken`, whose reprs are
redacted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from shared.permissions import Permission


@dataclass(frozen=True)
class IssuedKey:
    """A master key Momento issued (refreshed v1, generated v1, or generated v2)."""

    api_key: str = field(repr=False)
    #: v1 keys: the next single-use refresh token. v2 keys: None.
    refresh_token: str | None = field(repr=False)
    #: Epoch seconds; None when the key never expires.
    valid_until: int | None
    #: v2 keys: the endpoint (for example `cell-1-us-east-1-1.prod.a.momentohq.com`); v1: as Momento returned it.
    endpoint: str | None = None
    #: v2 keys: the key id used to revoke it.
    key_id: str | None = None
    #: v2 keys: the role the key is bound to.
    role_id: str | None = None


@dataclass(frozen=True)
class VendedToken:
    """A disposable token as apps load it (`CredentialProvider.from_disposable_token`)."""

    auth_token: str = field(repr=False)
    expires_at: int
    endpoint: str
    token_id: str | None


@dataclass(frozen=True)
class MasterKey:
    """What the access layer needs to act as a master key: the key and, for v2, its endpoint."""

    api_key: str = field(repr=False)
    endpoint: str | None = None


class MomentoAccess(Protocol):
    def refresh_v1(self, key: MasterKey, refresh_token: str) -> IssuedKey:
        """gRPC Auth.RefreshApiToken on the control endpoint; the refresh token is spent by this call."""
        ...

    def generate_v1(self, key: MasterKey, valid_for_seconds: int | None) -> IssuedKey:
        """gRPC Auth.GenerateApiToken with super-user permissions (None = never expires)."""
        ...

    def generate_v2(self, key: MasterKey, role_id: str, description: str, expires_at: int | None) -> IssuedKey:
        """HTTP `POST /api-keys` on the API keys API."""
        ...

    def revoke_v2(self, key: MasterKey, key_id: str) -> None:
        """HTTP `DELETE /api-keys/{key_id}`; an already-revoked (404) key counts as done."""
        ...

    def mint_token(
        self,
        key: MasterKey,
        permissions: tuple[Permission, ...],
        expires_in_seconds: int,
        token_id: str | None,
    ) -> VendedToken:
        """SDK AuthClient.generate_disposable_token."""
        ...

    def check_key(self, key: MasterKey) -> None:
        """Prove a key works for what this product needs (mints a one-minute token); raises if not."""
        ...
