"""bridge.flows.counters.MemoryCounters (the one-replica store) and bridge.flows.limits'
keys: the same semantics the Redis store implements with its scripts."""

from __future__ import annotations

import pytest

from bridge.flows.counters import MemoryCounters
from bridge.flows.limits import network_of

pytestmark = pytest.mark.anyio


async def test_take_until_the_limit_then_wait_for_the_window() -> None:
    now = [100.0]
    store = MemoryCounters(clock=lambda: now[0])
    assert [await store.take("k", 2, 60) for _ in range(3)] == [None, None, 60]
    now[0] += 30
    assert await store.take("k", 2, 60) == 30
    await store.give_back("k")
    assert await store.take("k", 2, 60) is None  # the unit given back is taken again
    now[0] += 31
    assert await store.count("k") == 0  # the window ended: forgotten
    assert await store.take("k", 2, 60) is None


async def test_spacing_on_the_callers_clock() -> None:
    store = MemoryCounters()
    assert await store.space("gap", 1000.0, 60) is None
    assert await store.space("gap", 1045.0, 60) == 15
    await store.unspace("gap", 1000.0)  # the action at 1000 did not happen
    assert await store.space("gap", 1045.0, 60) is None


async def test_many_keys_are_forgotten_without_a_scan() -> None:
    now = [0.0]
    store = MemoryCounters(clock=lambda: now[0])
    for n in range(10_000):
        await store.take(f"addr:{n}", 1, 10)
    now[0] = 11
    await store.take("again", 1, 10)
    assert len(store._counts) == 1


def test_networks() -> None:
    assert network_of("192.0.2.7") == "192.0.2.7"
    assert network_of("2001:db8:1:2:3:4:5:6") == network_of("2001:db8:1:2:ffff::1")
    assert network_of("2001:db8:1:2::1") != network_of("2001:db8:1:3::1")
    assert network_of("::ffff:192.0.2.7") == "192.0.2.7"
    assert network_of("not an address") == "unknown"
