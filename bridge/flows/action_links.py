"""Send a day-bounded action link: the mail that activation, lost password and the staff
console send to the rescue address, valid until 23:59:59 Europe/Paris, within the
per-account limits. Nothing is counted unless the identity provider accepted to send it."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bridge.domain.accounts import Account, RequiredAction, mask_email
from bridge.domain.deadlines import PARIS, end_of_day, seconds_until_end_of_day
from bridge.domain.errors import ServiceUnavailable
from bridge.domain.ratelimits import LimitReached, Limits, check_mail_allowed
from bridge.flows.outcomes import Limited, Sent, Unavailable

log = logging.getLogger("bridge.flows.action_links")


class LinkPurpose(Enum):
    ACTIVATION = "activation"  # seed 000, steps 3 and 5
    LOST_PASSWORD = "lost_password"  # noqa: S105 - a name, not a secret; seed 004 steps 2-4
    STAFF_ACTIVATION = "staff_activation"  # the console's "send the activation mail"


@dataclass(frozen=True)
class LinkPolicy:
    limits: Limits
    # The relying app the link lands on once done (its login, so the student signs in once).
    client_id: str
    redirect_uri: str
    # The deployment's IT charter, accepted on the activation path when it has one.
    charter: bool = False

    def actions(self, purpose: LinkPurpose) -> tuple[RequiredAction, ...]:
        if purpose is LinkPurpose.ACTIVATION:
            charter = (RequiredAction.ACCEPT_CHARTER,) if self.charter else ()
            return (RequiredAction.SET_PASSWORD, *charter)
        if purpose is LinkPurpose.LOST_PASSWORD:
            # The new password, then the rescue address shown for checking (seed 004 step 4).
            return (RequiredAction.SET_PASSWORD, RequiredAction.CHECK_RESCUE_EMAIL)
        return (RequiredAction.SET_PASSWORD,)


class LinkSender(Protocol):
    async def send_action_mail(
        self,
        account: Account,
        actions: tuple[RequiredAction, ...],
        *,
        lifespan: int,
        client_id: str,
        redirect_uri: str,
    ) -> None: ...

    async def record_mail_sent(
        self, account: Account, now: dt.datetime, today: dt.date
    ) -> None: ...


def link_refusal(account: Account, now: dt.datetime, limits: Limits) -> Limited | None:
    """Why no link may go to this account now, or None."""
    try:
        check_mail_allowed(
            limits, account.mails_sent, account.last_mail_at, now, now.astimezone(PARIS).date()
        )
    except LimitReached as error:
        return Limited(error.code, error.retry_after)
    if seconds_until_end_of_day(now) < 1:
        return Limited("mail.day_over")
    return None


async def send_action_link(
    sender: LinkSender,
    account: Account,
    purpose: LinkPurpose,
    policy: LinkPolicy,
    now: dt.datetime,
) -> Sent | Limited | Unavailable:
    """`sender`: whose authority sends it (the staff console passes the staff member's)."""
    refused = link_refusal(account, now, policy.limits)
    if refused:
        return refused
    try:
        await sender.send_action_mail(
            account,
            policy.actions(purpose),
            lifespan=seconds_until_end_of_day(now),
            client_id=policy.client_id,
            redirect_uri=policy.redirect_uri,
        )
    except ServiceUnavailable as error:
        return Unavailable(str(error))
    try:
        await sender.record_mail_sent(account, now, now.astimezone(PARIS).date())
    except ServiceUnavailable:
        # The mail is gone: say so, and let the counter miss one rather than lie.
        log.warning("action mail sent but its counter could not be written")
    return Sent(mask_email(account.rescue_email or ""), end_of_day(now))
