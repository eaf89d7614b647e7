"""Momento's auth quota as a shared resource: who may mint now, across every vendor container.

Momento allows about 5 auth operations per second per account, shared by every vendor container
and the rotator. Three rules keep it usable, all decided before a mint is attempted (a refused
mint costs nothing at Momento):

1. **Per-principal budget**: at most `principal_mints` mints per `principal_window_seconds` per
   principal (a shared grant's mints are charged to no one: they are few by construction, see
   `vendor.vending.budget_owner`). A fixed window numbered by the
   clock, so the counter key names the window and a counter's TTL only cleans up.
2. **Headroom for the rotator**: all vendors together mint at most `vendor_rate` =
   `account_rate - reserve_rate` per second, as a sliding window: time is cut into slots of a
   quarter of the window (one second at 3/s), each mint counts on its slot, and a mint is
   admitted only if the last five slots (at least one whole window back) hold fewer than
   `vendor_rate` mints. Any one-second interval then holds at most `vendor_rate` vendor mints,
   so the rotator keeps `reserve_rate` operations per second, and a quiet fleet may still mint
   a burst of `vendor_rate` at once.
3. **One minter per grant** (`CounterLease`): when the token cache misses everywhere, the first
   container to count 1 on the grant's lease counter (per 2-second slot) mints; the others wait
   for its token to appear in the shared cache instead of minting the same grant again. A holder
   that minted nothing (refused, failed) counts a release, and the waiters stop waiting.

Across containers the counters live in the shared token cache (`SHARED_TOKEN_CACHE_NAME`),
updated with Momento's atomic `Increment` (a data-plane call, not an auth operation). Every
container counts on the same item, so the limits hold for the whole fleet however many
containers Lambda runs. Their item names are HMACs under the token cache key
(`vendor.sealed_store.KeyedCounters`), so no Momento credential can find them to forge a count;
a value that cannot be (below what was just added) is tampering: a principal is refused, the
headroom counts in this container. Without the shared cache, or while Momento's cache is unreachable, the
counters are this container's own (`LocalCounters`): the budgets then hold per container, so N
containers allow N times as much (cap the function's concurrency or configure the cache).

Momento does not document whether `Increment` with a TTL resets the item's TTL on each call
(see local/momento/README.md). Nothing here depends on it: every counter key carries its window
or slot number, so a counter that lives longer than its window is simply never read again.
Containers' clocks (NTP-synced in Lambda) decide the window; a skew of a few milliseconds can
admit one extra mint at a slot boundary, which the reserve absorbs. Concurrent admissions count
first and check after, so a race can refuse a mint that would have fitted, never admit one
that does not.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from shared.errors import AuthQuotaReservedError, KeyGuardError, MintBudgetExceededError

logger = logging.getLogger(__name__)

#: Slots per headroom window; the check reads one more, so it always covers a whole window.
HEADROOM_SLOTS = 4
#: A lease slot: how long one container may take to mint before another may try.
LEASE_SECONDS = 2.0


class Counters(Protocol):
    """Atomic counters with a TTL: Momento's `Increment` in production, a dict per container otherwise."""

    def increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        """Add `amount` (may be negative) and return the new value; a missing counter counts from 0."""
        ...


