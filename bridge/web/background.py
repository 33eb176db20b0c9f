"""Work the answer must not wait for (nor reveal by its duration): an asyncio task on the
app's event loop, kept in `app.state.background` so that it is not garbage-collected
before it ends, and awaited when the app shuts down (`drain`).

A failure is logged by its type and its frames only: an exception's message may carry what
the logs must never hold (an INE, an address; bridge/logconfig.py)."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from starlette.requests import Request

log = logging.getLogger("bridge.web.background")

T = TypeVar("T")
MAX_PENDING = 500  # beyond, new work is dropped (and logged): memory stays bounded


def tasks_of(request: Request) -> set[asyncio.Task[Any]]:
    tasks: set[asyncio.Task[Any]] = request.app.state.background
    return tasks


def run_in_background(
    request: Request,
    name: str,
    work: Coroutine[Any, Any, T],
    done: Callable[[T], None] = lambda _: None,
) -> None:
    """Start `work` now; `done(result)` once it ends (to log its outcome)."""
    tasks = tasks_of(request)
    if len(tasks) >= MAX_PENDING:
        work.close()
        log.warning("%s dropped: %d background tasks pending", name, len(tasks))
        return
    task = asyncio.create_task(work, name=name)
    tasks.add(task)

    def finished(task: asyncio.Task[T]) -> None:
        tasks.discard(task)
        if task.cancelled():
            log.warning("%s cancelled", name)
            return
        error = task.exception()
        if error is not None:
            frames = "".join(traceback.format_tb(error.__traceback__))
            log.error("%s failed: %s\n%s", name, type(error).__name__, frames)
            return
        done(task.result())

    task.add_done_callback(finished)


async def drain(tasks: set[asyncio.Task[Any]], timeout: float = 10) -> None:
    """At shutdown: let pending work end (a mail half-sent is worse than a slower stop)."""
    if tasks:
        await asyncio.wait(set(tasks), timeout=timeout)
