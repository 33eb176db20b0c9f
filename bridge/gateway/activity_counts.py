"""The bridge's activity counts for the staff dashboard (docs/dashboard.md), in the Redis
the replicas share: one hash per UTC hour, `um:activity:<YYYY-MM-DDTHH>`, field -> count,
kept BUCKET_TTL_DAYS. Every replica and job adds to the same keys with HINCRBY, so that the
sum is exact however many processes count. Counts only: the fields are fixed words
(`lookup.send_mail`, `mail.activation.sent`, ...), never an identifier or an address.

The web layer counts on the request path: `add` only adds in memory and starts a write on
the running event loop; a failed write is logged and kept for the next one (bounded), the
answer never waits for Redis nor fails for it. `flush` writes what is pending (the
dashboard calls it first, so that its own replica's latest counts are in)."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from redis import Redis as SyncRedis
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bridge.domain.dashboard import BUCKET_TTL_DAYS, hour_key
from bridge.domain.errors import ServiceUnavailable

log = logging.getLogger("bridge.gateway.activity_counts")

PREFIX = "um:activity:"
TTL = BUCKET_TTL_DAYS * 86400
MAX_PENDING_KEYS = 10_000  # (hour, field) pairs kept while Redis is down; beyond, dropped


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _increments(pipe: Any, counts: Mapping[tuple[str, str], int]) -> None:
    for hour in sorted({hour for hour, _ in counts}):
        for (h, name), count in counts.items():
            if h == hour and count:
                pipe.hincrby(PREFIX + hour, name, int(count))
        pipe.expire(PREFIX + hour, TTL)


class ActivityCounts:
    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._pending: collections.Counter[tuple[str, str]] = collections.Counter()
        self._writing: asyncio.Task[None] | None = None

    def add(self, name: str, at: dt.datetime, count: int = 1) -> None:
        key = (hour_key(at), name)
        if key not in self._pending and len(self._pending) >= MAX_PENDING_KEYS:
            log.warning("activity count dropped: %d buckets pending", len(self._pending))
            return
        self._pending[key] += count
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # outside the app's loop: written by the next flush
        if self._writing is None or self._writing.done():
            self._writing = loop.create_task(self._write(), name="activity counts")

    async def flush(self) -> None:
        """Write what this process still holds (raises ServiceUnavailable if Redis is down;
        the counts stay pending)."""
        writing = self._writing
        if writing is not None and not writing.done():
            await asyncio.wait([writing])
        await self._write(raise_errors=True)

    async def _write(self, raise_errors: bool = False) -> None:
        if not self._pending:
            return
        counts, self._pending = self._pending, collections.Counter()
        try:
            pipe = self._redis.pipeline(transaction=False)
            _increments(pipe, counts)
            await pipe.execute()
        except (RedisError, OSError) as error:
            for key, count in counts.items():
                if key in self._pending or len(self._pending) < MAX_PENDING_KEYS:
                    self._pending[key] += count
            log.warning("activity counts not written yet: %s", type(error).__name__)
            if raise_errors:
                raise ServiceUnavailable(f"Redis: {type(error).__name__}") from error

    async def read(self, hours: Sequence[str]) -> dict[str, dict[str, int]]:
        """hour -> field -> count, for the hours asked (an hour nobody counted in: {})."""
        try:
            pipe = self._redis.pipeline(transaction=False)
            for hour in hours:
                pipe.hgetall(PREFIX + hour)
            answers = await pipe.execute()
        except (RedisError, OSError) as error:
            raise ServiceUnavailable(f"Redis: {type(error).__name__}") from error
        return {
            hour: {_text(k): int(v) for k, v in answer.items()}
            for hour, answer in zip(hours, answers, strict=True)
        }


def add_counts(url: str, counts: Mapping[str, int], at: dt.datetime) -> None:
    """From a process without an event loop (a job's command): add `counts` to the hour
    of `at`, at once. ServiceUnavailable when Redis is down."""
    hour = hour_key(at)
    try:
        client = SyncRedis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        pipe = client.pipeline(transaction=False)
        _increments(pipe, {(hour, name): count for name, count in counts.items()})
        pipe.execute()
        client.close()
    except (RedisError, OSError) as error:
        raise ServiceUnavailable(f"Redis: {type(error).__name__}") from error


# The jobs' items the dashboard shows: (job, item) -> counted as `job.<job>.<item>`.
JOB_ITEMS = frozenset({("expire", "disabled"), ("provision", "reenabled")})


def add_job_counts(url: str | None, job: str, items: Mapping[str, int], ended: float) -> None:
    counts = {f"job.{job}.{item}": n for item, n in items.items() if (job, item) in JOB_ITEMS}
    if url and any(counts.values()):
        add_counts(url, counts, dt.datetime.fromtimestamp(ended, dt.UTC))