class LocalCounters:
    """`Counters` in this container's memory: the per-container fallback.

    Once `max_entries` counters are stored, the expired ones are dropped, oldest first, from a
    heap of expiry times. The scan this replaced walked every entry on every increment while
    the table was full of live counters (one per principal per minute: a busy container), about
    3 ms per mint admission. Same answers, same entries kept: a counter refreshed before it
    expires leaves an older heap entry behind, skipped when it comes up; should such entries
    outnumber the live ones, the heap is rebuilt from the table.
    """

    def __init__(self, clock: Callable[[], float] = time.time, max_entries: int = 10_000) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._values: dict[str, tuple[int, float]] = {}
        self._expiries: list[tuple[float, str]] = []

    def increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        now = self._clock()
        with self._lock:
            return self._add(key, amount, now, now + ttl_seconds)

    def increments(self, keys: Sequence[str], amount: int, ttl_seconds: float) -> list[int]:
        """`increment` of each key in turn (same values, same state), under one lock and one clock
        reading: the budget reads the headroom's last slots this way (`amount` 0)."""
        now = self._clock()
        expires = now + ttl_seconds
        with self._lock:
            return [self._add(key, amount, now, expires) for key in keys]

    def _add(self, key: str, amount: int, now: float, expires: float) -> int:
        values, expiries = self._values, self._expiries
        value, until = values.get(key, _UNSET)
        if until <= now:
            value = 0
        if len(values) >= self._max_entries and expiries and expiries[0][0] <= now:
            self._expire(now)
        value += amount
        values[key] = (value, expires)
        heapq.heappush(expiries, (expires, key))
        if len(expiries) > 2 * len(values) + self._max_entries:
            self._expiries = [(e, k) for k, (_, e) in values.items()]
            heapq.heapify(self._expiries)
        return value

    def _expire(self, now: float) -> None:
        """Drop every counter whose time is up (all those with an expiry <= now), oldest first."""
        values, expiries = self._values, self._expiries
        while expiries and expiries[0][0] <= now:
            _, key = heapq.heappop(expiries)
            current = values.get(key)
            if current is not None and current[1] <= now:
                del values[key]


#: A missing counter: no value, expired (as the table has always read it).
_UNSET = (0, 0.0)


@dataclass(frozen=True)
class BudgetSettings:
    #: Mints per principal per window.
    principal_mints: int = 5
    principal_window_seconds: int = 60
    #: Momento's auth operations per second per account (its published default is 5).
    account_rate: float = 5.0
    #: Auth operations per second left to the rotator (and anything else using the account).
    reserve_rate: float = 2.0

    @property
    def vendor_rate(self) -> float:
        return self.account_rate - self.reserve_rate

    @property
    def headroom_window_seconds(self) -> float:
        """The sliding window: one second, or longer when vendors get less than one mint a second."""
        return max(1.0, 1.0 / self.vendor_rate)

    @property
    def headroom_limit(self) -> int:
        """Vendor mints per sliding window, fleet-wide."""
        return max(1, math.floor(self.vendor_rate * self.headroom_window_seconds))

    @property
    def slot_seconds(self) -> float:
        return self.headroom_window_seconds / HEADROOM_SLOTS


def window(now: float, width: float) -> tuple[int, float]:
    """The number of the window `now` falls in and the seconds until it ends."""
    index = math.floor(now / width)
    return index, (index + 1) * width - now


