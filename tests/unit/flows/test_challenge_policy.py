"""bridge.flows.challenge_policy: which posts need the proof of work, read from the very
counter the per-address limit takes (bridge.flows.limits.allow_address)."""

from __future__ import annotations

import datetime as dt

import pytest

from bridge.domain.deadlines import PARIS
from bridge.flows.challenge_policy import address_key, proof_needed
from bridge.flows.counters import MemoryCounters
from bridge.flows.limits import allow_address

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 9, 7, 10, 0, tzinfo=PARIS)


@pytest.mark.parametrize("address", ["192.0.2.7", "2001:db8::1", "::ffff:192.0.2.7", "junk"])
async def test_the_key_is_the_one_allow_address_takes(address: str) -> None:
    store = MemoryCounters()
    assert await allow_address(store, address, 300, 600, NOW) is None
    assert await store.count(address_key(address, 600, NOW)) == 1


async def test_the_network_counts_not_the_host() -> None:
    assert address_key("2001:db8::1", 600, NOW) == address_key("2001:db8::ffff", 600, NOW)
    assert address_key("192.0.2.7", 600, NOW) != address_key("192.0.2.8", 600, NOW)


async def test_from_the_post_after_the_threshold_on() -> None:
    store = MemoryCounters()
    needed = []
    for _ in range(12):
        before = await proof_needed(store, "192.0.2.7", 600, 10, NOW, counted=False)
        await allow_address(store, "192.0.2.7", 300, 600, NOW)
        after = await proof_needed(store, "192.0.2.7", 600, 10, NOW, counted=True)
        assert before == after  # the page's forecast is the post's verdict
        needed.append(after)
    assert needed == [False] * 10 + [True] * 2
    # Another network, or the next window: nothing needed.
    assert not await proof_needed(store, "192.0.2.8", 600, 10, NOW, counted=False)
    later = NOW + dt.timedelta(seconds=600)
    assert not await proof_needed(store, "192.0.2.7", 600, 10, later, counted=False)


async def test_zero_asks_it_of_every_post() -> None:
    store = MemoryCounters()
    assert await proof_needed(store, "192.0.2.7", 600, 0, NOW, counted=False)
