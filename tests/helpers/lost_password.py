"""The bridge's lost-password form, over plain HTTP."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from tests.helpers.forms import csrf_token

CSRF_VALUE = re.compile(r'(name="csrf_token" value=")[^"]*(")')


def ask(client: httpx.Client, bridge: Any, login: str) -> httpx.Response:
    """Open the form and ask for a link for `login` (an identifier or an INE)."""
    page = client.get(f"{bridge.url}/lost-password")
    return client.post(
        f"{bridge.url}/lost-password", data={"csrf_token": csrf_token(page.text), "login": login}
    )


def ask_and_read(client: httpx.Client, bridge: Any, login: str) -> tuple[httpx.Response, str]:
    """The form's answer and the page it leads to (its body, the CSRF token blanked: the
    one part of a page that differs between two sessions)."""
    answer = ask(client, bridge, login)
    page = answer
    if answer.status_code == 303:
        page = client.get(bridge.url + answer.headers["Location"])
    return answer, CSRF_VALUE.sub(r"\1\2", page.text)


def settle(bridge: Any, timeout: float = 30) -> None:
    """Wait until the work the form started off the request path (lookup, mail) is done:
    the bridge runs in this process (tests/conftest.py), its tasks are on its app's state."""
    deadline = time.monotonic() + timeout
    while bridge.app.state.background:
        assert time.monotonic() < deadline, "lost-password work still pending"
        time.sleep(0.05)
