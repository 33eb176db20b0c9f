"""/readyz follows Keycloak: 503 while it is stopped, 200 again once it is back."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from bridge.app import create_app
from bridge.settings import Settings


def test_readyz_follows_keycloak(bridge_url: str, stack: Any) -> None:
    assert httpx.get(f"{bridge_url}/readyz", timeout=30).status_code == 200
    stack.keycloak.stop()
    try:
        down = httpx.get(f"{bridge_url}/readyz", timeout=30)
        assert down.status_code == 503
        assert down.json() == {"status": "unavailable", "reason": "service_unavailable"}
        assert httpx.get(f"{bridge_url}/healthz").status_code == 200
    finally:
        stack.keycloak.start()
    assert httpx.get(f"{bridge_url}/readyz", timeout=30).status_code == 200


@pytest.mark.anyio
async def test_readyz_refuses_a_wrong_client_secret(stack: Any) -> None:
    """Keycloak up but our credentials refused is not ready either."""
    settings = Settings.from_env(
        {
            "UM_KEYCLOAK_URL": stack.url,
            "UM_BRIDGE_CLIENT_SECRET": "wrong",
            "UM_SESSION_SECRET": secrets.token_urlsafe(16),
        }
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
