"""Counters every replica shares, for the limits (bridge.flows.limits): a store that takes
one unit under a ceiling atomically, or says how long until it frees up, and gives a unit
back when the action it was reserved for failed.

`MemoryCounters` is the embedded default: one process only, so one replica only (README).
The Redis store (bridge.gateway.redis_counters) is what several replicas share.
"""

from __future__ import annotations

import heapq
import hmac
import math
import time
from collections.abc import Callable
from typing import Protocol


class CounterStore(Protocol):
    async def take(self, key: str, limit: int, window: int) -> int | None:
        """One unit of `key`, if fewer than `limit` were taken in its window (`window`
        seconds from the first unit): None. Else the seconds until the window ends."""
        ...

    async def give_back(self, key: str) -> None:
        """Return a unit taken for an action that did not happen."""
        ...

    async def count(self, key: str) -> int: ...

    async def space(self, key: str, now: float, interval: int) -> int | None:
        """At most one event of `key` per `interval` seconds, on the app's clock (`now`,
        POSIX seconds): None and the event recorded, else the seconds left to wait."""
        ...

    async def unspace(self, key: str, now: float) -> None:
        """Forget the event recorded at `now` (its action did not happen)."""
        ...

    async def hold(self, key: str, value: str, ttl: int) -> None:
        """Keep `value` under `key` for `ttl` seconds, replacing what was there."""
        ...

    async def spend(self, key: str, value: str) -> bool:
        """Remove `key` if it holds `value`, atomically: of racing callers with the same
        value, one gets True. A wrong value leaves the key as it was."""
        ...

    async def acquire(self, key: str, value: str, ttl: int) -> bool:
        """Hold `value` under `key` for `ttl` seconds if nothing is held there: a lock,
        released with `spend(key, value)`."""
        ...

    async def ping(self) -> None:
        """ServiceUnavailable unless the store answers."""
        ...


class MemoryCounters:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, window end)
        self._ends: list[tuple[float, str]] = []  # a heap: forgetting costs log(n), not n
        self._last: dict[str, float] = {}
        self._last_seen = 1024
        self._held: dict[str, tuple[str, float]] = {}  # key -> (value, end)

    def _forget_expired(self, now: float) -> None:
        while self._ends and self._ends[0][0] <= now:
            _, key = heapq.heappop(self._ends)
            entry = self._counts.get(key)
            if entry is not None and entry[1] <= now:
                del self._counts[key]

    async def take(self, key: str, limit: int, window: int) -> int | None:
        now = self._clock()
        self._forget_expired(now)
        count, end = self._counts.get(key, (0, now + window))
        if count >= limit:
            return max(1, math.ceil(end - now))
        if count == 0:
            heapq.heappush(self._ends, (end, key))
        self._counts[key] = (count + 1, end)
        return None

    async def give_back(self, key: str) -> None:
        entry = self._counts.get(key)
        if entry is not None and entry[0] > 0:
            self._counts[key] = (entry[0] - 1, entry[1])

    async def count(self, key: str) -> int:
        self._forget_expired(self._clock())
        entry = self._counts.get(key)
        return entry[0] if entry else 0

    async def space(self, key: str, now: float, interval: int) -> int | None:
        last = self._last.get(key)
        if last is not None and now - last < interval:
            return max(1, math.ceil(last + interval - now))
        self._last[key] = now
        if len(self._last) > 2 * self._last_seen:  # amortised: drop the long-past events
            horizon = now - 86400
            self._last = {k: t for k, t in self._last.items() if t > horizon}
            self._last_seen = max(1024, len(self._last))
        return None

    async def unspace(self, key: str, now: float) -> None:
        if self._last.get(key) == now:
            del self._last[key]

    async def hold(self, key: str, value: str, ttl: int) -> None:
        now = self._clock()
        if len(self._held) > 1024:  # amortised: drop what ended
            self._held = {k: v for k, v in self._held.items() if v[1] > now}
        self._held[key] = (value, now + ttl)

    async def acquire(self, key: str, value: str, ttl: int) -> bool:
        held = self._held.get(key)
        if held is not None and held[1] > self._clock():
            return False
        await self.hold(key, value, ttl)
        return True

    async def spend(self, key: str, value: str) -> bool:
        held = self._held.get(key)
        if held is None or held[1] <= self._clock():
            return False
        if not hmac.compare_digest(held[0].encode(), value.encode()):
            return False
        del self._held[key]
        return True

    async def ping(self) -> None:
        return None
