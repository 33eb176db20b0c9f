"""Returned mails to rescue addresses: each permanent failure a report names flags the
accounts whose rescue address it is (docs/activation.md, "Refused rescue addresses").

Each message is handled once: marked done once every address it names was flagged, or at
once when it names none (junk, an auto-reply, a delay warning). If Keycloak cannot be
reached, the message stays in the mailbox for the next run and the run stops there.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Protocol

from bridge.domain.bounces import parse_bounce
from bridge.gateway.bounce_mailbox import BounceMailbox

log = logging.getLogger("bridge.flows.bounces")


class BounceFlagger(Protocol):
    async def flag_rescue_bounced(self, address: str, when: dt.datetime) -> list[str]:
        """The identifiers of the accounts flagged (those whose rescue address it is)."""
        ...


@dataclass
class BounceSummary:
    messages: int = 0
    permanent: int = 0
    ignored: int = 0
    flagged: int = 0
    unmatched: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "messages": self.messages,
            "permanent": self.permanent,
            "ignored": self.ignored,
            "flagged": self.flagged,
            "unmatched": self.unmatched,
        }


async def process_bounces(
    mailbox: BounceMailbox, flagger: BounceFlagger, now: dt.datetime
) -> BounceSummary:
    """Read every unhandled message of `mailbox`; ServiceUnavailable (Keycloak, the
    mailbox) stops the run, the message being handled left for the next one."""
    summary = BounceSummary()
    for key, raw in mailbox.messages():
        summary.messages += 1
        failures = [b.recipient for b in parse_bounce(raw) if b.permanent]
        if not failures:
            summary.ignored += 1
        for address in failures:
            summary.permanent += 1
            flagged = await flagger.flag_rescue_bounced(address, now)
            summary.flagged += len(flagged)
            if not flagged:
                # An address no account has (any more): an old one, another mail's, or a
                # forged report. Logged without the address.
                summary.unmatched += 1
        mailbox.done(key)
    if summary.flagged:
        log.info("bounces: %d account(s) flagged", summary.flagged)
    return summary