def digest(text: str) -> str:
    """Counter item names carry no identity (the shared cache is readable by the vendor only, still)."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Admission:
    """A mint the budget admitted; `refund` it when Momento refused the mint after all."""

    #: None: no principal budget was charged (a shared grant).
    principal_counter: str | None
    ttl_seconds: float


#: The admission of a shared grant: no principal charged.
_UNCHARGED = Admission(None, 0.0)


class MintBudget:
    """Decides, before each mint, whether this principal and the vendor fleet may mint now."""

    def __init__(
        self,
        settings: BudgetSettings,
        counters: Counters,
        *,
        fallback: Counters | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        record: Callable[[str], None] = lambda _name: None,
    ) -> None:
        if settings.vendor_rate <= 0:
            raise ValueError("the rotator's reserve leaves the vendor no share of the auth quota")
        self.settings = settings
        self._counters = counters
        self._fallback = fallback if fallback is not None else LocalCounters(clock)
        self._clock = clock
        self._sleep = sleep
        self._record = record
        self._lock = threading.Lock()
        # Refusals already known in this container (window / slot number): no counter call for them.
        self._spent: dict[str, int] = {}
        self._full_slot = -1
        # The settings are frozen: what the checks derive from them is computed once, not per mint.
        self._slot_seconds = settings.slot_seconds
        self._headroom_limit = settings.headroom_limit
        self._headroom_ttl = 2 * settings.headroom_window_seconds + 1.0
        self._principal_window = settings.principal_window_seconds
        self._principal_ttl = settings.principal_window_seconds + 1.0
        # In-process counters read the last slots in one call (no round trip to save elsewhere).
        self._local = (
            counters if type(counters) is LocalCounters else None
        )  # not a subclass: its own increment
        self._keys: tuple[int | None, str, list[str]] = (None, "", [])

    def admit(self, principal: str | None, *, wait_slots: int = 0) -> Admission:
        """Count one mint for `principal`; `MintBudgetExceededError` / `AuthQuotaReservedError` if not now.

        `wait_slots` > 0: when the fleet's headroom is in use, wait for the next slot (up to that
        many times) instead of refusing at once. For shared grants, whose one mint serves many callers.
        """
        while True:
            try:
                return self._admit(principal)
            except AuthQuotaReservedError:
                if wait_slots <= 0:
                    raise
                wait_slots -= 1
                _, left = window(self._clock(), self.settings.slot_seconds)
                self._sleep(left + 0.001)

    def _admit(self, principal: str | None) -> Admission:
        now = self._clock()
        admission = _UNCHARGED if principal is None else self._charge(principal, now)
        slot, slot_left = window(now, self._slot_seconds)
        full = self._full_slot == slot  # one attribute read: atomic, no lock needed
        if full or not self._take_headroom(slot):
            with self._lock:
                self._full_slot = slot
            self.refund(admission)
            raise AuthQuotaReservedError(
                "the vendors' share of Momento's auth quota is in use; the rest is kept for key rotation",
                math.ceil(slot_left),
            )
        return admission

    def _take_headroom(self, slot: int) -> bool:
        """Count a mint on `slot`; keep it only if the sliding window had room (else count it back)."""
        ttl, limit = self._headroom_ttl, self._headroom_limit
        key, earlier = self._slot_keys(slot)
        mine = self._headroom_increment(key, 1, ttl)
        if mine > limit:
            self._increment(key, -1, ttl)
            return False
        if self._local is not None:
            before = sum(
                self._checked(k, v, 0, ttl)
                for k, v in zip(earlier, self._local.increments(earlier, 0, ttl), strict=True)
            )
        else:
            before = sum(self._headroom_increment(k, 0, ttl) for k in earlier)
        if mine + before > limit:
            self._increment(key, -1, ttl)
            return False
        return True

    def _slot_keys(self, slot: int) -> tuple[str, list[str]]:
        """The counter names of `slot` and of the slots before it, built once per slot."""
        known = self._keys
        if known[0] != slot:
            keys = [f"mb:a:{slot - i}" for i in range(HEADROOM_SLOTS + 1)]
            known = self._keys = (slot, keys[0], keys[1:])
        return known[1], known[2]

    def _charge(self, principal: str, now: float) -> Admission:
        index, left = window(now, self._principal_window)
        counter = f"mb:p:{digest(principal)}:{index}"
        if self._spent.get(counter) == index:  # one dict read: atomic, no lock needed
            raise self._over_budget(left)
        ttl = self._principal_ttl
        value = self._increment(counter, 1, ttl)
        if value < 1:  # below the 1 just added: forged (a refund never goes below the count)
            self._tampered(counter)
            raise self._over_budget(left)
        if value > self.settings.principal_mints:
            with self._lock:
                if len(self._spent) > 10_000:
                    self._spent.clear()
                self._spent[counter] = index
            raise self._over_budget(left)
        return Admission(counter, ttl)

    def refund(self, admission: Admission) -> None:
        """Give a principal's count back: nothing was minted."""
        if admission.principal_counter is not None:
            self._increment(admission.principal_counter, -1, admission.ttl_seconds)

    def _over_budget(self, seconds_left: float) -> MintBudgetExceededError:
        s = self.settings
        return MintBudgetExceededError(
            f"at most {s.principal_mints} new tokens per {s.principal_window_seconds} s per caller",
            math.ceil(seconds_left),
        )

    def _headroom_increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        """A headroom count no forged value can switch off: below `amount` (negative before the
        increment) means someone wrote the item, so this container's own count decides instead."""
        return self._checked(key, self._increment(key, amount, ttl_seconds), amount, ttl_seconds)

    def _checked(self, key: str, value: int, amount: int, ttl_seconds: float) -> int:
        """`value`, counted after adding `amount`, unless it is impossible (see `_headroom_increment`)."""
        if value >= amount:
            return value
        self._tampered(key)
        return self._fallback.increment(key, amount, ttl_seconds)

    def _tampered(self, key: str) -> None:
        """Counters only ever count up from 0 (and back by refunds): a value below that is forged."""
        logger.error("shared mint counter holds an impossible value: tampered", extra={"counter": key})
        self._record("MintCounterTampered")

    def _increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        try:
            return self._counters.increment(key, amount, ttl_seconds)
        except KeyGuardError as exc:
            logger.warning(
                "shared mint counters unavailable; counting in this container only", extra={"error": exc.code}
            )
            return self._fallback.increment(key, amount, ttl_seconds)


