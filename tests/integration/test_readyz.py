"""/readyz refuses wrong credentials. (503 while Keycloak is stopped, 200 once it is back:
tests/integration/test_faults.py, which stops it mid-wizard.)"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from bridge.app import create_app
from bridge.settings import Settings


@pytest.mark.anyio
async def test_readyz_refuses_a_wrong_client_secret(stack: Any) -> None:
    """Keycloak up but our credentials refused is not ready either."""
    settings = Settings.from_env(
        {
            "UM_KEYCLOAK_URL": stack.url,
            "UM_BRIDGE_CLIENT_SECRET": "wrong",
            "UM_SESSION_SECRET": secrets.token_urlsafe(32),
        }
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
