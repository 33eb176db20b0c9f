"""I forgot my identifier (issue 18), against the real Keycloak, SMTP sink and Redis: the
identifier is mailed to a verified rescue address only, in the account's language, never
shown; one answer whatever matched; lost password's limits, across two bridge processes."""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.domain.deadlines import PARIS
from bridge.domain.ine import BEA_KEYS
from devstack.ports import free_ports
from tests.helpers.accounts import ine_of, random_ine
from tests.helpers.browserless import browser
from tests.helpers.forms import csrf_token
from tests.helpers.hostile import HostileRequest, form_requests, send
from tests.helpers.lost_password import CSRF_VALUE, settle
from tests.helpers.mailbox import LINK, mails_for, text_of, wait_for_mails
from tests.helpers.pages import text
from tests.helpers.processes import bridge_replicas
from tests.helpers.report import report

pytestmark = pytest.mark.anyio
NOBODY = "9999999998" + BEA_KEYS[9999999998 % 23]  # well formed, nobody's


def ask(client: httpx.Client, url: str, ine: str) -> httpx.Response:
    """Open the form and post `ine`."""
    page = client.get(f"{url}/forgot-identifier")
    assert page.status_code == 200
    return client.post(
        f"{url}/forgot-identifier", data={"csrf_token": csrf_token(page.text), "ine": ine}
    )


def ask_and_read(client: httpx.Client, url: str, ine: str) -> tuple[httpx.Response, bytes]:
    """The form's answer and the page it leads to, as bytes, the CSRF token blanked (the
    one part of a page that differs between two sessions)."""
    answer = ask(client, url, ine)
    page = answer
    if answer.status_code == 303:
        page = client.get(url + answer.headers["Location"])
    return answer, CSRF_VALUE.sub(r"\1\2", page.text).encode()


def mails_counted(bridge: Any, kind: str, outcome: str) -> float:
    registry = bridge.app.state.metrics.registry
    return registry.get_sample_value("um_mails_total", {"kind": kind, "outcome": outcome}) or 0.0


@pytest.mark.core
async def test_the_identifier_is_mailed_never_shown(
    bridge: Any, stack: Any, make_user: Any
) -> None:
    student = make_user(password="Ancien-mdp-2025")
    sent_before = mails_counted(bridge, "identifier", "sent")
    with browser() as client:
        answer = ask(client, bridge.url, f" {ine_of(student).lower()} ")
        assert answer.status_code == 303
        assert answer.headers["Location"] == "/forgot-identifier/mail-sent"
        page = client.get(bridge.url + answer.headers["Location"])
    assert page.status_code == 200
    assert student["username"] not in page.text  # never on screen
    assert student["email"] not in page.text and "***" not in page.text
    assert "Si un compte correspond à ce numéro INE" in text(page)
    (mail,) = wait_for_mails(stack.mail_dir, student["email"])
    body = text_of(mail)
    assert mail["Subject"] == "Votre identifiant de compte informatique"
    assert f"Votre identifiant de compte informatique est : {student['username']}" in body
    assert "Pour vous connecter : " in body
    assert "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message" in body
    assert ine_of(student) not in body  # the INE is not repeated
    assert "action-token" not in body  # a reminder, not an action link
    assert mail.get_content_type() == "text/plain"
    settle(bridge)
    assert mails_counted(bridge, "identifier", "sent") == sent_before + 1
    today = dt.datetime.now(PARIS).date().isoformat()
    assert stack.counter(f"mail:day:{student['id']}:{today}") == 1  # lost password's limits


async def test_in_english_for_an_account_in_english(
    bridge: Any, stack: Any, make_user: Any
) -> None:
    """The page is read in French (no Accept-Language); the mail follows the account."""
    ine = random_ine()
    student = make_user(
        attributes={"ine": [ine], "locale": ["en"], "validUntil": ["2099-12-31"]},
    )
    with browser() as client:
        assert ask(client, bridge.url, ine).status_code == 303
    (mail,) = wait_for_mails(stack.mail_dir, student["email"])
    body = text_of(mail)
    assert mail["Subject"] == "Your IT account identifier"
    assert f"Your IT account identifier is: {student['username']}" in body
    assert "If you did not ask for this, ignore this email" in body
    assert "Bonjour" not in body


