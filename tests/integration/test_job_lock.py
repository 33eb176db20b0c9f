"""The scheduled jobs' lock in the session's Redis (bridge.gateway.job_runs): held for as
long as its run lasts, however long, and never longer than its time to live after the
holder is gone."""

from __future__ import annotations

import time
import uuid
from typing import Any

import redis

from bridge.gateway.job_runs import Holder, RedisJobLock, held


def key_of(name: str) -> str:
    return f"um:job:lock:{name}"


def test_a_run_longer_than_the_ttl_keeps_its_lock_then_gives_it_back(stack: Any) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    mine = RedisJobLock(stack.redis_url, name, ttl=1)
    with held(mine, Holder.me("first"), renew_every=0.3):
        time.sleep(2.5)  # past two TTLs: only the renewals keep it
        holder = RedisJobLock(stack.redis_url, name).acquire(Holder.me("second"))
        assert holder is not None and holder.job == "first"
    with redis.Redis.from_url(stack.redis_url) as client:
        assert client.exists(key_of(name)) == 0


def test_a_crashed_holders_lock_lapses_and_a_waiting_run_takes_it(stack: Any) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    crashed = RedisJobLock(stack.redis_url, name, ttl=1)
    assert crashed.acquire(Holder.me("crashed")) is None  # never renewed, never released
    started = time.monotonic()
    with held(RedisJobLock(stack.redis_url, name), Holder.me("next"), wait=5):
        assert 0.5 < time.monotonic() - started < 5


def test_a_release_never_removes_another_runs_lock(stack: Any) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}"
    lapsed = RedisJobLock(stack.redis_url, name, ttl=1)
    assert lapsed.acquire(Holder.me("lapsed")) is None
    time.sleep(1.5)
    taker = RedisJobLock(stack.redis_url, name)
    assert taker.acquire(Holder.me("taker")) is None
    assert lapsed.renew() is False
    lapsed.release()  # by its own token only: the taker's lock stays
    with redis.Redis.from_url(stack.redis_url) as client:
        assert b'"job": "taker"' in client.get(key_of(name))
    taker.release()
