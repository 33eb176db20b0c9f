"""The bridge's lost-password form, over plain HTTP."""

from __future__ import annotations

from typing import Any

import httpx

from tests.helpers.forms import csrf_token


def ask(client: httpx.Client, bridge: Any, login: str) -> httpx.Response:
    """Open the form and ask for a link for `login` (an identifier or an INE)."""
    page = client.get(f"{bridge.url}/lost-password")
    return client.post(
        f"{bridge.url}/lost-password", data={"csrf_token": csrf_token(page.text), "login": login}
    )
