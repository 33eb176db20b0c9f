"""Per-client-address limit on the students' forms, in memory.

Per replica by design: the per-account limits that matter (mails, INE attempts) live in
Keycloak and are shared; this one only blunts one address hammering one replica.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class AddressLimiter:
    def __init__(
        self, requests: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.requests = requests
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def allow(self, address: str) -> bool:
        now = self.clock()
        hits = self._hits.setdefault(address, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.requests:
            return False
        hits.append(now)
        if len(self._hits) > 100_000:  # bound memory under a spray of addresses
            self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
