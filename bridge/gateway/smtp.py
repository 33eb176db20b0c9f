"""The university's SMTP relay, for the mails Keycloak does not send itself (the expiry
reminder; notices to a student's addresses). Failures are ServiceUnavailable, as Keycloak's."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from bridge.domain.errors import ServiceUnavailable
from bridge.settings import SmtpSettings


def plain_message(smtp: SmtpSettings, to: str, subject: str, body: str) -> EmailMessage:
    """A text/plain mail from the configured sender (no HTML: nothing to inject into)."""
    message = EmailMessage()
    message["From"] = f"{smtp.sender_name} <{smtp.sender}>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid()
    message.set_content(body)
    return message


def send(messages: Sequence[EmailMessage], smtp: SmtpSettings) -> None:
    """One connection for all; raises smtplib/OSError errors as they come (the jobs report
    them per run)."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if smtp.ssl:
        client = smtplib.SMTP_SSL(smtp.host, smtp.port, context=context, timeout=30)
    else:
        client = smtplib.SMTP(smtp.host, smtp.port, timeout=30)
    with client:
        if smtp.starttls and not smtp.ssl:
            client.starttls(context=context)
        if smtp.user:
            client.login(smtp.user, smtp.password)
        for message in messages:
            # The envelope sender: refusals come back to the bounce mailbox (bridge bounces).
            client.send_message(message, from_addr=smtp.bounce_address or None)


class Mailer:
    """For the web bridge: sends off the event loop; ServiceUnavailable when the relay is
    not configured or refuses."""

    def __init__(self, smtp: SmtpSettings) -> None:
        self.smtp = smtp

    async def send(self, to: str, subject: str, body: str) -> None:
        if not self.smtp.host:
            raise ServiceUnavailable("no SMTP relay configured (UM_SMTP_HOST)")
        message = plain_message(self.smtp, to, subject, body)
        try:
            await asyncio.to_thread(send, [message], self.smtp)
        except (smtplib.SMTPException, OSError) as error:
            raise ServiceUnavailable(f"SMTP relay: {type(error).__name__}") from error
