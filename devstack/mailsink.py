"""The dev SMTP sink: accepts every message on loopback and stores it as an .eml file.

Files are written under a temporary name and renamed, so that a reader (the dev mail page,
a test) never sees half a message.

It also plays the remote mail servers that refuse a recipient (docs/activation.md, "Refused
rescue addresses"): a recipient in a refusing domain (`bounce.test` by default; RFC 2606
reserves .test) is accepted, as a relay accepts what it will try to deliver, and then
refused "downstream": a real RFC 3464 delivery status notification (multipart/report, as
Postfix writes it) is delivered to the envelope sender's mailbox, when that sender is the
bounce address the sink was given and a bounce Maildir is set. Mail from any other
envelope sender bounces to nobody (a real DSN would go to an address no one reads). This
is what most real refusals look like: the relay accepted, the remote server said no later.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import mailbox
import os
import uuid
from collections.abc import Iterable
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_counter = itertools.count()

# The envelope sender the dev stack and the tests give Keycloak and the bridge (their
# UM_BOUNCE_ADDRESS): its mailbox is the sink's bounce Maildir.
DEV_BOUNCE_ADDRESS = "bounces@umontpellier.example"
# Recipients in these domains (or their subdomains) are refused after acceptance.
REFUSING_DOMAINS = ("bounce.test",)


def refused(recipient: str, domains: Iterable[str]) -> bool:
    domain = recipient.rpartition("@")[2].lower().rstrip(">")
    return any(domain == d or domain.endswith("." + d) for d in domains)


def delivery_status_notification(
    envelope_from: str, recipients: list[str], original: bytes, reporter: str = "sink.test"
) -> bytes:
    """A DSN as Postfix writes one: a human part, the message/delivery-status part (one
    block per recipient: Action failed, Status 5.1.1) and the original's headers."""
    boundary = f"{uuid.uuid4().hex}/{reporter}"
    date = format_datetime(dt.datetime.now(dt.UTC))
    headers = original.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
    human = "".join(
        f"<{r}>: host mx.{r.rpartition('@')[2]} said: 550 5.1.1 <{r}>: Recipient address "
        "rejected: User unknown in virtual mailbox table\n"
        for r in recipients
    )
    blocks = "".join(
        f"\nFinal-Recipient: rfc822; {r}\nOriginal-Recipient: rfc822;{r}\nAction: failed\n"
        f"Status: 5.1.1\nRemote-MTA: dns; mx.{r.rpartition('@')[2]}\n"
        "Diagnostic-Code: smtp; 550 5.1.1 Recipient address rejected: User unknown\n"
        for r in recipients
    )
    text = (
        f"From: MAILER-DAEMON@{reporter} (Mail Delivery System)\n"
        f"To: {envelope_from}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        f"Date: {date}\n"
        f"Message-ID: {make_msgid(domain=reporter)}\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/report; report-type=delivery-status;\n boundary="{boundary}"\n'
        "\n"
        "This is a MIME-encapsulated message.\n\n"
        f"--{boundary}\n"
        "Content-Description: Notification\n"
        "Content-Type: text/plain; charset=us-ascii\n\n"
        f"This is the mail system at host {reporter}.\n\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n\n"
        f"{human}\n"
        f"--{boundary}\n"
        "Content-Description: Delivery report\n"
        "Content-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; {reporter}\nArrival-Date: {date}\n"
        f"{blocks}\n"
        f"--{boundary}\n"
        "Content-Description: Undelivered Message Headers\n"
        "Content-Type: text/rfc822-headers\n\n"
        f"{headers}\n\n"
        f"--{boundary}--\n"
    )
    return text.replace("\n", "\r\n").encode("utf-8", "replace")


class EmlDirectoryHandler:
    def __init__(
        self,
        directory: Path,
        bounce_maildir: Path | None = None,
        bounce_address: str | None = None,
        refusing_domains: tuple[str, ...] = REFUSING_DOMAINS,
    ) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.bounce_maildir = bounce_maildir
        self.bounce_address = (bounce_address or "").lower()
        self.refusing_domains = refusing_domains

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{os.getpid()}-{next(_counter):05d}.eml"
        recipients = ", ".join(envelope.rcpt_tos)
        content: bytes = envelope.original_content or envelope.content
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(f"X-Envelope-To: {recipients}\r\n".encode() + content)
        tmp.rename(self.directory / name)
        try:
            self._bounce(envelope.mail_from or "", list(envelope.rcpt_tos), content)
        except OSError:
            # The relay accepted: a failure to bounce is the relay's, never the sender's.
            logging.getLogger("devstack.mailsink").exception("the DSN could not be delivered")
        return "250 Message accepted for delivery"

    def _bounce(self, sender: str, recipients: list[str], content: bytes) -> None:
        failed = [r for r in recipients if refused(r, self.refusing_domains)]
        # Never to the null sender (RFC 5321: no bounce of a bounce), and only the bounce
        # address has a mailbox here.
        if not failed or not sender or self.bounce_maildir is None:
            return
        if sender.lower() != self.bounce_address:
            return
        dsn = delivery_status_notification(sender, failed, content)
        for sub in ("tmp", "new", "cur"):
            (self.bounce_maildir / sub).mkdir(parents=True, exist_ok=True)
        box = mailbox.Maildir(str(self.bounce_maildir), factory=None, create=True)
        try:
            box.add(dsn)
        finally:
            box.close()


def start_mail_sink(
    directory: Path,
    host: str = "127.0.0.1",
    port: int = 1025,
    *,
    bounce_maildir: Path | None = None,
    bounce_address: str | None = None,
    refusing_domains: tuple[str, ...] = REFUSING_DOMAINS,
) -> Controller:
    """Start the sink in a background thread; call .stop() on the result to end it.
    With `bounce_maildir` and `bounce_address`, mail from that envelope sender to a
    refusing domain comes back there as a DSN."""
    # aiosmtpd logs each recipient at INFO: rescue addresses have no place in the dev logs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler = EmlDirectoryHandler(directory, bounce_maildir, bounce_address, refusing_domains)
    controller = Controller(handler, hostname=host, port=port)
    controller.start()
    return controller
