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
    sequence_page: int = 1


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


@dataclass(frozen=True)
class Discontinuity:
    """Told to a resuming subscriber whose sequence number is no longer (or not) available."""

    last_topic_sequence: int
    new_topic_sequence: int
    new_sequence_page: int


@dataclass
class _Topic:
    page: int
    last_sequence: int = 0
    history: list[TopicMessage] = field(default_factory=list)
    subs: list[Subscription] = field(default_factory=list)


#: Items a topic keeps for resuming subscribers (guess: Momento says "the exact amount is unspecified").
TOPIC_HISTORY = 100


class Subscription:
    def __init__(self, hub: TopicHub, topic_key: tuple[str, str, str]) -> None:
        self.queue: queue.Queue[object] = queue.Queue()
        self._hub = hub
        self._topic_key = topic_key

    def close(self) -> None:
        self._hub._unsubscribe(self._topic_key, self)


class TopicHub:
    """Topics per (account, cache, topic): a sequence number per published item (from 1, on one
    sequence page), the last `TOPIC_HISTORY` items, and the live subscribers.

    A subscriber first gets what `cachepubsub.proto` (`_SubscriptionRequest`) promises: with no
    resume point (0) "the latest messages" (here: the newest item), with a resume point on the
    current page the retained items from that number on (a `Discontinuity` first when some are gone),
    with a resume point on another page a `Discontinuity` to the newest number; then live items.
    Snapshot and registration happen under one lock, so nothing is missed or delivered twice."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._topics: dict[tuple[str, str, str], _Topic] = {}
        self._pages = 0

    def _topic(self, key: tuple[str, str, str]) -> _Topic:
        topic = self._topics.get(key)
        if topic is None:
            self._pages += 1
            topic = self._topics[key] = _Topic(page=self._pages)
        return topic

    def subscribe(
        self, account: str, cache: str, topic: str, resume_at: int = 0, page: int = 0
    ) -> tuple[Subscription, list[TopicMessage | Discontinuity]]:
        key = (account, cache, topic)
        sub = Subscription(self, key)
        with self._lock:
            t = self._topic(key)
            t.subs.append(sub)
            return sub, _catch_up(t, resume_at, page)

    def _unsubscribe(self, key: tuple[str, str, str], sub: Subscription) -> None:
        with self._lock:
            t = self._topics.get(key)
            if t is not None and sub in t.subs:
                t.subs.remove(sub)

    def publish(
        self, account: str, cache: str, topic: str, text: str | None, binary: bytes | None, publisher: str
    ) -> int:
        key = (account, cache, topic)
        with self._lock:
            t = self._topic(key)
            t.last_sequence += 1
            msg = TopicMessage(t.last_sequence, text, binary, publisher, t.page)
            t.history.append(msg)
            del t.history[:-TOPIC_HISTORY]
            # Queue while holding the lock: a subscriber registering now sees it either in its
            # snapshot or on its queue, never both.
            for sub in t.subs:
                sub.queue.put(msg)
        return msg.sequence

    def subscriber_count(self, account: str, cache: str, topic: str) -> int:
        with self._lock:
            t = self._topics.get((account, cache, topic))
            return 0 if t is None else len(t.subs)

    def close_all(self, account: str | None = None, cache: str | None = None) -> None:
        """End matching subscriptions; for a deleted cache (`cache` given) also forget its topics."""
        with self._lock:
            matched = [
                k
                for k in self._topics
                if (account is None or k[0] == account) and (cache is None or k[1] == cache)
            ]
            targets = [s for k in matched for s in self._topics[k].subs]
            if cache is not None:
                for k in matched:
                    del self._topics[k]
        for s in targets:
            s.queue.put(CLOSE)


def _catch_up(t: _Topic, resume_at: int, page: int) -> list[TopicMessage | Discontinuity]:
    if resume_at == 0:
        return list(t.history[-1:])
    if page not in (0, t.page):
        return [Discontinuity(resume_at - 1, t.last_sequence, t.page)]
    kept: list[TopicMessage | Discontinuity] = [m for m in t.history if m.sequence >= resume_at]
    oldest = t.history[0].sequence if t.history else t.last_sequence + 1
    if resume_at < oldest:
        kept.insert(0, Discontinuity(resume_at - 1, oldest - 1, t.page))
    return kept
