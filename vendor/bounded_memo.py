"""A bounded memo with O(1) eviction of its oldest entry, for results kept per caller or request.

An `OrderedDict`, not a dict: evicting a dict's first entry over and over leaves the deleted
slots at the front, which `next(iter(d))` walks on every eviction (about 9 µs per new caller at
10,000 entries); `popitem(last=False)` unlinks the oldest entry directly. So a flood of new keys
costs each of them one computation, never a scan.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class BoundedMemo[Value]:
    """Results per key, at most `limit` of them; when full the oldest entry goes."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._entries: OrderedDict[tuple[Any, ...], Value] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Value | None:
        return self._entries.get(key)

    def put(self, key: tuple[Any, ...], value: Value) -> None:
        with self._lock:
            if key not in self._entries and len(self._entries) >= self._limit:
                self._entries.popitem(last=False)
            self._entries[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)
