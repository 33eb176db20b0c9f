"""The two counter stores keep the same promises (bridge.flows.counters): the Redis one with
its scripts against Debian's redis-server, the in-process one beside it. Concurrency is
real on Redis: many clients at once, one winner."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bridge.flows.counters import CounterStore, MemoryCounters
from bridge.gateway.redis_counters import RedisCounters
from devstack.ports import free_ports
from devstack.redis import RedisInstance

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisInstance(Path(tmp_path_factory.mktemp("redis")), free_ports(1)[0])
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[CounterStore]:
    if request.param == "memory":
        yield MemoryCounters()
        return
    redis = RedisCounters(redis_url)
    await redis._redis.flushdb()
    yield redis
    await redis._redis.aclose()


async def test_take_up_to_the_limit_and_give_back(store: CounterStore) -> None:
    assert [await store.take("k", 2, 60) for _ in range(2)] == [None, None]
    wait = await store.take("k", 2, 60)
    assert wait is not None and 1 <= wait <= 60
    await store.give_back("k")
    assert await store.count("k") == 1
    assert await store.take("k", 2, 60) is None


async def test_parallel_takes_never_pass_the_limit(store: CounterStore) -> None:
    results = await asyncio.gather(*(store.take("burst", 5, 60) for _ in range(50)))
    assert results.count(None) == 5
    assert await store.count("burst") == 5


async def test_spacing_with_intervals_that_grow(store: CounterStore) -> None:
    """The interval is the caller's (the back-off doubles it); the event is remembered long
    enough for the longest."""
    assert await store.space("gap", 1000.0, 60) is None
    assert await store.space("gap", 1030.0, 60) == 30
    assert await store.space("gap", 1060.0, 120) == 60
    assert await store.space("gap", 1120.0, 120) is None
    await store.unspace("gap", 1120.0)
    assert await store.space("gap", 1121.0, 3600) is None  # nothing recorded any more


async def test_a_held_value_is_spent_once(store: CounterStore) -> None:
    await store.hold("proof", "a" * 64, 60)
    assert await store.spend("proof", "b" * 64) is False  # a wrong value leaves it
    results = await asyncio.gather(*(store.spend("proof", "a" * 64) for _ in range(20)))
    assert results.count(True) == 1
    assert await store.spend("proof", "a" * 64) is False


async def test_holding_again_replaces_and_a_held_value_expires(store: CounterStore) -> None:
    await store.hold("proof", "first", 60)
    await store.hold("proof", "second", 60)
    assert await store.spend("proof", "first") is False
    assert await store.spend("proof", "second") is True
    await store.hold("short", "value", 1)
    await asyncio.sleep(1.2)
    assert await store.spend("short", "value") is False


async def test_a_lock_has_one_holder_at_a_time(store: CounterStore) -> None:
    results = await asyncio.gather(*(store.acquire("write:u1", f"t{n}", 10) for n in range(20)))
    assert results.count(True) == 1
    holder = f"t{results.index(True)}"
    assert await store.spend("write:u1", "someone-else") is False  # only the holder releases
    assert await store.spend("write:u1", holder) is True
    assert await store.acquire("write:u1", "next", 1) is True
    await asyncio.sleep(1.2)
    assert await store.acquire("write:u1", "after-it-lapsed", 10) is True
