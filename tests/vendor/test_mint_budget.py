"""The mint budget's rules as plain functions of a clock and counters (no Momento needed)."""

from __future__ import annotations

import pytest

from shared.errors import AuthQuotaReservedError, MintBudgetExceededError, MomentoUnavailableError
from vendor.mint_budget import BudgetSettings, CounterLease, LocalCounters, MintBudget, window


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingCounters(LocalCounters):
    """Local counters that also count calls and can fail like an unreachable Momento cache."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock)
        self.calls = 0
        self.broken = False

    def increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        self.calls += 1
        if self.broken:
            raise MomentoUnavailableError("down")
        return super().increment(key, amount, ttl_seconds)


def budget(clock: Clock, counters: LocalCounters | None = None, **settings: float) -> MintBudget:
    return MintBudget(BudgetSettings(**settings), counters or LocalCounters(clock), clock=clock)  # type: ignore[arg-type]


def test_window_numbers_and_time_left() -> None:
    assert window(120.0, 60) == (2, 60.0)
    assert window(179.5, 60) == (2, 0.5)


def test_a_principal_gets_its_budget_then_429_until_the_window_ends() -> None:
    clock = Clock(1_800_000_010.0)  # 10 s into a minute window
    b = budget(clock, account_rate=1000)
    for _ in range(5):
        b.admit("principal:mallory")
        clock.now += 0.01
    with pytest.raises(MintBudgetExceededError) as refused:
        b.admit("principal:mallory")
    assert 45 <= refused.value.retry_after_seconds <= 50
    b.admit("principal:alice")  # others keep their own budget
    clock.now += refused.value.retry_after_seconds
    b.admit("principal:mallory")


def test_vendors_leave_the_reserve_three_mints_per_sliding_second() -> None:
    clock = Clock(1_800_000_000.0)
    b = budget(clock, principal_mints=1000)  # 5/s account, 2/s reserve: 3 per second
    admitted: list[float] = []
    retry_after: set[int] = set()
    for step in range(300):  # 3 seconds in 10 ms steps, every caller a new principal
        clock.now = 1_800_000_000.0 + step * 0.01
        try:
            b.admit(f"principal:p{step}")
            admitted.append(clock.now)
        except AuthQuotaReservedError as exc:
            retry_after.add(exc.retry_after_seconds)
    assert admitted[:3] == [1_800_000_000.0, 1_800_000_000.01, 1_800_000_000.02]  # a quiet fleet bursts
    assert 6 <= len(admitted) <= 9
    assert retry_after == {1}


def test_any_second_holds_at_most_the_vendor_rate() -> None:
    clock = Clock()
    b = budget(clock, principal_mints=10_000)
    times = []
    for step in range(2000):
        clock.now = 1_800_000_000.0 + step * 0.003
        try:
            b.admit(f"principal:{step}")
            times.append(clock.now)
        except AuthQuotaReservedError:
            pass
    worst = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert worst <= 3


def test_headroom_refusal_gives_the_principal_its_count_back() -> None:
    clock = Clock()
    b = budget(clock, principal_mints=1)
    for name in "xyz":
        b.admit(f"principal:{name}")  # the fleet's three for this second
    with pytest.raises(AuthQuotaReservedError):
        b.admit("principal:b")
    clock.now += 1.3
    b.admit("principal:b")  # b's budget of 1 was not spent by the refusal


def test_refund_after_momento_refused() -> None:
    clock = Clock()
    b = budget(clock, principal_mints=1, account_rate=1000)
    b.refund(b.admit("principal:a"))
    clock.now += 0.01
    b.admit("principal:a")


def test_known_refusals_cost_no_counter_calls() -> None:
    clock = Clock()
    counters = CountingCounters(clock)
    b = budget(clock, counters, principal_mints=1, account_rate=1000)
    b.admit("principal:a")
    with pytest.raises(MintBudgetExceededError):
        b.admit("principal:a")
    calls = counters.calls
    for _ in range(100):
        with pytest.raises(MintBudgetExceededError):
            b.admit("principal:a")
    assert counters.calls == calls


def test_an_unreachable_shared_counter_falls_back_to_this_container() -> None:
    clock = Clock()
    counters = CountingCounters(clock)
    counters.broken = True
    b = budget(clock, counters, principal_mints=2, account_rate=1000)
    b.admit("principal:a")
    clock.now += 0.01
    b.admit("principal:a")
    clock.now += 0.01
    with pytest.raises(MintBudgetExceededError):
        b.admit("principal:a")


def test_two_containers_on_one_counter_share_one_budget() -> None:
    # What the Momento counter gives several containers: one count for all of them.
    clock = Clock()
    shared = LocalCounters(clock)
    one, two = budget(clock, shared), budget(clock, shared)
    admitted = 0
    for step in range(100):
        clock.now = 1_800_000_000.0 + step * 0.01
        for container in (one, two):
            try:
                container.admit("principal:p")
                admitted += 1
            except (AuthQuotaReservedError, MintBudgetExceededError):
                pass
    assert admitted == 3  # one second: the fleet's 3 slots, not 3 per container


def test_a_reserve_leaving_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="reserve"):
        budget(Clock(), account_rate=2, reserve_rate=2)


def test_lease_one_winner_per_slot_across_containers() -> None:
    clock = Clock()
    shared = LocalCounters(clock)
    leases = [CounterLease(shared, clock=clock) for _ in range(5)]
    assert [lease.acquire("vend-x") for lease in leases] == [True, False, False, False, False]
    assert leases[1].acquire("vend-y")
    clock.now += 2.0  # the next slot: the winner may still be minting
    assert not leases[3].acquire("vend-x")
    clock.now += 2.0  # a winner that never delivered (crashed): after two slots another may try
    assert leases[4].acquire("vend-x")


def test_a_shared_mint_waits_for_the_next_slot_instead_of_refusing() -> None:
    clock = Clock()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    b = MintBudget(BudgetSettings(), LocalCounters(clock), clock=clock, sleep=sleep)
    for name in "xyz":
        b.admit(f"principal:{name}")  # the fleet's three for this second
    b.admit(None, wait_slots=5)  # a shared grant: no principal budget, waits instead of a 429
    assert 1 <= len(slept) <= 5
    assert all(s <= 0.26 for s in slept)
    for name in "uv":
        b.admit(f"principal:{name}")  # with the shared one, this second's three again
    with pytest.raises(AuthQuotaReservedError):
        b.admit("principal:other")  # no waiting for per-caller grants


def test_a_mint_running_across_a_lease_slot_boundary_elects_no_second_minter() -> None:
    clock = Clock(1_800_000_001.9)  # 0.1 s before a 2 s lease slot ends
    shared = LocalCounters(clock)
    holder, late = CounterLease(shared, clock=clock), CounterLease(shared, clock=clock)
    assert holder.acquire("vend-x")
    clock.now += 0.2  # the holder is still minting in the next slot
    assert not late.acquire("vend-x")
    assert not late.released("vend-x")
    holder.release("vend-x")  # it minted nothing after all
    assert late.released("vend-x")