async def test_a_disabled_account_is_told_so(bridge: Any, stack: Any, make_user: Any) -> None:
    student = make_user(enabled=False)
    with browser() as client:
        assert ask(client, bridge.url, ine_of(student)).status_code == 303
    (mail,) = wait_for_mails(stack.mail_dir, student["email"])
    body = text_of(mail)
    assert student["username"] in body
    assert "Ce compte est actuellement désactivé" in body


async def test_an_unverified_address_or_none_gets_nothing(
    bridge: Any, stack: Any, make_user: Any
) -> None:
    unverified = make_user(emailVerified=False)
    no_rescue = make_user(email=None, emailVerified=False)
    refused_before = mails_counted(bridge, "identifier", "refused_unverified")
    with browser() as client:
        for student in (unverified, no_rescue):
            assert ask(client, bridge.url, ine_of(student)).status_code == 303
    settle(bridge)
    time.sleep(1)  # the sink writes as it receives: nothing may arrive late either
    assert mails_for(stack.mail_dir, unverified["email"]) == []
    assert mails_counted(bridge, "identifier", "refused_unverified") == refused_before + 1


@pytest.mark.core
async def test_one_answer_whatever_matches(bridge: Any, stack: Any, make_user: Any) -> None:
    """Status, redirect and page byte for byte the same (the CSRF token blanked) for: a
    mail sent, an unknown INE, an unverified address, no address, an expired account, and
    a limit reached (the same account again, within the interval)."""
    known = make_user()
    cases = {
        "mail sent": ine_of(known),
        "unknown INE": NOBODY,
        "unverified address": ine_of(make_user(emailVerified=False)),
        "no rescue address": ine_of(make_user(email=None, emailVerified=False)),
        "expired": ine_of(make_user(enabled=False)),
    }
    answers: dict[str, tuple[int, str | None, bytes, bytes]] = {}
    for case, ine in cases.items():
        with browser() as client:
            answer, body = ask_and_read(client, bridge.url, ine)
        answers[case] = (answer.status_code, answer.headers.get("Location"), answer.content, body)
    wait_for_mails(stack.mail_dir, known["email"])
    settle(bridge)
    with browser() as client:
        answer, body = ask_and_read(client, bridge.url, ine_of(known))
    answers["limit reached"] = (
        answer.status_code,
        answer.headers.get("Location"),
        answer.content,
        body,
    )
    settle(bridge)
    assert len(mails_for(stack.mail_dir, known["email"])) == 1  # the limit applied
    reference = answers["unknown INE"]
    assert reference[:3] == (303, "/forgot-identifier/mail-sent", b"")
    assert {case: a for case, a in answers.items() if a != reference} == {}
    page = reference[3].decode()
    assert "Si un compte correspond à ce numéro INE" in page
    assert "courriers indésirables" in page
    assert known["username"] not in page
    report(f"forgotten identifier: one answer for {len(answers)} cases, byte for byte")


@pytest.mark.parametrize(
    ("ine", "message"),
    [
        ("0123456789A", "vérifiez le dernier caractère"),
        ("0123456789I", "n'a pas la bonne forme"),
        ("jmartin001", "n'a pas la bonne forme"),
        ("", "Saisissez votre numéro INE"),
    ],
)
async def test_a_malformed_ine_gets_its_message(bridge: Any, ine: str, message: str) -> None:
    with browser() as client:
        answer = ask(client, bridge.url, ine)
    assert answer.status_code == 400
    assert message in text(answer)
    assert 'id="um-error-summary"' in answer.text
    assert 'aria-invalid="true"' in answer.text


async def test_the_answer_page_needs_the_request(bridge: Any) -> None:
    with browser() as client:
        answer = client.get(f"{bridge.url}/forgot-identifier/mail-sent")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/forgot-identifier"


