"""The bridge's activation wizard, one step at a time, over plain HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import httpx

from tests.helpers.forms import csrf_token


def post(client: httpx.Client, bridge: Any, path: str, **data: str) -> httpx.Response:
    """A form post with the session's CSRF token (which start() read from step 1)."""
    return client.post(f"{bridge.url}{path}", data={"csrf_token": client.um_csrf, **data})  # type: ignore[attr-defined]


def start(client: httpx.Client, bridge: Any, identifier: str) -> httpx.Response:
    """Step 1: open the page (which resets the wizard), type the identifier."""
    client.um_csrf = csrf_token(client.get(f"{bridge.url}/activation").text)  # type: ignore[attr-defined]
    return post(client, bridge, "/activation", identifier=identifier)


def follow(client: httpx.Client, bridge: Any, response: httpx.Response) -> httpx.Response:
    assert response.status_code == 303, (response.status_code, response.text[:500])
    return client.get(urljoin(bridge.url, response.headers["Location"]))
