"""Reading what the SMTP sink received."""

from __future__ import annotations

import email
import email.policy
import html
import re
import time
from email.message import EmailMessage
from pathlib import Path

LINK = re.compile(r"https?://\S+/login-actions/action-token\?\S+")


def mails_for(mail_dir: Path, recipient: str) -> list[EmailMessage]:
    found = []
    for path in sorted(mail_dir.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if recipient.lower() in str(message["To"]).lower():
            assert isinstance(message, EmailMessage)
            found.append(message)
    return found


def wait_for_mails(
    mail_dir: Path, recipient: str, count: int = 1, timeout: float = 30
) -> list[EmailMessage]:
    deadline = time.monotonic() + timeout
    while True:
        found = mails_for(mail_dir, recipient)
        if len(found) >= count or time.monotonic() > deadline:
            assert len(found) >= count, f"{len(found)} mail(s) for {recipient}, wanted {count}"
            return found
        time.sleep(0.2)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def action_link(message: EmailMessage) -> str:
    match = LINK.search(text_of(message))
    assert match, text_of(message)
    return html.unescape(match.group(0))