class CounterLease:
    """`MintLease` on shared counters: of all containers missing one grant, one mints.

    The first to count 1 on the grant's lease counter for the current slot holds the lease,
    unless the previous slot's holder may still be minting (it counted there and released
    nothing): a mint that runs across a slot boundary does not elect a second minter. A waiter
    remembers which holder it waits for, so a release counted in that holder's slot reaches it.
    """

    def __init__(
        self, counters: Counters, *, clock: Callable[[], float] = time.time, seconds: float = LEASE_SECONDS
    ) -> None:
        self._counters = counters
        self._clock = clock
        self.seconds = seconds
        self._lock = threading.Lock()
        self._held: dict[str, int] = {}
        self._watched: dict[str, int] = {}

    def acquire(self, cache_key: str) -> bool:
        slot, _ = window(self._clock(), self.seconds)
        try:
            first = self._count("l", cache_key, slot, 1) == 1
            if first and not self._busy(cache_key, slot - 1):
                self._remember(self._held, cache_key, slot)
                return True
            if first:  # deferring to the previous slot's holder: this slot holds nothing
                self._count("d", cache_key, slot, 1)
        except KeyGuardError as exc:
            logger.warning("shared mint lease unavailable; minting without it", extra={"error": exc.code})
            return True
        self._remember(self._watched, cache_key, slot)
        return False

    def release(self, cache_key: str) -> None:
        """Counted on a second counter: the lease counter itself only ever says who came first."""
        with self._lock:
            slot = self._held.pop(cache_key, None)
        if slot is not None:
            with contextlib.suppress(KeyGuardError):  # if it fails, waiters stop at their deadline
                self._count("r", cache_key, slot, 1)

    def released(self, cache_key: str) -> bool:
        """True when the holder this caller waits for minted nothing (or there is none)."""
        with self._lock:
            slot = self._watched.get(cache_key)
        if slot is None:
            return True
        try:
            if self._count("r", cache_key, slot, 0) > 0:
                return True
            deferred = self._count("d", cache_key, slot, 0) > 0
            return deferred and self._count("r", cache_key, slot - 1, 0) > 0
        except KeyGuardError:
            return True

    def _busy(self, cache_key: str, slot: int) -> bool:
        """The slot's first may still be minting: it counted, released nothing and did not defer."""
        return (
            self._count("l", cache_key, slot, 0) > 0
            and self._count("r", cache_key, slot, 0) == 0
            and self._count("d", cache_key, slot, 0) == 0
        )

    def _count(self, kind: str, cache_key: str, slot: int, amount: int) -> int:
        return self._counters.increment(f"mb:{kind}:{cache_key}:{slot}", amount, 3 * self.seconds)

    def _remember(self, table: dict[str, int], cache_key: str, slot: int) -> None:
        with self._lock:
            if len(table) > 10_000:
                table.clear()
            table[cache_key] = slot
