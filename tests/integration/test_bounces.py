"""Refused rescue addresses, end to end: Keycloak mails with the bounce address as envelope
sender, the sink refuses @bounce.test "downstream" and returns a real DSN to the bounce
Maildir, `bridge bounces` flags the account, the next step 1 says so and goes to the INE,
a new address clears the flag (docs/activation.md, "Refused rescue addresses")."""

from __future__ import annotations

import datetime as dt
import json
import mailbox
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.domain.accounts import mask_email
from bridge.domain.bounces import permanent_failures
from bridge.domain.deadlines import PARIS
from bridge.gateway.bounce_mailbox import MaildirBox
from bridge.gateway.keycloak import ProvisioningGateway
from bridge.gateway.smtp import Mailer
from bridge.jobs.bounces import bounces
from bridge.settings import REPO_ROOT, SmtpSettings
from devstack.mailsink import DEV_BOUNCE_ADDRESS, delivery_status_notification
from tests.helpers.accounts import attribute, ine_of
from tests.helpers.activation import post, start
from tests.helpers.browserless import browser
from tests.helpers.mailbox import mails_for, wait_for_mails
from tests.helpers.stack import REALM

FLAG = "umRescueBounced"


def refusing_address() -> str:
    return f"Gone.{uuid.uuid4().hex[:8]}@bounce.test"


