"""XSS through a student's name, on every page and mail that shows it.

The realm refuses `<`, `>`, `"`, `&` ... in names (Keycloak's person-name validator) and the
provisioning job rejects such rows first (test_provision.py::test_hostile_export_rows). That
is one wall; escaping is the other, and this test proves it stands alone: it lifts the
validator for the duration, creates a student whose names carry script and quotes, and walks
every page and mail where a name can appear: the console (search, account, confirmation,
activation-key letter), the student's activation (bridge pages, mail, Keycloak's themed
pages) and the portal that shows the ID token's names; then the expiry reminder."""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from bridge.jobs.remind import remind
from bridge.settings import SmtpSettings
from tests.helpers.browserless import browser
from tests.helpers.console import console_login, post_action
from tests.helpers.forms import csrf_token
from tests.helpers.keycloak_pages import NEW_PASSWORD, portal_sign_in, use_link_in
from tests.helpers.mailbox import action_link, wait_for_mails

FIRST = '<script>alert("first")</script>'
LAST = "O'Brien\"><img src=x onerror=alert('last')>"
RAW = ("<script>alert(", "<img src=x", "O'Brien\"")  # what must never reach a page as markup
ESCAPED = ("&lt;script&gt;alert(", "O&#39;Brien&#34;&gt;&lt;img")  # Jinja's escapes


def assert_inert(page: str, where: str, *, shows_name: bool) -> None:
    for raw in RAW:
        assert raw not in page, f"{where}: {raw!r} unescaped"
    if shows_name:
        for escaped in ESCAPED:
            assert escaped in page, f"{where}: the name is not shown escaped"


@pytest.fixture
def names_unvalidated(admin: httpx.Client) -> Iterator[None]:
    profile = admin.get("/users/profile").json()
    relaxed = copy.deepcopy(profile)
    for attribute in relaxed["attributes"]:
        if attribute["name"] in ("firstName", "lastName"):
            attribute.get("validations", {}).pop("person-name-prohibited-characters", None)
    admin.put("/users/profile", json=relaxed).raise_for_status()
    try:
        yield
    finally:
        admin.put("/users/profile", json=profile).raise_for_status()


@pytest.mark.usefixtures("names_unvalidated")
def test_hostile_names_are_inert_everywhere(
    bridge: Any, stack: Any, admin: httpx.Client, make_user: Any
) -> None:
    student = make_user(password=None, firstName=FIRST, lastName=LAST)
    assert admin.get(f"/users/{student['id']}").json()["firstName"] == FIRST
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    url = bridge.url

    # The console: every page that names the student.
    with browser() as console:
        console_login(console, url, staff["username"], staff["password"], staff["otp_secret"])
        found = console.get(f"{url}/console", params={"q": student["lastName"][:7], "by": "name"})
        assert student["username"] in found.text
        assert_inert(found.text, "console search", shows_name=True)
        account = console.get(f"{url}/console/accounts/{student['id']}")
        assert_inert(account.text, "console account", shows_name=True)
        for action in ("reset", "set-rescue-email", "issue-activation-key"):
            confirm = console.get(f"{url}/console/accounts/{student['id']}/actions/{action}")
            assert_inert(confirm.text, f"console confirm {action}", shows_name=True)
        letter = post_action(console, url, student["id"], "issue-activation-key")
        assert letter.status_code == 200
        assert_inert(letter.text, "activation-key letter", shows_name=True)
    # The key issued above is not used: the student activates by mail.
    rep = admin.get(f"/users/{student['id']}").json()
    rep["requiredActions"] = []
    admin.put(f"/users/{student['id']}", json=rep).raise_for_status()
    for credential in admin.get(f"/users/{student['id']}/credentials").json():
        admin.delete(f"/users/{student['id']}/credentials/{credential['id']}")

    # The student: bridge pages, the mail, Keycloak's themed pages, the portal.
    with browser() as client:
        page = client.get(f"{url}/activation")
        assert_inert(page.text, "activation step 1", shows_name=False)
        sent = client.post(
            f"{url}/activation",
            data={"csrf_token": csrf_token(page.text), "identifier": student["username"]},
        )
        assert sent.headers["Location"] == "/activation/mail-sent"
        done = client.get(urljoin(url, sent.headers["Location"]))
        assert_inert(done.text, "activation mail sent", shows_name=False)
    [mail] = wait_for_mails(stack.mail_dir, student["email"])
    for part in mail.walk():
        if part.get_content_maintype() == "text":
            assert_inert(str(part.get_content()), "activation mail", shows_name=False)
    keycloak_pages: list[str] = []
    with browser() as client:
        original_get = client.get

        def recording_get(target: str, **kwargs: Any) -> httpx.Response:
            answer = original_get(target, **kwargs)
            keycloak_pages.append(answer.text)
            return answer

        client.get = recording_get  # type: ignore[method-assign]
        answer = use_link_in(client, action_link(mail), NEW_PASSWORD)
        keycloak_pages.append(answer.text)
    assert len(keycloak_pages) >= 2
    for number, page_text in enumerate(keycloak_pages):
        assert_inert(page_text, f"Keycloak page {number} of the link", shows_name=False)
    with browser() as client:
        portal = portal_sign_in(client, url, student["username"], NEW_PASSWORD)
    assert f'id="um-portal-username">{student["username"]}<' in portal.text
    assert_inert(portal.text, "portal (ID token names)", shows_name=True)


@pytest.mark.usefixtures("names_unvalidated")
@pytest.mark.anyio
async def test_reminder_mail_is_plain_text(stack: Any, make_user: Any, jobs_gateway: Any) -> None:
    """The expiry reminder names the student: it is text/plain only, so markup is inert."""
    student = make_user(password="Test-pass-2026!", firstName=FIRST)
    valid_until = dt.date(2061, 12, 31)
    with stack.admin() as admin:
        rep = admin.get(f"/users/{student['id']}").json()
        rep["attributes"]["validUntil"] = [valid_until.isoformat()]
        admin.put(f"/users/{student['id']}", json=rep).raise_for_status()
    smtp = SmtpSettings(host="127.0.0.1", port=stack.smtp_port, starttls=False)
    await remind(jobs_gateway, valid_until - dt.timedelta(days=10), 30, smtp)
    [mail] = wait_for_mails(stack.mail_dir, student["email"])
    assert isinstance(mail, EmailMessage)
    parts = [part.get_content_type() for part in mail.walk() if not part.is_multipart()]
    assert parts == ["text/plain"]
    assert FIRST in str(mail.get_content())  # as typed: plain text shows it, runs nothing
    assert re.search(r"^Subject: [^<]*$", mail.as_string(), re.M)
