"""The stack a test session runs against: one real Keycloak (dev or production mode), a
real SMTP sink, the bridge served by uvicorn. The fixtures that start them live in
tests/conftest.py; these are what they hand to the tests."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.keycloak import KeycloakInstance
from devstack.mailsink import start_mail_sink

REALM = "um"


def keycloak_mode() -> str:
    """UM_TEST_KEYCLOAK: "dev" (default: start-dev on H2, as `make dev`) or "production"
    (`kc.sh start` over HTTPS on PostgreSQL, as deployed: the stage that runs `-m core`)."""
    mode = os.environ.get("UM_TEST_KEYCLOAK", "dev")
    if mode not in ("dev", "production"):
        raise pytest.UsageError(f"UM_TEST_KEYCLOAK={mode!r}: dev or production")
    return mode


class AdminAuth(httpx.Auth):
    """Bearer token of the master-realm bootstrap admin, renewed before it expires
    (admin tokens live 60 s, a test session much longer)."""

    def __init__(self, new_token: Callable[[], str]) -> None:
        self.new_token = new_token
        self.token = ""
        self.expires = 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if time.monotonic() > self.expires:
            self.token = self.new_token()
            self.expires = time.monotonic() + 45
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


@dataclass
class Stack:
    keycloak: KeycloakInstance
    mail_dir: Path
    smtp_port: int
    secrets: dict[str, str]
    bridge_port: int
    sink: Any = None
    redis: Any = None  # devstack.redis.RedisInstance: the limits' counters

    @property
    def redis_url(self) -> str:
        return str(self.redis.url)

    def counter(self, key: str) -> int:
        """A counter of the limits as the bridge sees it (bridge.flows.limits keys)."""
        import redis

        with redis.Redis.from_url(self.redis_url) as client:
            return int(client.get("um:" + key) or 0)

    def held(self, key: str) -> str | None:
        """A value the bridge holds in the shared store (an INE proof's digest), or None."""
        import redis

        with redis.Redis.from_url(self.redis_url) as client:
            value = client.get("um:" + key)
        return value.decode() if isinstance(value, bytes) else None

    def set_counter(self, key: str, value: int, ttl: int = 86400) -> None:
        import redis

        with redis.Redis.from_url(self.redis_url) as client:
            client.set("um:" + key, value, ex=ttl)

    def stop_smtp(self) -> None:
        self.sink.stop()

    def start_smtp(self) -> None:
        handler = self.sink.handler if self.sink is not None else None
        self.sink = start_mail_sink(
            self.mail_dir,
            port=self.smtp_port,
            bounce_maildir=getattr(handler, "bounce_maildir", None),
            bounce_address=getattr(handler, "bounce_address", None),
        )

    @property
    def bounce_maildir(self) -> Path:
        """Where the sink returns its DSNs (mail to @bounce.test from the bounce address)."""
        return Path(self.sink.handler.bounce_maildir)

    @property
    def url(self) -> str:
        return self.keycloak.url

    @property
    def portal_redirect_uri(self) -> str:
        """Registered for the portal client (`${UM_PORTAL_URL}/*`); tests that play the
        relying party read the redirect to it and never follow it."""
        return f"http://localhost:{self.bridge_port}/portal/test-callback"

    @property
    def realm_url(self) -> str:
        return f"{self.url}/realms/{REALM}"

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/admin/realms/{REALM}",
            auth=AdminAuth(self.keycloak.admin_token),
            timeout=30,
        )

    def mails(self) -> list[Path]:
        return sorted(self.mail_dir.glob("*.eml"))


@dataclass
class Bridge:
    url: str
    app: Any
