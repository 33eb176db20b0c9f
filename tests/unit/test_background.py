"""bridge.web.background: work started after the answer is kept until it ends, its result
handed on, a failure logged without its message, and the number pending bounded."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from bridge.web import background

pytestmark = pytest.mark.anyio


def fake_request() -> Any:
    return SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(background=set())))


async def test_kept_until_done_then_handed_on() -> None:
    request, results = fake_request(), []

    async def work() -> str:
        await asyncio.sleep(0.01)
        return "sent"

    background.run_in_background(request, "test", work(), results.append)
    assert len(request.app.state.background) == 1
    await background.drain(request.app.state.background)
    await asyncio.sleep(0)  # the done callback runs on the next turn of the loop
    assert results == ["sent"]
    assert request.app.state.background == set()


async def test_a_failure_is_logged_by_type_only(caplog: pytest.LogCaptureFixture) -> None:
    request = fake_request()
    personal = "jean.martin@example.org 1234567890A"

    async def work() -> None:
        raise ValueError(personal)  # the frames show this line of source, not the value

    background.run_in_background(request, "test", work())
    await background.drain(request.app.state.background)
    await asyncio.sleep(0)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)
    assert "test failed: ValueError" in logged
    assert "example.org" not in logged and "1234567890A" not in logged


async def test_pending_work_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(background, "MAX_PENDING", 2)
    request, gate = fake_request(), asyncio.Event()
    started = []

    async def work(n: int) -> None:
        started.append(n)
        await gate.wait()

    for n in range(3):
        background.run_in_background(request, "test", work(n))
    await asyncio.sleep(0)
    assert started == [0, 1]
    gate.set()
    await background.drain(request.app.state.background)
