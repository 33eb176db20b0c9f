"""One real Keycloak for the whole test session, on free ports, with the realm and theme
of the repository and a real SMTP sink. If Keycloak cannot start the session fails: there
is no skip path."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from bridge.gateway.keycloak import ProvisioningGateway, RealmSetup, StudentsGateway
from bridge.gateway.keycloak.charter import charter_version
from bridge.logconfig import LOG_CONFIG
from bridge.settings import REPO_ROOT, Settings, SmtpSettings
from devstack.mailsink import DEV_BOUNCE_ADDRESS, start_mail_sink
from devstack.ports import free_ports
from devstack.private import cookie_secrets, private_keycloak
from devstack.redis import RedisInstance
from tests.helpers.accounts import random_ine
from tests.helpers.report import LINES, report
from tests.helpers.stack import REALM, Bridge, Stack, keycloak_mode
from tests.helpers.totp import keycloak_credential, new_secret

# The production-shape stage runs on its own deployment, alone
# (scripts/test-production-shape): never collected with the other tests.
collect_ignore = [] if os.environ.get("UM_TEST_STAGE") == "production-shape" else ["production"]

# The bridge's UM_UNIVERSITY_DOMAINS, which the realm set-up writes into Keycloak too.
UNIVERSITY_DOMAINS = "umontpellier.fr,umontpellier.example"
THEME_DIR = REPO_ROOT / "themes" / "um-activation"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for line in LINES:
        terminalreporter.write_line(f"[tests] {line}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    mail_dir = tmp_path_factory.mktemp("mail")
    if keycloak_mode() == "production":
        private = private_keycloak("test-keycloak-production", "postgres", production=True)
        assert private.keycloak.tls
        # Every client of the session (httpx, Authlib, requests) trusts the local CA.
        os.environ.update(private.keycloak.tls.trust_environment())
    else:
        private = private_keycloak("test-keycloak")
    keycloak, values = private.keycloak, private.secrets
    smtp_port, bridge_port = private.smtp_port, private.bridge_port
    # Mail to @bounce.test comes back as a DSN into this Maildir (integration/test_bounces.py).
    sink = start_mail_sink(
        mail_dir,
        port=smtp_port,
        bounce_maildir=tmp_path_factory.mktemp("bounces"),
        bounce_address=DEV_BOUNCE_ADDRESS,
    )
    counters = RedisInstance(private.keycloak.directory / "redis", free_ports(1)[0])
    counters.start()
    started = time.monotonic()
    private.start()
    report(
        f"Keycloak {private.description} ready on {keycloak.url} in "
        f"{time.monotonic() - started:.1f}s (JDK {keycloak.java_major})"
    )
    stack = Stack(keycloak, mail_dir, smtp_port, values, bridge_port, sink, counters)
    try:
        # The set-up steps the realm file cannot carry (`bridge realm setup`), as in `make dev`.
        setup = RealmSetup.administrator(
            keycloak.url, "um", keycloak.admin_user, keycloak.admin_password
        )
        asyncio.run(
            setup.setup(
                university_domains=UNIVERSITY_DOMAINS.split(","),
                charter_version=charter_version(THEME_DIR),
                now=int(time.time()),
            )
        )
        yield stack
    finally:
        private.stop()
        counters.stop()
        with contextlib.suppress(Exception):
            stack.sink.stop()  # the current one: a test may have restarted it


@pytest.fixture(scope="session")
def admin(stack: Stack) -> Iterator[httpx.Client]:
    with stack.admin() as client:
        yield client


@pytest.fixture
def gateway(stack: Stack) -> StudentsGateway:
    """The bridge's own gateway, with the bridge's service account: what production uses."""
    return StudentsGateway.service_account(
        stack.url, REALM, "bridge", stack.secrets["UM_BRIDGE_CLIENT_SECRET"]
    )


@pytest.fixture
def make_user(admin: httpx.Client) -> Callable[..., dict[str, Any]]:
    """Create a student through the admin API; returns its representation plus `password`
    and `otp_secret`.

    A staff member (`/staff` in `groups`) gets an enrolled authenticator app by default, as
    the realm's browser flow demands of them (docs/security.md, "Staff second factor"):
    a TOTP credential with `otp_secret` (base32; a new random one by default), returned so
    that the test can compute codes (tests/helpers/totp.py). `otp=False` makes a staff
    member who has not set one up yet; `otp=True` gives one to anyone."""

    def make(
        password: str | None = "Test-pass-2026!",
        enabled: bool = True,
        groups: tuple[str, ...] = ("/students",),
        otp: bool | None = None,
        otp_secret: str | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        suffix = uuid.uuid4().hex[:8]
        rep: dict[str, Any] = {
            "username": f"t{suffix}",
            "enabled": enabled,
            "firstName": "Jeanne",
            "lastName": f"Test{suffix}",
            "email": f"rescue.{suffix}@example.org",
            "emailVerified": True,
            "groups": list(groups),
            "attributes": {
                "ine": [random_ine()],
                "supannEtuId": [suffix],
                "institutionalEmail": [f"jeanne.{suffix}@etu.umontpellier.example"],
                "eduPersonAffiliation": ["student"],
                "lastEnrollmentYear": ["2098"],
                "validUntil": ["2099-12-31"],
            },
        }
        rep.update(overrides)
        credentials: list[dict[str, Any]] = []
        if password:
            credentials.append({"type": "password", "value": password, "temporary": False})
        if otp is None:
            otp = "/staff" in groups or otp_secret is not None
        if otp:
            otp_secret = otp_secret or new_secret()
            credentials.append(keycloak_credential(otp_secret, "Test phone"))
        else:
            otp_secret = None
        if credentials:
            rep["credentials"] = credentials
        response = admin.post("/users", json=rep)
        assert response.status_code == 201, response.text
        user_id = response.headers["Location"].rsplit("/", 1)[1]
        created: dict[str, Any] = admin.get(f"/users/{user_id}").json()
        created["password"] = password
        created["otp_secret"] = otp_secret
        return created

    return make


@pytest.fixture(scope="session")
def bridge(stack: Stack) -> Iterator[Bridge]:
    """The real bridge app served by uvicorn on a free port, pointed at the test Keycloak."""
    port = stack.bridge_port
    settings = Settings.from_env(
        {
            "UM_KEYCLOAK_URL": stack.url,
            "UM_BRIDGE_CLIENT_SECRET": stack.secrets["UM_BRIDGE_CLIENT_SECRET"],
            "UM_PORTAL_CLIENT_SECRET": stack.secrets["UM_PORTAL_CLIENT_SECRET"],
            "UM_CONSOLE_CLIENT_SECRET": stack.secrets["UM_CONSOLE_CLIENT_SECRET"],
            **cookie_secrets(),
            "UM_BRIDGE_URL": f"http://localhost:{port}",
            "UM_DEV_MODE": "true",
            "UM_MAIL_DIR": str(stack.mail_dir),
            "UM_UNIVERSITY_DOMAINS": UNIVERSITY_DOMAINS,
            # Every test posts from 127.0.0.1: the per-address limit has its own test.
            "UM_ADDRESS_LIMIT": "100000/600",
            # and the proof of work too (tests/integration/test_challenge.py).
            "UM_CHALLENGE_AFTER": "100000",
            "UM_REDIS_URL": stack.redis_url,
        }
    )
    from bridge.app import create_app

    smtp = SmtpSettings(
        "127.0.0.1", stack.smtp_port, starttls=False, bounce_address=DEV_BOUNCE_ADDRESS
    )
    app = create_app(settings, smtp=smtp)
    # Production's logging (access log without query strings): test_log_leaks reads it.
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=LOG_CONFIG))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the bridge did not start")
        time.sleep(0.05)
    try:
        yield Bridge(f"http://localhost:{port}", app)
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            thread.join(10)


@pytest.fixture(scope="session")
def bridge_url(bridge: Bridge) -> str:
    return bridge.url


@pytest.fixture
def clock(bridge: Bridge) -> Iterator[Callable[[dt.datetime | None], None]]:
    """clock(t) makes the bridge's "now" t (an aware datetime); clock(None) real time again.
    Always restored after the test."""
    real = bridge.app.state.clock

    def set_now(value: dt.datetime | None) -> None:
        bridge.app.state.clock = real if value is None else (lambda: value)

    try:
        yield set_now
    finally:
        bridge.app.state.clock = real


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def free_port_url() -> str:
    """An address on which nothing listens: a Keycloak that is down."""
    return f"http://127.0.0.1:{free_ports(1)[0]}"


@pytest.fixture
def jobs_gateway(stack: Stack) -> ProvisioningGateway:
    """The provisioning client's service account: what the CLI jobs use."""
    return ProvisioningGateway.service_account(
        stack.url,
        REALM,
        "provisioning",
        stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
        timeout=120,
    )