async def test_the_links_to_it(bridge: Any) -> None:
    with browser() as client:
        for path in ("/lost-password", "/help", "/activation"):
            page = client.get(f"{bridge.url}{path}")
            assert re.search(r'<a [^>]*href="/forgot-identifier"', page.text), path
        english = client.get(f"{bridge.url}/lost-password?lang=en")
    assert "Forgot your identifier?" in text(english)


def test_the_daily_limit_holds_under_twenty_parallel_requests_over_two_processes(
    stack: Any, make_user: Any
) -> None:
    """Twenty requests at once for one INE, spread over two `bridge serve` processes, each
    answered the same: the account's daily ceiling (4 here) is exactly what arrives."""
    student = make_user()
    ceiling = 4
    with (
        bridge_replicas(
            stack,
            free_ports(2),
            UM_MAILS_PER_DAY=str(ceiling),
            UM_MAILS_PER_NETWORK="100",
            UM_RESEND_INTERVAL="0",
            UM_LOOKUPS_PER_HOUR="1000",
        ) as urls,
        ThreadPoolExecutor(max_workers=20) as pool,
    ):

        def one(n: int) -> int:
            with httpx.Client(timeout=60) as client:
                return ask(client, urls[n % 2], ine_of(student)).status_code

        statuses = list(pool.map(one, range(20)))
        assert statuses == [303] * 20, statuses
        deadline = time.monotonic() + 30
        while (
            len(mails_for(stack.mail_dir, student["email"])) < ceiling
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
        time.sleep(2)  # and no fifth one arrives late
    mails = mails_for(stack.mail_dir, student["email"])
    report(f"forgotten identifier: 20 parallel requests over 2 processes: {len(mails)} mails")
    assert len(mails) == ceiling
    assert all(student["username"] in text_of(mail) for mail in mails)
    today = dt.datetime.now(PARIS).date().isoformat()
    assert stack.counter(f"mail:day:{student['id']}:{today}") == ceiling


HOSTILE_CASES = 150


@pytest.mark.timeout(600)
def test_hostile_input(bridge: Any, stack: Any, make_user: Any) -> None:
    """The corpus of tests/helpers/hostile.py at the form: never a 5xx nor a trace, and the
    identifier never in an answer."""
    student = make_user()
    with browser() as client:
        page = client.get(f"{bridge.url}/forgot-identifier")
        token = csrf_token(page.text)
        cookies = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    count = 0

    @settings(
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        max_examples=HOSTILE_CASES,
    )
    @given(request=form_requests(("ine",)), with_ine=st.booleans())
    def case(request: HostileRequest, with_ine: bool) -> None:
        nonlocal count
        count += 1
        if with_ine:
            request = HostileRequest(
                request.method,
                request.encoding,
                request.csrf,
                [*request.fields, ("ine", ine_of(student))],
            )
        with httpx.Client(timeout=60, follow_redirects=False) as client:
            answer = send(client, f"{bridge.url}/forgot-identifier", request, token, cookies)
        assert answer.status_code < 500, f"{request}: {answer.status_code}"
        assert "Traceback" not in answer.text
        assert student["username"] not in answer.text

    case()
    settle(bridge)
    report(f"hostile input, forgotten identifier: {count} cases, 0 responses >= 500")
    assert not LINK.search("".join(text_of(m) for m in mails_for(stack.mail_dir, student["email"])))


async def test_the_logs_hold_codes_only(
    bridge: Any, stack: Any, make_user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The outcome is logged by its code: neither the INE, nor the identifier, nor the
    address, whatever came of it."""
    caplog.set_level(logging.INFO)
    sent, unverified = make_user(), make_user(emailVerified=False)
    with browser() as client:
        for student in (sent, unverified):
            assert ask(client, bridge.url, f" {ine_of(student).lower()} ").status_code == 303
    wait_for_mails(stack.mail_dir, sent["email"])
    settle(bridge)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "forgotten identifier: mail sent (identifier)" in logged
    assert "forgotten identifier: nothing sent (account.unverified)" in logged
    for student in (sent, unverified):
        for secret in (ine_of(student), ine_of(student).lower(), student["username"]):
            assert secret not in logged
        assert student["email"] not in logged
