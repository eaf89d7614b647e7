"""Momento's auth quota, shared with every vendor container: retry its refusals, within budget.

Momento allows a few auth operations per second per account (5 by its published limits), and
the rotator shares them with every vendor container of the account: under vending load the
first attempt of a rotation is often refused with `LIMIT_EXCEEDED`. `QuotaRetrying` wraps the
access layer and retries exactly that refusal, with full-jitter exponential backoff, while the
next attempt still fits in the invocation's time budget.

Why a retry cannot spend a refresh token twice: `LIMIT_EXCEEDED` is Momento refusing the call
before doing it (the rate limiter answers before the token is looked at), so the token is
still unspent and the retry is its first use. Nothing else is retried here: an unavailable
Momento or a timeout may hide a refresh that happened, so those fail the run (and the claim is
kept) instead of calling again with a token that may be spent.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from shared.errors import MomentoLimitExceededError
from shared.momento_access import ListedV2Key, MomentoAccess
from shared.momento_types import IssuedKey, MasterKey, VendedToken
from shared.permissions import Permission

T = TypeVar("T")

#: First backoff step and its cap, seconds: a token bucket at 5/s refills one slot in 0.2 s.
BASE_DELAY_SECONDS = 0.2
MAX_DELAY_SECONDS = 2.0
#: Attempts per call at most, whatever the budget.
MAX_ATTEMPTS = 8


@dataclass
class QuotaRetrying:
    """A `MomentoAccess` that retries `LIMIT_EXCEEDED` until `deadline` (a `monotonic` instant)."""

    inner: MomentoAccess
    #: `monotonic()` value after which no retry starts; None = only `MAX_ATTEMPTS` bounds it.
    deadline: float | None = None
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)
    #: Refusals retried so far (for logs and tests).
    retried: int = 0

    def _call(self, call: Callable[[], T]) -> T:
        attempt = 0
        while True:
            attempt += 1
            try:
                return call()
            except MomentoLimitExceededError:
                delay = self.rng.uniform(0, min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2 ** (attempt - 1)))
                out_of_time = self.deadline is not None and self.monotonic() + delay >= self.deadline
                if attempt >= MAX_ATTEMPTS or out_of_time:
                    raise
            self.retried += 1
            self.sleep(delay)

    def refresh_v1(self, key: MasterKey, refresh_token: str) -> IssuedKey:
        return self._call(lambda: self.inner.refresh_v1(key, refresh_token))

    def generate_v1(self, key: MasterKey, valid_for_seconds: int | None) -> IssuedKey:
        return self._call(lambda: self.inner.generate_v1(key, valid_for_seconds))

    def generate_v2(
        self, key: MasterKey, role_id: str, description: str, expires_at: int | None
    ) -> IssuedKey:
        return self._call(lambda: self.inner.generate_v2(key, role_id, description, expires_at))

    def revoke_v2(self, key: MasterKey, key_id: str) -> None:
        self._call(lambda: self.inner.revoke_v2(key, key_id))

    def list_v2_keys(self, key: MasterKey) -> tuple[ListedV2Key, ...]:
        return self._call(lambda: self.inner.list_v2_keys(key))

    def mint_token(
        self,
        key: MasterKey,
        permissions: tuple[Permission, ...],
        expires_in_seconds: int,
        token_id: str | None,
    ) -> VendedToken:
        return self._call(lambda: self.inner.mint_token(key, permissions, expires_in_seconds, token_id))

    def check_key(self, key: MasterKey) -> None:
        self._call(lambda: self.inner.check_key(key))

    def increment(
        self, key: MasterKey, cache_name: str, item_key: str, amount: int, ttl_seconds: float
    ) -> int:
        return self.inner.increment(key, cache_name, item_key, amount, ttl_seconds)

    def cache_get(self, key: MasterKey, cache_name: str, item_key: str) -> str | None:
        return self.inner.cache_get(key, cache_name, item_key)

    def cache_set(self, key: MasterKey, cache_name: str, item_key: str, value: str, ttl_seconds: int) -> None:
        self.inner.cache_set(key, cache_name, item_key, value, ttl_seconds)
