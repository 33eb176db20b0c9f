"""Nothing secret reaches a log: the bridge's logs (its own messages, uvicorn's access log,
the libraries', as `bridge serve` configures them: bridge/logconfig.py) and Keycloak's
server log, over a full activation through the INE, a lost password by INE, and a staff
session that searches by INE, reveals the rescue address, resets the account and issues an
activation key. Searched for: the INE (as typed and normalised), the rescue addresses, the
passwords, the activation key, the mailed action token, and any JWT or OAuth code."""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from bridge.domain.deadlines import PARIS
from tests.helpers.browserless import browser
from tests.helpers.console import console_login, post_action
from tests.helpers.forms import csrf_token
from tests.helpers.keycloak_pages import NEW_PASSWORD, signs_in, use_link
from tests.helpers.mailbox import action_link, wait_for_mails

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")
KEY = re.compile(r'id="um-letter-key"[^>]*>\s*([^<\s]+)')


def post_form(client: httpx.Client, url: str, page_url: str, **data: str) -> httpx.Response:
    page = client.get(page_url)
    return client.post(url, data={"csrf_token": csrf_token(page.text), **data})


def test_no_secret_in_any_log(
    bridge: Any,
    stack: Any,
    make_user: Any,
    clock: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # production's level; each logger keeps its own config
    keycloak_log = stack.keycloak.log_path
    keycloak_offset = keycloak_log.stat().st_size
    url = bridge.url
    student = make_user(password=None, email=None, emailVerified=False)
    ine = student["attributes"]["ine"][0]
    rescue = f"secours.{student['username']}@example.net"
    second_password = "Autre-mdp-2026!"
    secrets_seen: dict[str, str] = {"INE": ine, "rescue email": rescue}

    # 1. Activation through the INE (typed in lower case, with spaces), rescue email, link.
    with browser() as client:
        step = post_form(
            client, f"{url}/activation", f"{url}/activation", identifier=student["username"]
        )
        assert step.headers["Location"] == "/activation/ine"
        step = post_form(
            client, f"{url}/activation/ine", f"{url}/activation/ine", ine=f" {ine.lower()} "
        )
        assert step.headers["Location"] == "/activation/rescue-email"
        step = post_form(
            client,
            f"{url}/activation/rescue-email",
            f"{url}/activation/rescue-email",
            email=rescue,
            email_confirm=rescue,
        )
        assert step.headers["Location"] == "/activation/mail-sent"
    link = action_link(wait_for_mails(stack.mail_dir, rescue)[0])
    secrets_seen["action token"] = parse_qs(urlparse(link).query)["key"][0]
    use_link(link, NEW_PASSWORD)
    assert signs_in(url, student["username"], NEW_PASSWORD)
    secrets_seen["password"] = NEW_PASSWORD

    # 2. Lost password, by INE (past the minimum interval between two mails).
    clock(dt.datetime.now(PARIS) + dt.timedelta(minutes=2))
    with browser() as client:
        step = post_form(client, f"{url}/lost-password", f"{url}/lost-password", login=ine)
        assert step.headers["Location"] == "/lost-password/mail-sent"
    second = action_link(wait_for_mails(stack.mail_dir, rescue, count=2)[-1])
    secrets_seen["second action token"] = parse_qs(urlparse(second).query)["key"][0]
    use_link(second, second_password)
    secrets_seen["second password"] = second_password

    # 3. The console: search by INE, reveal, reset, activation key.
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    secrets_seen["staff password"] = staff["password"]
    secrets_seen["staff OTP secret"] = staff["otp_secret"]
    with browser() as console:
        console_login(console, url, staff["username"], staff["password"], staff["otp_secret"])
        found = console.get(f"{url}/console", params={"q": ine, "by": "ine"})
        assert student["username"] in found.text
        page = console.get(f"{url}/console/accounts/{student['id']}")
        shown = console.post(
            f"{url}/console/accounts/{student['id']}/show-rescue-email",
            data={"csrf_token": csrf_token(page.text)},
        )
        assert rescue in shown.text
        reset = post_action(console, url, student["id"], "reset", reason="Oubli, vu au guichet")
        assert reset.status_code == 303
        letter = post_action(console, url, student["id"], "issue-activation-key")
        key = KEY.search(letter.text)
        assert key, letter.text[:500]
        secrets_seen["activation key"] = key.group(1)

    bridge_logs = "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records)
    with keycloak_log.open("rb") as log:
        log.seek(keycloak_offset)
        keycloak_logs = log.read().decode(errors="replace")
    # The capture works: the flows above are in it.
    assert "GET /activation" in bridge_logs and "POST /console/accounts/" in bridge_logs
    assert f"console action reset by {staff['username']}" in bridge_logs
    for where, logs in (("bridge", bridge_logs), ("Keycloak", keycloak_logs)):
        for what, value in secrets_seen.items():
            for form in {value, value.lower(), value.upper()}:
                assert form not in logs, f"the {what} is in the {where} log"
        assert not JWT.search(logs), f"a token is in the {where} log"
        assert "code=" not in logs and "state=" not in logs, f"an OAuth code in the {where} log"
