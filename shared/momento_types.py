"""Plain values that cross the Momento access boundary, free of any SDK import.

They live apart from `shared.momento_access` so that modules which only read or write
secrets (`shared.secret_format`) do not pay for importing the `momento` SDK. Key material
lives only in these objects, and their reprs hide it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class IssuedKey:
    """A master key Momento issued (refreshed v1, generated v1, or generated v2)."""

    api_key: str = field(repr=False)
    #: v1 keys: the next single-use refresh token. v2 keys: None.
    refresh_token: str | None = field(repr=False)
    #: Epoch seconds; None when the key never expires.
    valid_until: int | None
    #: v2 keys: the endpoint (for example `cell-1-us-east-1-1.prod.a.momentohq.com`);
    #: v1 keys: as Momento returned it.
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
