"""Momento's auth quota: a token bucket per account for token and key operations."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from local.momento.clock import Clock


@dataclass
class _Bucket:
    tokens: float
    updated: float


class AuthQuota:
    """`rate` operations per second per account, bursts up to `burst`; rate None = unlimited."""

    def __init__(self, clock: Clock, rate: float | None = 5.0, burst: float | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self.configure(rate, burst)

    def configure(self, rate: float | None, burst: float | None = None) -> None:
        with self._lock:
            self.rate = rate
            self.burst = burst if burst is not None else (rate or 0.0)
            self._buckets.clear()

    def try_acquire(self, account: str) -> bool:
        if self.rate is None:
            return True
        now = self._clock.now()
        with self._lock:
            b = self._buckets.get(account)
            if b is None:
                b = self._buckets[account] = _Bucket(tokens=self.burst, updated=now)
            elapsed = max(0.0, now - b.updated)
            b.tokens = min(self.burst, b.tokens + elapsed * self.rate)
            b.updated = now
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return True
            return False
