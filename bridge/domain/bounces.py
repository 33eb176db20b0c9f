"""Bounces: which recipients a returned message says were refused for good.

A mail the bridge or Keycloak sends leaves with the envelope sender UM_BOUNCE_ADDRESS; what
comes back to that mailbox is read here. Keycloak cannot give each message its own envelope
sender (VERP), so the failed recipient is read from the report itself:

- RFC 3464 delivery status notifications (multipart/report; report-type=delivery-status):
  each per-recipient block with `Action: failed` and a `Status: 5.x.x` is a permanent
  failure; `Final-Recipient` (else `Original-Recipient`) names the address. `delayed`,
  `delivered`, `relayed`, `expanded` and 4.x.x statuses are not failures of the address.
- Non-standard bounces, minimally: an `X-Failed-Recipients` header (Exim, Gmail) on a
  message from a mailer daemon (null sender, MAILER-DAEMON, postmaster) counts as permanent.

Anything else (auto-replies, spam, junk, a truncated or hostile message) yields nothing.
Pure: no I/O, the standard library's `email` only.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import Message

# As bridge.domain.rescue_email's rule (an address we could have mailed), lowercase-folded.
_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_STATUS = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})")
# A mailer daemon's own address: bounces come from the null sender or from one of these.
_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "mail delivery")
# At most this many recipients are taken from one message (a DSN lists those of one mail).
MAX_RECIPIENTS = 20
DSN_TYPES = ("message/delivery-status", "message/global-delivery-status")
# A report larger than this is not read (real ones are a few kilobytes plus the original).
MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class Bounce:
    """One recipient a report says was refused: its address (lowercased), the status
    (e.g. "5.1.1", "" when the report gave none) and whether it is permanent."""

    recipient: str
    status: str
    permanent: bool


def _address(raw: str | None) -> str | None:
    """The address of a `Final-Recipient: rfc822; j@example.net` field (or a bare
    address), if it is one; None for anything else (header injection, junk)."""
    if not raw:
        return None
    value = str(raw).strip()
    kind, sep, rest = value.partition(";")
    if sep:
        if kind.strip().lower() != "rfc822":
            return None
        value = rest.strip()
    value = value.strip().strip("<>").strip()
    if len(value) > 254 or ".." in value or not _ADDRESS.fullmatch(value):
        return None
    return value.lower()


def _status(raw: str | None) -> str:
    match = _STATUS.search(str(raw or ""))
    return match.group(0) if match else ""


def _blocks(part: Message) -> list[Message]:
    """The per-message and per-recipient field groups of a message/delivery-status part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    # Some MTAs send it as text: parse the groups (blank-line separated) ourselves.
    text = payload if isinstance(payload, str) else ""
    return [
        email.message_from_string(group.strip() + "\n", policy=email.policy.compat32)
        for group in re.split(r"\r?\n\s*\r?\n", text)
        if group.strip()
    ]


def _from_report(report: Message) -> list[Bounce]:
    found: list[Bounce] = []
    for part in report.walk():
        if part.get_content_type() not in DSN_TYPES:
            continue
        for block in _blocks(part):
            recipient = _address(block.get("Final-Recipient")) or _address(
                block.get("Original-Recipient")
            )
            action = str(block.get("Action") or "").strip().lower()
            if recipient is None or not action:
                continue
            status = _status(block.get("Status"))
            if action != "failed":
                continue  # delayed, delivered, relayed, expanded: not a refusal
            found.append(Bounce(recipient, status, permanent=status.startswith("5")))
    return found


def _from_daemon(message: Message) -> list[Bounce]:
    """X-Failed-Recipients on a mailer daemon's message: permanent by convention (Exim sends
    its delay warnings without that header)."""
    sender = str(message.get("From") or "").lower()
    return_path = str(message.get("Return-Path") or "").strip()
    if return_path != "<>" and not any(d in sender for d in _DAEMONS):
        return []
    found = []
    for header in message.get_all("X-Failed-Recipients") or []:
        for raw in str(header).split(","):
            recipient = _address(raw)
            if recipient:
                found.append(Bounce(recipient, "", permanent=True))
    return found


def parse_bounce(raw: bytes) -> list[Bounce]:
    """The refused recipients a returned message reports (each once, the first report of
    it kept), or [] if it is not a bounce this understands. Never raises on bad input."""
    if len(raw) > MAX_BYTES:
        return []
    try:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        found = _from_report(message) if message.get_content_type() == "multipart/report" else []
        if not found:
            found = _from_daemon(message)
    except Exception:  # a malformed message is junk, never a crash
        return []
    unique: dict[str, Bounce] = {}
    for bounce in found:
        unique.setdefault(bounce.recipient, bounce)
    return list(unique.values())[:MAX_RECIPIENTS]


def permanent_failures(raw: bytes) -> list[str]:
    """The addresses a returned message says are refused for good (5.x.x, or a daemon's
    X-Failed-Recipients): what flags a rescue address."""
    return [b.recipient for b in parse_bounce(raw) if b.permanent]