def wait_for_dsn(maildir: Path, address: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        box = mailbox.Maildir(str(maildir), factory=None)
        for key in box.iterkeys():
            if address.lower() in permanent_failures(box.get_bytes(key)):
                return
        time.sleep(0.2)
    raise AssertionError(f"no DSN for {address} in {maildir}")


def run_cli(stack: Any, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`bridge bounces` as the scheduler runs it: its own process, the jobs' credential."""
    environ = {
        **os.environ,
        "UM_KEYCLOAK_URL": stack.url,
        "UM_REALM": REALM,
        "UM_PROVISIONING_CLIENT_SECRET": stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
        "UM_REDIS_URL": stack.redis_url,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "bridge", "bounces", *args],
        env=environ,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_keycloak_mails_with_the_bounce_address_as_envelope_sender(admin: httpx.Client) -> None:
    smtp = admin.get("").json()["smtpServer"]
    assert smtp["envelopeFrom"] == DEV_BOUNCE_ADDRESS
    assert smtp["from"] != DEV_BOUNCE_ADDRESS  # the students see the usual From


def test_a_refused_address_is_told_at_step_1_and_replaced_through_the_ine(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client, clock: Any
) -> None:
    address = refusing_address()
    student = make_user(password=None, email=address)
    with browser() as client:
        sent = start(client, bridge, student["username"])
        assert sent.headers["Location"] == "/activation/mail-sent"  # accepted by the relay
    wait_for_mails(stack.mail_dir, address)
    # Only mail whose envelope sender is the bounce address comes back to its Maildir.
    wait_for_dsn(stack.bounce_maildir, address)
    assert attribute(admin, student["id"], FLAG) is None

    ran = run_cli(stack, "--json", UM_BOUNCE_MAILDIR=str(stack.bounce_maildir))
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout.strip().splitlines()[-1])
    assert summary["flagged"] >= 1
    flagged_at = attribute(admin, student["id"], FLAG)
    assert flagged_at is not None and dt.datetime.fromisoformat(flagged_at).tzinfo is not None
    # Read once: a second run finds nothing new.
    again = run_cli(stack, "--json", UM_BOUNCE_MAILDIR=str(stack.bounce_maildir))
    assert json.loads(again.stdout.strip().splitlines()[-1])["messages"] == 0

    clock(dt.datetime.now(PARIS) + dt.timedelta(minutes=2))  # past the resend interval
    with browser() as client:
        told = start(client, bridge, student["username"])
        assert told.status_code == 200, told.text[:300]
        assert 'id="um-bounced-message"' in told.text
        assert "a été refusé : changez" in told.text
        assert mask_email(address.lower()) in told.text
        assert 'action="/activation/ine"' in told.text
        assert len(mails_for(stack.mail_dir, address)) == 1  # no second mail to it
        # The resend of step 3-1 is closed to it too.
        post(client, bridge, "/activation/resend")
        assert len(mails_for(stack.mail_dir, address)) == 1

        assert post(client, bridge, "/activation/ine", ine=ine_of(student)).status_code == 303
        new = f"nouvelle.{student['username']}@example.com"
        done = post(client, bridge, "/activation/rescue-email", email=new, email_confirm=new)
        assert done.headers["Location"] == "/activation/mail-sent", done.text[:300]
    wait_for_mails(stack.mail_dir, new)
    stored = admin.get(f"/users/{student['id']}").json()
    assert stored["email"] == new
    assert FLAG not in (stored.get("attributes") or {})  # a new address clears the flag
    # No notice of the change to the refused address: it would only come back.
    assert len(mails_for(stack.mail_dir, address)) == 1


def test_a_notice_the_bridge_sends_that_bounces_flags_the_account(
    stack: Any, make_user: Any, admin: httpx.Client, jobs_gateway: ProvisioningGateway
) -> None:
    address = refusing_address()
    student = make_user(email=address)
    plain = SmtpSettings("127.0.0.1", stack.smtp_port, starttls=False)
    bounced = SmtpSettings(
        "127.0.0.1", stack.smtp_port, starttls=False, bounce_address=DEV_BOUNCE_ADDRESS
    )
    other = refusing_address()
    import asyncio

    # Without the setting the envelope sender is the From address: nothing comes back here.
    asyncio.run(Mailer(plain).send(other, "Avis", "Bonjour"))
    asyncio.run(Mailer(bounced).send(address, "Avis", "Bonjour"))
    wait_for_dsn(stack.bounce_maildir, address)
    summary = asyncio.run(
        bounces(jobs_gateway, MaildirBox(stack.bounce_maildir), dt.datetime.now(dt.UTC))
    )
    assert summary.flagged >= 1
    assert attribute(admin, student["id"], FLAG) is not None
    box = mailbox.Maildir(str(stack.bounce_maildir), factory=None)
    assert not any(other.lower() in permanent_failures(box.get_bytes(k)) for k in box.iterkeys())


def test_forged_and_hostile_reports(
    stack: Any, make_user: Any, admin: httpx.Client, jobs_gateway: ProvisioningGateway
) -> None:
    """A forged DSN naming a student's address flags it (documented: the student is only
    sent to prove who they are with the INE); one naming staff, nobody, or an injected
    header flags nothing; junk is read once and never crashes the job."""
    student = make_user(password=None)
    staff = make_user(groups=("/staff",))
    bystander = make_user(password=None)
    maildir = Path(str(stack.bounce_maildir) + "-hostile")
    MaildirBox(maildir).close()  # made a Maildir
    box = mailbox.Maildir(str(maildir), factory=None)
    for raw in (
        delivery_status_notification(DEV_BOUNCE_ADDRESS, [student["email"]], b"From: x\r\n\r\n"),
        delivery_status_notification(DEV_BOUNCE_ADDRESS, [staff["email"]], b"From: x\r\n\r\n"),
        delivery_status_notification(DEV_BOUNCE_ADDRESS, ["nobody@example.org"], b"\r\n"),
        delivery_status_notification(DEV_BOUNCE_ADDRESS, ["x@example.org"], b"\r\n").replace(
            b"Final-Recipient: rfc822; x@example.org",
            f"Final-Recipient: rfc822; x@example.org\r\nBcc: {bystander['email']}".encode(),
        ),
        b"\x00\xff junk \r\n\r\n",
        b"From: <mailer-daemon@example.org>\r\nX-Failed-Recipients: *\r\n\r\n",
    ):
        box.add(raw)
    box.close()
    import asyncio

    summary = asyncio.run(bounces(jobs_gateway, MaildirBox(maildir), dt.datetime.now(dt.UTC)))
    assert summary.messages == 6
    assert summary.flagged == 1
    assert attribute(admin, student["id"], FLAG) is not None
    assert attribute(admin, staff["id"], FLAG) is None  # out of the jobs' reach
    assert attribute(admin, bystander["id"], FLAG) is None
    assert list(MaildirBox(maildir).messages()) == []  # every message handled once


def test_without_a_mailbox_the_scheduled_run_reads_nothing(stack: Any) -> None:
    ran = run_cli(stack, UM_BOUNCE_MAILDIR="", UM_BOUNCE_IMAP_URL="")
    assert ran.returncode == 0, ran.stderr
    assert "nothing read" in ran.stdout
    assert "job bounces: exit 0 (ok)" in ran.stderr


@pytest.mark.parametrize("url", ["imaps://u:p@127.0.0.1:1/INBOX"])
def test_an_unreachable_imap_mailbox_is_unavailable(stack: Any, url: str) -> None:
    ran = run_cli(stack, UM_BOUNCE_IMAP_URL=url)
    assert ran.returncode == 3, (ran.stdout, ran.stderr)
    assert "p@" not in ran.stderr  # the password is never printed
