"""Caches (items with TTL on the server clock) and topics (fan-out to live subscribers), per account."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from local.momento.clock import Clock
from local.momento.errors import Code, MomentoError, invalid, not_found


@dataclass
class _Item:
    value: bytes
    expires_at: float | None


@dataclass
class Cache:
    name: str
    items: dict[bytes, _Item] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicMessage:
    sequence: int
    text: str | None
    binary: bytes | None
    publisher_id: str


#: A `SetIf` condition: given the live value (None = absent), may the write happen?
Condition = Callable[[bytes | None], bool]

#: What `Increment` accepts as the stored value: a UTF-8 base-10 integer (cacheclient.proto,
#: `_IncrementRequest`; Momento's API reference "Increment"). Guess: an optional sign, no spaces.
_INTEGER = re.compile(rb"[+-]?[0-9]+")
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1

#: Put on a subscriber's queue to end its stream (server stop, cache deleted).
CLOSE = object()


class CacheStore:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._caches: dict[tuple[str, str], Cache] = {}

    def create(self, account: str, name: str) -> None:
        if not name:
            raise invalid("Cache name must not be empty")
        with self._lock:
            if (account, name) in self._caches:
                raise MomentoError(Code.ALREADY_EXISTS, f"Cache {name} already exists")
            self._caches[(account, name)] = Cache(name)

    def delete(self, account: str, name: str) -> None:
        with self._lock:
            if self._caches.pop((account, name), None) is None:
                raise not_found(f"Cache {name} not found")

    def names(self, account: str) -> list[str]:
        with self._lock:
            return sorted(n for (a, n) in self._caches if a == account)

    def exists(self, account: str, name: str) -> bool:
        return (account, name) in self._caches

    def _cache(self, account: str, name: str) -> Cache:
        cache = self._caches.get((account, name))
        if cache is None:
            raise not_found(f"Cache {name} not found")
        return cache

    def _live(self, cache: Cache, key: bytes) -> _Item | None:
        item = cache.items.get(key)
        if item is not None and item.expires_at is not None and self._clock.now() >= item.expires_at:
            del cache.items[key]
            return None
        return item

    def _expiry(self, ttl_ms: int) -> float | None:
        return None if ttl_ms <= 0 else self._clock.now() + ttl_ms / 1000.0

    def get(self, account: str, name: str, key: bytes) -> bytes | None:
        with self._lock:
            item = self._live(self._cache(account, name), key)
            return None if item is None else item.value

    def set(self, account: str, name: str, key: bytes, value: bytes, ttl_ms: int) -> None:
        with self._lock:
            self._cache(account, name).items[key] = _Item(value, self._expiry(ttl_ms))

    def set_if_not_exists(self, account: str, name: str, key: bytes, value: bytes, ttl_ms: int) -> bool:
        with self._lock:
            cache = self._cache(account, name)
            if self._live(cache, key) is not None:
                return False
            cache.items[key] = _Item(value, self._expiry(ttl_ms))
            return True

    def set_if(
        self, account: str, name: str, key: bytes, value: bytes, ttl_ms: int, condition: Condition
    ) -> bool:
        """Write `value` if `condition(live value)` holds, atomically; True when stored."""
        with self._lock:
            cache = self._cache(account, name)
            item = self._live(cache, key)
            if not condition(None if item is None else item.value):
                return False
            cache.items[key] = _Item(value, self._expiry(ttl_ms))
            return True

    def increment(self, account: str, name: str, key: bytes, amount: int, ttl_ms: int) -> int:
        """Add `amount` to the integer stored at `key` (a missing item counts as 0) and store the
        result as a base-10 string with a fresh TTL. Not an integer, or an i64 overflow ->
        FAILED_PRECONDITION, nothing changed."""
        with self._lock:
            cache = self._cache(account, name)
            item = self._live(cache, key)
            current = 0
            if item is not None:
                if _INTEGER.fullmatch(item.value) is None:
                    raise MomentoError(
                        Code.FAILED_PRECONDITION, "Increment: the stored value is not a base-10 integer"
                    )
                current = int(item.value)
            result = current + amount
            if not _I64_MIN <= result <= _I64_MAX or not _I64_MIN <= current <= _I64_MAX:
                raise MomentoError(
                    Code.FAILED_PRECONDITION, "Increment: the result overflows a signed 64-bit integer"
                )
            cache.items[key] = _Item(str(result).encode(), self._expiry(ttl_ms))
            return result

    def delete_key(self, account: str, name: str, key: bytes) -> None:
        with self._lock:
            self._cache(account, name).items.pop(key, None)

    def keys_exist(self, account: str, name: str, keys: list[bytes]) -> list[bool]:
        with self._lock:
            cache = self._cache(account, name)
            return [self._live(cache, k) is not None for k in keys]


class Subscription:
    def __init__(self, hub: TopicHub, topic_key: tuple[str, str, str]) -> None:
        self.queue: queue.Queue[object] = queue.Queue()
        self._hub = hub
        self._topic_key = topic_key

    def close(self) -> None:
        self._hub._unsubscribe(self._topic_key, self)


class TopicHub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[tuple[str, str, str], list[Subscription]] = {}
        self._seq: dict[tuple[str, str, str], int] = {}

    def subscribe(self, account: str, cache: str, topic: str) -> Subscription:
        key = (account, cache, topic)
        sub = Subscription(self, key)
        with self._lock:
            self._subs.setdefault(key, []).append(sub)
        return sub

    def _unsubscribe(self, key: tuple[str, str, str], sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(key, [])
            if sub in subs:
                subs.remove(sub)

    def publish(
        self, account: str, cache: str, topic: str, text: str | None, binary: bytes | None, publisher: str
    ) -> int:
        key = (account, cache, topic)
        with self._lock:
            seq = self._seq.get(key, 0) + 1
            self._seq[key] = seq
            subs = list(self._subs.get(key, []))
        msg = TopicMessage(seq, text, binary, publisher)
        for sub in subs:
            sub.queue.put(msg)
        return seq

    def subscriber_count(self, account: str, cache: str, topic: str) -> int:
        with self._lock:
            return len(self._subs.get((account, cache, topic), []))

    def close_all(self, account: str | None = None, cache: str | None = None) -> None:
        with self._lock:
            targets = [
                s
                for (a, c, _), subs in self._subs.items()
                for s in subs
                if (account is None or a == account) and (cache is None or c == cache)
            ]
        for s in targets:
            s.queue.put(CLOSE)
