"""Faults in the middle of a flow, each followed by the flow completing: nothing lost,
nothing half-written, no counter consumed by a failure.

- Keycloak stopped between two steps of the wizard (and /readyz following it);
- the SMTP server down during a send, from each of the three places that send;
- the bridge process restarted mid-wizard (its state lives in the signed cookie).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bridge.domain.deadlines import PARIS
from devstack.ports import free_ports
from tests.helpers.accounts import attribute, ine_of, last_link_at
from tests.helpers.activation import follow, post, start
from tests.helpers.browserless import browser
from tests.helpers.console import console_login, post_action
from tests.helpers.keycloak_pages import NEW_PASSWORD, signs_in, use_link
from tests.helpers.lost_password import ask, settle
from tests.helpers.mailbox import action_link, mails_for, wait_for_mails
from tests.helpers.pages import text

UNAVAILABLE = "Service momentanément indisponible"


def finish_ine_path(client: httpx.Client, bridge: Any, student: dict[str, Any]) -> str:
    """From the INE step to the mail; returns the rescue address given."""
    answer = post(client, bridge, "/activation/ine", ine=ine_of(student))
    assert answer.headers["Location"] == "/activation/rescue-email", answer.text[:300]
    rescue = f"apres.panne.{student['username']}@example.org"
    answer = post(client, bridge, "/activation/rescue-email", email=rescue, email_confirm=rescue)
    assert answer.headers["Location"] == "/activation/mail-sent", answer.text[:300]
    return rescue


@pytest.mark.timeout(900)  # a Keycloak restart: about a minute here
def test_keycloak_stopped_between_two_wizard_steps(
    bridge: Any, stack: Any, admin: httpx.Client, make_user: Any
) -> None:
    student = make_user(password=None, email=None, emailVerified=False)
    with browser() as client:
        assert start(client, bridge, student["username"]).headers["Location"] == "/activation/ine"
        stack.keycloak.stop()
        try:
            down = post(client, bridge, "/activation/ine", ine=ine_of(student))
            ready = httpx.get(f"{bridge.url}/readyz", timeout=30)
            alive = httpx.get(f"{bridge.url}/healthz", timeout=30)
        finally:
            stack.keycloak.start()
        assert down.status_code == 503
        assert UNAVAILABLE in text(down) and "Rien n'a été modifié" in text(down)
        assert ready.status_code == 503
        assert ready.json() == {
            "status": "unavailable",
            "reason": "service_unavailable",
            "component": "keycloak",
        }
        assert alive.status_code == 200
        assert httpx.get(f"{bridge.url}/readyz", timeout=30).status_code == 200
        # Same browser, same wizard: the step is taken again and the flow completes.
        rescue = finish_ine_path(client, bridge, student)
    assert stack.counter(f"ine:fail:{student['id']}:{today()}") == 0
    use_link(action_link(wait_for_mails(stack.mail_dir, rescue)[0]))
    assert signs_in(bridge.url, student["username"], NEW_PASSWORD)


def today() -> str:
    return dt.datetime.now(PARIS).date().isoformat()


@contextlib.contextmanager
def smtp_down(stack: Any) -> Iterator[None]:
    stack.stop_smtp()
    try:
        yield
    finally:
        stack.start_smtp()


def test_smtp_down_during_a_lost_password_mail(
    bridge: Any, stack: Any, admin: httpx.Client, make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The mail goes out after the answer (the answer reveals nothing, docs/security.md): the
    student gets the usual page, the failure is logged, nothing is counted."""
    student = make_user()
    with smtp_down(stack), browser() as client:
        answer = ask(client, bridge, student["username"])
        settle(bridge)  # the send was tried while the relay was down
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/lost-password/mail-sent"
    assert any(
        "lost password: nothing sent, service unavailable" in r.getMessage() for r in caplog.records
    )
    assert stack.counter(f"mail:day:{student['id']}:{today()}") == 0
    assert last_link_at(admin, student["id"]) is None
    assert mails_for(stack.mail_dir, student["email"]) == []
    with browser() as client:
        assert ask(client, bridge, student["username"]).status_code == 303
    wait_for_mails(stack.mail_dir, student["email"])


def test_smtp_down_during_a_console_activation_mail(
    bridge: Any, stack: Any, admin: httpx.Client, make_user: Any
) -> None:
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    student = make_user(password=None)
    with browser() as console:
        console_login(
            console, bridge.url, staff["username"], staff["password"], staff["otp_secret"]
        )
        with smtp_down(stack):
            down = post_action(console, bridge.url, student["id"], "send-activation-mail")
        assert down.status_code == 503
        assert UNAVAILABLE in text(down)
        assert stack.counter(f"mail:day:{student['id']}:{today()}") == 0
        assert attribute(admin, student["id"], "umStaffAction") is None  # nothing recorded
        sent = post_action(console, bridge.url, student["id"], "send-activation-mail")
        assert sent.status_code == 303
    assert attribute(admin, student["id"], "umStaffAction")
    wait_for_mails(stack.mail_dir, student["email"])


class BridgeProcess:
    """`python -m bridge serve`, as production runs it, on a port of its own."""

    def __init__(self, stack: Any) -> None:
        self.port = free_ports(1)[0]
        self.url = f"http://localhost:{self.port}"
        self.env = {
            **os.environ,
            "UM_KEYCLOAK_URL": stack.url,
            "UM_BRIDGE_CLIENT_SECRET": stack.secrets["UM_BRIDGE_CLIENT_SECRET"],
            "UM_SESSION_SECRET": secrets.token_urlsafe(32),  # kept across restarts
            "UM_BRIDGE_URL": self.url,
            # Links in mails land on the registered portal (the realm has no wildcard port).
            "UM_PORTAL_URL": f"http://localhost:{stack.bridge_port}/portal",
            "UM_ACTION_REDIRECT_URI": f"http://localhost:{stack.bridge_port}/portal/login",
            "UM_UNIVERSITY_DOMAINS": "umontpellier.fr,umontpellier.example",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve", "--port", str(self.port)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            assert self.process.poll() is None, "the bridge exited while starting"
            time.sleep(0.2)
        raise AssertionError("the bridge did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)


def test_bridge_restarted_mid_wizard(stack: Any, admin: httpx.Client, make_user: Any) -> None:
    student = make_user(password=None, email=None, emailVerified=False)
    served = BridgeProcess(stack)
    served.start()
    try:
        with browser() as client:
            answer = start(client, served, student["username"])
            assert answer.headers["Location"] == "/activation/ine"
            served.stop()
            served.start()
            page = follow(client, served, answer)
            assert page.status_code == 200 and 'name="ine"' in page.text
            rescue = finish_ine_path(client, served, student)
    finally:
        served.stop()
    wait_for_mails(stack.mail_dir, rescue)
    assert len(mails_for(stack.mail_dir, rescue)) == 1  # one mail: no step ran twice
    assert admin.get(f"/users/{student['id']}").json()["email"] == rescue
