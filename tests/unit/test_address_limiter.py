from __future__ import annotations

from bridge.web.ratelimit import AddressLimiter


def test_sliding_window_per_address() -> None:
    now = [0.0]
    limiter = AddressLimiter(2, 60, clock=lambda: now[0])
    assert limiter.allow("a") and limiter.allow("a")
    assert not limiter.allow("a")
    assert limiter.allow("b")  # another address is not affected
    now[0] = 60.5
    assert limiter.allow("a")
