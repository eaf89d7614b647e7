"""Token reuse: reuse share of the lifetime, single flight, the shared level, throttling."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from shared.errors import MomentoLimitExceededError, MomentoUnavailableError
from shared.momento_types import VendedToken
from vendor.token_cache import TokenCache


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Minter:
    """Stands in for the mint call only (the cache's collaborator is a plain callable)."""

    def __init__(self, clock: Clock, lifetime: int = 1000) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.fail: Exception | None = None

    def __call__(self) -> VendedToken:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return VendedToken(
            f"token-{self.calls}", int(self.clock.now) + self.lifetime, "momento.local", "caller"
        )


class DictStore:
    """A second-level store shared by several caches, as containers share a Momento cache."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[str, int]] = {}
        self.broken = False

    def get(self, item_key: str) -> str | None:
        if self.broken:
            raise MomentoUnavailableError("down")
        found = self.items.get(item_key)
        return found[0] if found else None

    def set(self, item_key: str, value: str, ttl_seconds: int) -> None:
        if self.broken:
            raise MomentoUnavailableError("down")
        self.items[item_key] = (value, ttl_seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_reused_until_the_fraction_of_its_lifetime(clock: Clock) -> None:
    cache, mint = TokenCache(0.8, clock=clock), Minter(clock)
    first = cache.get_or_mint("k", mint)
    clock.now += 799
    again = cache.get_or_mint("k", mint)
    assert (first.source, again.source, again.token) == ("minted", "memory", first.token)
    clock.now += 1
    renewed = cache.get_or_mint("k", mint)
    assert renewed.source == "minted"
    assert renewed.token.auth_token == "token-2"


def test_keys_are_separate(clock: Clock) -> None:
    cache, mint = TokenCache(0.8, clock=clock), Minter(clock)
    cache.get_or_mint("a", mint)
    cache.get_or_mint("b", mint)
    assert mint.calls == 2


def test_concurrent_requests_share_one_mint(clock: Clock) -> None:
    cache = TokenCache(0.8, clock=clock)
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_mint() -> VendedToken:
        calls.append(1)
        entered.set()
        release.wait()
        return VendedToken("shared-token", int(clock.now) + 1000, "momento.local", "caller")

    results: list[str] = []

    def request(mint: Callable[[], VendedToken]) -> None:
        results.append(cache.get_or_mint("k", mint).token.auth_token)

    leader = threading.Thread(target=request, args=(slow_mint,))
    leader.start()
    entered.wait()
    followers = [threading.Thread(target=request, args=(slow_mint,)) for _ in range(8)]
    for follower in followers:
        follower.start()
    release.set()
    for thread in [leader, *followers]:
        thread.join()
    assert len(calls) == 1
    assert results == ["shared-token"] * 9


def test_followers_share_the_leaders_error(clock: Clock) -> None:
    cache = TokenCache(0.8, clock=clock)
    entered, release = threading.Event(), threading.Event()

    def failing_mint() -> VendedToken:
        entered.set()
        release.wait()
        raise MomentoUnavailableError("down")

    errors: list[type[BaseException]] = []

    def request() -> None:
        try:
            cache.get_or_mint("k", failing_mint)
        except MomentoUnavailableError as exc:
            errors.append(type(exc))

    threads = [threading.Thread(target=request) for _ in range(4)]
    threads[0].start()
    entered.wait()
    for thread in threads[1:]:
        thread.start()
    release.set()
    for thread in threads:
        thread.join()
    assert errors == [MomentoUnavailableError] * 4


def test_throttled_serves_a_still_valid_token(clock: Clock) -> None:
    cache, mint = TokenCache(0.8, clock=clock), Minter(clock)
    first = cache.get_or_mint("k", mint)
    clock.now += 900
    mint.fail = MomentoLimitExceededError("quota")
    stale = cache.get_or_mint("k", mint)
    assert (stale.source, stale.token) == ("stale", first.token)


def test_throttled_without_a_valid_token_raises(clock: Clock) -> None:
    cache, mint = TokenCache(0.8, clock=clock), Minter(clock)
    cache.get_or_mint("k", mint)
    clock.now += 995
    mint.fail = MomentoLimitExceededError("quota")
    with pytest.raises(MomentoLimitExceededError):
        cache.get_or_mint("k", mint)
    with pytest.raises(MomentoLimitExceededError):
        cache.get_or_mint("other", mint)


def test_shared_level_spares_other_containers_a_mint(clock: Clock) -> None:
    store, mint = DictStore(), Minter(clock)
    first = TokenCache(0.8, store, clock=clock).get_or_mint("k", mint)
    value, ttl = store.items["k"]
    assert "token-1" in value
    assert ttl == 800
    second = TokenCache(0.8, store, clock=clock).get_or_mint("k", mint)
    assert (second.source, second.token, mint.calls) == ("shared", first.token, 1)


def test_shared_entries_past_their_reuse_share_are_ignored(clock: Clock) -> None:
    store, mint = DictStore(), Minter(clock)
    TokenCache(0.8, store, clock=clock).get_or_mint("k", mint)
    clock.now += 801
    assert TokenCache(0.8, store, clock=clock).get_or_mint("k", mint).source == "minted"


def test_broken_shared_level_degrades_to_minting(clock: Clock) -> None:
    store, mint = DictStore(), Minter(clock)
    store.broken = True
    outcome = TokenCache(0.8, store, clock=clock).get_or_mint("k", mint)
    assert outcome.source == "minted"


def test_bounded_memory(clock: Clock) -> None:
    cache, mint = TokenCache(0.8, clock=clock, max_entries=3), Minter(clock)
    for key in "abcdef":
        cache.get_or_mint(key, mint)
    assert cache.get_or_mint("f", mint).source == "memory"
    assert cache.get_or_mint("a", mint).source == "minted"


# --- issue 13: one minter per grant across containers, budget refusals ------------------------


def test_a_second_container_waits_for_the_first_ones_mint_instead_of_minting(clock: Clock) -> None:
    from vendor.mint_budget import CounterLease, LocalCounters

    store, counters = DictStore(), LocalCounters(clock)
    minter = Minter(clock)
    first = TokenCache(0.8, store, clock=clock, lease=CounterLease(counters, clock=clock))
    polls: list[float] = []

    def sleep(seconds: float) -> None:
        # While the second container waits, the first one (which won the lease) mints.
        polls.append(seconds)
        if len(polls) == 3:
            first._lead("k", minter, None)

    second = TokenCache(0.8, store, clock=clock, lease=CounterLease(counters, clock=clock), sleep=sleep)
    assert CounterLease(counters, clock=clock).acquire("k")  # the first container's lease
    outcome = second.get_or_mint("k", minter)
    assert outcome.source == "shared"
    assert minter.calls == 1
    assert len(polls) == 3


def test_a_waiting_container_mints_itself_when_the_leaseholder_never_delivers(clock: Clock) -> None:
    from vendor.mint_budget import CounterLease, LocalCounters

    counters = LocalCounters(clock)
    CounterLease(counters, clock=clock).acquire("k")  # a container that then died
    minter = Minter(clock)
    cache = TokenCache(
        0.8, DictStore(), clock=clock, lease=CounterLease(counters, clock=clock), sleep=lambda s: None
    )
    assert cache.get_or_mint("k", minter).source == "minted"
    assert minter.calls == 1


def test_a_budget_refusal_serves_a_still_valid_token(clock: Clock) -> None:
    from shared.errors import MintBudgetExceededError

    minter = Minter(clock)
    cache = TokenCache(0.5, clock=clock)
    first = cache.get_or_mint("k", minter).token
    clock.now += 600  # past the reuse share, 400 s left
    minter.fail = MintBudgetExceededError("over budget", 30)
    outcome = cache.get_or_mint("k", minter)
    assert (outcome.source, outcome.token) == ("stale", first)
    clock.now += 395  # too close to expiry to hand out
    with pytest.raises(MintBudgetExceededError):
        cache.get_or_mint("k", minter)


def test_a_refused_leaseholder_releases_so_waiters_stop_waiting(clock: Clock) -> None:
    from shared.errors import AuthQuotaReservedError
    from vendor.mint_budget import CounterLease, LocalCounters

    store, counters = DictStore(), LocalCounters(clock)
    refused = Minter(clock)
    refused.fail = AuthQuotaReservedError("fleet share in use", 1)
    holder = TokenCache(0.8, store, clock=clock, lease=CounterLease(counters, clock=clock))
    with pytest.raises(AuthQuotaReservedError):
        holder.get_or_mint("k", refused)
    polls: list[float] = []
    minter = Minter(clock)
    waiter = TokenCache(
        0.8, store, clock=clock, lease=CounterLease(counters, clock=clock), sleep=polls.append
    )
    assert waiter.get_or_mint("k", minter).source == "minted"
    assert polls == []  # the release was seen before any wait, not after 2.5 s of polls


# --- issue 15: a full cache evicts without a scan ----------------------------------------------


class NoScanDict(dict[str, object]):
    """The cache's entry map, refusing to be iterated: eviction must not walk every entry."""

    def items(self) -> object:  # type: ignore[override]
        raise AssertionError("scanned every entry")

    def __iter__(self) -> object:  # type: ignore[override]
        raise AssertionError("scanned every entry")


def test_full_cache_evicts_without_scanning(clock: Clock) -> None:
    cache, mint = TokenCache(0.8, clock=clock, max_entries=100), Minter(clock)
    for i in range(100):
        cache.get_or_mint(f"k{i}", mint)
    cache._entries = NoScanDict(cache._entries)  # type: ignore[assignment]
    for i in range(100, 150):
        assert cache.get_or_mint(f"k{i}", mint).source == "minted"
    assert len(cache._entries) == 100


def test_full_cache_drops_the_entry_whose_reuse_ends_first(clock: Clock) -> None:
    cache = TokenCache(0.8, clock=clock, max_entries=3)
    long_lived, short_lived = Minter(clock, lifetime=10_000), Minter(clock, lifetime=100)
    cache.get_or_mint("old-but-long", long_lived)
    clock.now += 50
    cache.get_or_mint("newer-but-short", short_lived)
    cache.get_or_mint("third", long_lived)
    cache.get_or_mint("fourth", long_lived)  # full: the short one goes, not the oldest insert
    assert cache.get_or_mint("old-but-long", long_lived).source == "memory"
    assert cache.get_or_mint("newer-but-short", short_lived).source == "minted"


def test_replaced_entries_do_not_grow_the_eviction_heap(clock: Clock) -> None:
    cache, mint = TokenCache(0.8, clock=clock, max_entries=10), Minter(clock, lifetime=10)
    for _ in range(200):
        clock.now += 9  # past the reuse share: every request re-mints the same key
        cache.get_or_mint("k", mint)
    assert len(cache._by_reuse_end) <= 20
    assert cache.get_or_mint("k", mint).source == "memory"
