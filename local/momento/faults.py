"""Fault injection, switchable at runtime: unavailable, added latency, random error rate."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass


class InjectedFault(Exception):
    """Raised by `Faults.apply` when a request must fail as UNAVAILABLE (gRPC) / 503 (HTTP)."""


@dataclass
class _Settings:
    unavailable: bool = False
    latency_seconds: float = 0.0
    error_rate: float = 0.0
    #: Method names (`GenerateDisposableToken`, `Get`, `POST /api-keys`, ...) the faults apply to;
    #: None = every request.
    only: frozenset[str] | None = None


class Faults:
    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._s = _Settings()
        self._rng = random.Random(seed)

    def set(
        self,
        *,
        unavailable: bool | None = None,
        latency_seconds: float | None = None,
        error_rate: float | None = None,
        only: Iterable[str] | None = None,
    ) -> None:
        """Change some settings; the others stay. `only` limits faults to these method names."""
        with self._lock:
            if unavailable is not None:
                self._s.unavailable = unavailable
            if latency_seconds is not None:
                if latency_seconds < 0:
                    raise ValueError("latency_seconds must be >= 0")
                self._s.latency_seconds = latency_seconds
            if error_rate is not None:
                if not 0.0 <= error_rate <= 1.0:
                    raise ValueError("error_rate must be within [0, 1]")
                self._s.error_rate = error_rate
            if only is not None:
                self._s.only = frozenset(only)

    def clear(self) -> None:
        with self._lock:
            self._s = _Settings()

    @property
    def active(self) -> bool:
        s = self._s
        return s.unavailable or s.latency_seconds > 0 or s.error_rate > 0

    def apply(self, method: str) -> None:
        """Sleep for the configured latency, then raise `InjectedFault` if this request must fail."""
        s = self._s
        if not (s.unavailable or s.latency_seconds > 0 or s.error_rate > 0):
            return
        if s.only is not None and method not in s.only:
            return
        if s.latency_seconds > 0:
            time.sleep(s.latency_seconds)
        if s.unavailable:
            raise InjectedFault(f"injected fault: server unavailable ({method})")
        if s.error_rate > 0:
            with self._lock:
                roll = self._rng.random()
            if roll < s.error_rate:
                raise InjectedFault(f"injected fault: random error ({method})")
