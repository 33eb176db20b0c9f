"""The counters every replica shares, in Redis (redis-py): one atomic script per take, so
that fifty parallel requests on two replicas take exactly the limit. Redis down is
ServiceUnavailable: the forms that send mail answer 503 and send nothing."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bridge.domain.errors import ServiceUnavailable

# KEYS[1] the counter; ARGV[1] the limit, ARGV[2] the window in seconds. Returns 0 when a
# unit was taken, else the seconds left in the window (at least 1).
TAKE = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= tonumber(ARGV[1]) then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 1 then ttl = 1 end
  return ttl
end
count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# Give a unit back only if one is there: a window that ended meanwhile stays ended.
GIVE_BACK = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""
# KEYS[1] the event; ARGV[1] now (POSIX seconds, the app's clock), ARGV[2] the interval.
SPACE = """
local last = tonumber(redis.call('GET', KEYS[1]) or '')
local now, interval = tonumber(ARGV[1]), tonumber(ARGV[2])
if last and now - last < interval then
  return math.max(1, math.ceil(last + interval - now))
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', math.ceil(interval) + 86400)
return 0
"""
UNSPACE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS[1] the held value; ARGV[1] the value it must hold to be removed. 1 when removed.
SPEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""
PREFIX = "um:"


class RedisCounters:
    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._take = self._redis.register_script(TAKE)
        self._give_back = self._redis.register_script(GIVE_BACK)
        self._space = self._redis.register_script(SPACE)
        self._unspace = self._redis.register_script(UNSPACE)
        self._spend = self._redis.register_script(SPEND)

    async def _call(self, script: Any, key: str, *args: int | str) -> int:
        try:
            return int(await script(keys=[PREFIX + key], args=list(args)))
        except (RedisError, OSError) as error:
            raise ServiceUnavailable(f"Redis: {type(error).__name__}") from error

    async def take(self, key: str, limit: int, window: int) -> int | None:
        wait = await self._call(self._take, key, limit, window)
        return wait or None

    async def give_back(self, key: str) -> None:
        await self._call(self._give_back, key)

    async def space(self, key: str, now: float, interval: int) -> int | None:
        wait = await self._call(self._space, key, repr(now), interval)
        return wait or None

    async def unspace(self, key: str, now: float) -> None:
        await self._call(self._unspace, key, repr(now))

    async def hold(self, key: str, value: str, ttl: int) -> None:
        try:
            await self._redis.set(PREFIX + key, value, ex=ttl)
        except (RedisError, OSError) as error:
            raise ServiceUnavailable(f"Redis: {type(error).__name__}") from error

    async def acquire(self, key: str, value: str, ttl: int) -> bool:
        try:
            return bool(await self._redis.set(PREFIX + key, value, ex=ttl, nx=True))
        except (RedisError, OSError) as error:
            raise ServiceUnavailable(f"Redis: {type(error).__name__}") from error

    async def spend(self, key: str, value: str) -> bool:
        return await self._call(self._spend, key, value) == 1

    async def count(self, key: str) -> int:
        try:
            value = await self._redis.get(PREFIX + key)
        except (RedisError, OSError) as error:
            raise ServiceUnavailable(f"Redis: {type(error).__name__}") from error
        return int(value or 0)

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except (RedisError, OSError) as error:
            raise ServiceUnavailable(f"Redis: {type(error).__name__}") from error
