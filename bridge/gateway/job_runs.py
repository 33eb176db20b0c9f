"""The scheduled jobs' lock and the record of their runs (docs/operations.md).

The lock keeps two runs that write the same accounts (or the same state file) from
overlapping, across hosts: in the store the bridge's replicas share (Redis, UM_REDIS_URL), a
key set only if absent, holding a random token and who took it, with a time to live that the
holder renews while it runs and deletes, by its token, when it ends. A crashed host stops
renewing: its lock lapses after LOCK_TTL seconds. Without Redis, a `flock` on a file serves
one host (the kernel drops it with the process).

The records: per job, the last run (start, end, exit code, outcome, one-line summary), the
end of the last completed one, and counters of the runs by outcome and of what they did
(created, disabled, sent...), which the bridge's /metrics reads at scrape time. Redis down
is ServiceUnavailable, as for the limits' counters.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from redis import Redis
from redis.exceptions import RedisError

from bridge.domain.errors import ServiceUnavailable

PREFIX = "um:job:"
NAMES = PREFIX + "names"  # the jobs that ever recorded a run (a set): what /metrics lists
# Seconds a lock outlives its holder's last renewal; renewed every RENEW_EVERY seconds.
LOCK_TTL, RENEW_EVERY = 60, 20
SUMMARY_MAX = 500  # characters of a run's summary kept

# Renew or delete the lock only while it still holds our token (it may have lapsed and
# been taken by another run meanwhile). 1 when done.
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock: told to the run that finds it taken."""

    job: str
    host: str
    pid: int
    since: float
    token: str = field(default="", repr=False)

    @classmethod
    def me(cls, job: str) -> Holder:
        return cls(job, socket.gethostname(), os.getpid(), time.time(), secrets.token_hex(16))

    def encode(self) -> str:
        fields = ("job", "host", "pid", "since", "token")
        return json.dumps({name: getattr(self, name) for name in fields})

    @classmethod
    def decode(cls, raw: str | bytes | None) -> Holder | None:
        try:
            data = json.loads(raw or "")
            return cls(str(data["job"]), str(data["host"]), int(data["pid"]), float(data["since"]))
        except (ValueError, TypeError, KeyError):
            return None


class LockBusy(Exception):
    """Another run holds the lock; `holder` says who, when it could be read."""

    def __init__(self, holder: Holder | None) -> None:
        super().__init__("the lock is held")
        self.holder = holder


class JobLock(Protocol):
    def acquire(self, me: Holder) -> Holder | None:
        """None when taken; else who holds it (or an unknown Holder if unreadable)."""

    def renew(self) -> bool:
        """False when the lock was lost (lapsed, and maybe taken by another run)."""

    def release(self) -> None: ...


def _redis(url: str) -> Redis:
    return Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


@contextlib.contextmanager
def _store() -> Iterator[None]:
    try:
        yield
    except (RedisError, OSError) as error:
        raise ServiceUnavailable(f"Redis: {type(error).__name__}") from error


UNKNOWN = Holder("?", "?", 0, 0.0)


class RedisJobLock:
    def __init__(self, url: str, name: str, ttl: int = LOCK_TTL) -> None:
        self._redis = _redis(url)
        self._key = f"{PREFIX}lock:{name}"
        self._ttl = ttl
        self._value = ""
        self._renew = self._redis.register_script(RENEW)
        self._release = self._redis.register_script(RELEASE)

    def acquire(self, me: Holder) -> Holder | None:
        value = me.encode()
        with _store():
            if self._redis.set(self._key, value, ex=self._ttl, nx=True):
                self._value = value
                return None
            held: Any = self._redis.get(self._key)
        return Holder.decode(held) or UNKNOWN

    def renew(self) -> bool:
        with _store():
            return bool(self._renew(keys=[self._key], args=[self._value, self._ttl * 1000]))

    def release(self) -> None:
        with _store():
            self._release(keys=[self._key], args=[self._value])


