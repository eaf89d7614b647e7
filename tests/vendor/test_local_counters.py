"""The in-process counters: what a plain dict with expiry times answers, without scanning it.

`LocalCounters` once dropped expired counters by scanning every entry on every increment as soon
as 10,000 were alive (one per principal per minute: a busy container), about 3 ms per mint
admission. Now expiries come off a heap. The answers must be those of the obvious model, and the
budget on in-process counters (which reads the last slots in one call) must decide as it does
on any other `Counters`.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.errors import KeyGuardError
from vendor.mint_budget import BudgetSettings, LocalCounters, MintBudget


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Model:
    """The specification: `LocalCounters` as it was, scan and all."""

    def __init__(self, clock: Clock, max_entries: int = 10_000) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._values: dict[str, tuple[int, float]] = {}

    def increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        now = self._clock()
        value, expires = self._values.get(key, (0, 0.0))
        if expires <= now:
            value = 0
        if len(self._values) >= self._max_entries:
            for stale in [k for k, (_, e) in self._values.items() if e <= now]:
                del self._values[stale]
        value += amount
        self._values[key] = (value, now + ttl_seconds)
        return value


class NoScan(dict[str, Any]):
    """A counter table that fails the test if anything walks all of it."""

    def items(self) -> Any:
        raise AssertionError("scanned every counter")

    def __iter__(self) -> Any:
        raise AssertionError("scanned every counter")


def test_a_full_table_is_not_scanned_on_each_increment() -> None:
    clock = Clock()
    counters = LocalCounters(clock, max_entries=3)
    counters._values = NoScan()
    for i in range(50):  # all alive: nothing to drop, and nothing may walk the table to find that
        assert counters.increment(f"mb:p:{i}", 1, 60.0) == 1
        clock.now += 0.01


def test_expired_counters_are_dropped_when_the_table_is_full() -> None:
    clock = Clock()
    counters = LocalCounters(clock, max_entries=100)
    for i in range(100):
        counters.increment(f"k{i}", 1, 5.0)
    clock.now += 6.0
    assert counters.increment("fresh", 2, 5.0) == 2
    assert len(counters._values) == 1


operations = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.sampled_from([-1, 0, 0, 1, 2]),
        st.sampled_from([0.5, 1.0, 3.0, 61.0]),
        st.sampled_from([0.0, 0.0, 0.1, 0.6, 2.0, 70.0, -0.3]),  # clock steps, one backwards
        st.booleans(),  # as one `increments` call of the next keys
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(operations, st.integers(1, 4))
def test_answers_are_the_models(ops: list[tuple[str, int, float, float, bool]], max_entries: int) -> None:
    clock = Clock()
    counters, model = LocalCounters(clock, max_entries=max_entries), Model(clock, max_entries)
    for key, amount, ttl, step, batch in ops:
        clock.now += step
        if batch:
            keys = [key, chr(ord(key) + 1), key]
            assert counters.increments(keys, amount, ttl) == [model.increment(k, amount, ttl) for k in keys]
        else:
            assert counters.increment(key, amount, ttl) == model.increment(key, amount, ttl)
        assert counters._values == model._values  # the same counters kept, expired ones included


class Generic(LocalCounters):
    """The same counters seen as any `Counters`: the budget reads them one increment at a time."""

    def increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        return super().increment(key, amount, ttl_seconds)


def decisions(counters: LocalCounters, clock: Clock, steps: list[tuple[str | None, float]]) -> list[str]:
    budget = MintBudget(BudgetSettings(principal_mints=2), counters, clock=clock)
    out = []
    for principal, step in steps:
        clock.now += step
        try:
            admission = budget.admit(principal)
            out.append(f"admitted {admission}")
        except KeyGuardError as exc:
            out.append(f"{type(exc).__name__}: {exc}")
    return out


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([None, "p1", "p2", "p3"]), st.sampled_from([0.0, 0.05, 0.3, 1.1, 61.0]))
    )
)
def test_the_budget_decides_alike_on_in_process_and_other_counters(
    steps: list[tuple[str | None, float]],
) -> None:
    local, generic = Clock(), Clock()
    assert decisions(LocalCounters(local), local, steps) == decisions(Generic(generic), generic, steps)
