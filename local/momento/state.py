"""The one in-process state object: accounts, keys, tokens, caches, topics, quota, clock, faults."""

from __future__ import annotations

from dataclasses import dataclass

from local.momento.clock import Clock
from local.momento.credentials import Credential, Credentials
from local.momento.data import CacheStore, TopicHub
from local.momento.errors import Code, MomentoError
from local.momento.faults import Faults
from local.momento.quota import AuthQuota


@dataclass
class Limits:
    #: Longest disposable token lifetime accepted: Momento's hard limit "Time to live (TTL), token:
    #: 25 hours" (public-dev-docs `docs/platform/limits/auth.mdx`).
    max_token_seconds: int = 25 * 3600
    #: Longest disposable token id (JS SDK `validateDisposableTokenTokenID`: 64; see README).
    max_token_id_chars: int = 64
    #: Permission statements per token.
    max_permissions: int = 20


class State:
    def __init__(
        self,
        *,
        endpoint: str = "momento.local",
        clock: Clock | None = None,
        quota_rate: float | None = 5.0,
        quota_burst: float | None = None,
        limits: Limits | None = None,
        secret: bytes | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.clock = clock or Clock()
        self.faults = Faults()
        self.quota = AuthQuota(self.clock, quota_rate, quota_burst)
        self.limits = limits or Limits()
        self.credentials = Credentials(self.clock, endpoint, secret)
        self.caches = CacheStore(self.clock)
        self.topics = TopicHub()

    def authenticate(self, token: str | None) -> Credential:
        return self.credentials.authenticate(token)

    def charge_auth_quota(self, cred: Credential) -> None:
        """Count one token/key operation against the caller's account (Momento: 5/s per account)."""
        if not self.quota.try_acquire(cred.account):
            raise MomentoError(Code.LIMIT_EXCEEDED, "Auth rate limit exceeded for this account")