class FileJobLock:
    """One host only: for a deployment without Redis (and the tests' CLI runs)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None

    def acquire(self, me: Holder) -> Holder | None:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                return Holder.decode(os.pread(fd, 4096, 0)) or UNKNOWN
            finally:
                os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, me.encode().encode(), 0)
        self._fd = fd
        return None

    def renew(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None


@contextlib.contextmanager
def held(
    lock: JobLock,
    me: Holder,
    *,
    wait: float = 0.0,
    lost: Callable[[], None] = lambda: None,
    renew_every: float = RENEW_EVERY,
) -> Iterator[None]:
    """The lock, for the block's length: LockBusy if another run still holds it after
    `wait` seconds (polled); renewed in a thread meanwhile, `lost()` called if a renewal
    finds it gone; released at the end, whatever happened."""
    deadline = time.monotonic() + wait
    while (holder := lock.acquire(me)) is not None:
        if time.monotonic() >= deadline:
            raise LockBusy(holder)
        time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(renew_every):
            try:
                still = lock.renew()
            except ServiceUnavailable:
                still = True  # the store is away: the key keeps its TTL, try again later
            if not still:
                lost()
                return

    renewer = threading.Thread(target=renew, name="job-lock-renewal", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join(5)
        with contextlib.suppress(ServiceUnavailable):
            lock.release()  # else it lapses after LOCK_TTL


@dataclass(frozen=True)
class JobRun:
    """One run that took its lock and ended (well or not)."""

    job: str
    outcome: str
    exit_code: int
    started: float
    ended: float
    summary: str
    completed: bool  # did its work to the end: the age of the last one is what alerts watch
    host: str = ""
    items: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class JobState:
    """What /metrics shows of a job (bridge/web/metrics.py)."""

    job: str
    last_started: float | None = None
    last_ended: float | None = None
    last_exit_code: int | None = None
    last_success: float | None = None
    last_summary: str = ""
    runs: Mapping[str, int] = field(default_factory=dict)
    items: Mapping[str, int] = field(default_factory=dict)

    @property
    def last_duration(self) -> float | None:
        if self.last_started is None or self.last_ended is None:
            return None
        return self.last_ended - self.last_started


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _number(fields: Mapping[str, str], name: str) -> float | None:
    try:
        return float(fields[name])
    except (KeyError, ValueError):
        return None


class JobRecords:
    def __init__(self, url: str) -> None:
        self._redis = _redis(url)

    def record(self, run: JobRun) -> None:
        key = f"{PREFIX}run:{run.job}"
        last = {
            "started": repr(run.started),
            "ended": repr(run.ended),
            "exit_code": str(run.exit_code),
            "outcome": run.outcome,
            "summary": run.summary[:SUMMARY_MAX],
            "host": run.host,
        }
        with _store():
            pipe = self._redis.pipeline(transaction=True)
            pipe.hset(key, mapping=last)  # type: ignore[arg-type]
            if run.completed:
                pipe.hset(key, "success", repr(run.ended))
            pipe.hincrby(f"{PREFIX}runs:{run.job}", run.outcome, 1)
            for item, count in run.items.items():
                pipe.hincrby(f"{PREFIX}items:{run.job}", item, int(count))
            pipe.sadd(NAMES, run.job)
            pipe.execute()

    def count_refused(self, job: str, outcome: str) -> None:
        """A run that did not start (its lock held): counted, its job's last run kept."""
        with _store():
            pipe = self._redis.pipeline(transaction=True)
            pipe.hincrby(f"{PREFIX}runs:{job}", outcome, 1)
            pipe.sadd(NAMES, job)
            pipe.execute()

    def read_all(self) -> list[JobState]:
        with _store():
            names = sorted(_text(n) for n in self._redis.smembers(NAMES))
            pipe = self._redis.pipeline(transaction=False)
            for name in names:
                pipe.hgetall(f"{PREFIX}run:{name}")
                pipe.hgetall(f"{PREFIX}runs:{name}")
                pipe.hgetall(f"{PREFIX}items:{name}")
            answers = pipe.execute()
        states = []
        for index, name in enumerate(names):
            last, runs, items = (
                {_text(k): _text(v) for k, v in answers[3 * index + i].items()} for i in range(3)
            )
            code = _number(last, "exit_code")
            states.append(
                JobState(
                    job=name,
                    last_started=_number(last, "started"),
                    last_ended=_number(last, "ended"),
                    last_exit_code=int(code) if code is not None else None,
                    last_success=_number(last, "success"),
                    last_summary=last.get("summary", ""),
                    runs={k: int(v) for k, v in runs.items()},
                    items={k: int(v) for k, v in items.items()},
                )
            )
        return states
