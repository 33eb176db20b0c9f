"""Send a day-bounded action link: the mail that activation, lost password and the staff
console send to the rescue address, valid until 23:59:59 Europe/Paris, within the
per-account limits. Nothing is counted unless the identity provider accepted to send it."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bridge.domain.accounts import Account, RequiredAction, mask_email
from bridge.domain.deadlines import end_of_day, seconds_until_end_of_day
from bridge.domain.errors import Conflict, NotAllowed, Rejected, ServiceUnavailable
from bridge.domain.ratelimits import Limits
from bridge.flows.counters import CounterStore
from bridge.flows.limits import Reservation, release, reserve_mail
from bridge.flows.outcomes import Limited, Sent, Unavailable

log = logging.getLogger("bridge.flows.action_links")


class LinkPurpose(Enum):
    ACTIVATION = "activation"  # seed 000, steps 3 and 5
    LOST_PASSWORD = "lost_password"  # noqa: S105 - a name, not a secret; seed 004 steps 2-4
    STAFF_ACTIVATION = "staff_activation"  # the console's "send the activation mail"


@dataclass(frozen=True)
class LinkPolicy:
    limits: Limits
    counters: CounterStore
    # The relying app the link lands on once done (its login, so the student signs in once).
    client_id: str
    redirect_uri: str
    # The deployment's IT charter, accepted on the activation path when it has one.
    charter: bool = False
    # Who asks: the client's address (each network has its own allowance per account).
    requester: str = "unknown"
    # The language of the page the student reads: written on the account before the mail
    # when it differs, so that the mail and the pages its link opens come in it. None (the
    # staff console): the account's language stays as it is.
    locale: str | None = None

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

    async def set_locale(self, account: Account, locale: str) -> None: ...


async def reserve_link(
    account: Account, policy: LinkPolicy, now: dt.datetime
) -> Reservation | Limited:
    """A link to this account, within its limits: kept if the link goes, else released."""
    return await reserve_mail(policy.counters, account, now, policy.limits, policy.requester)


async def mail_under(
    reservation: Reservation, policy: LinkPolicy, mail: Awaitable[None]
) -> Unavailable | None:
    """Send `mail` under a reservation of the limits: given back if nothing left (refused
    by Keycloak, SMTP down, anything unplanned). Unavailable when the service failed; None
    when the mail went. Nothing is written on the account: staff read when the last link
    left from Keycloak's own admin event of the send (gateway.keycloak.audit)."""
    try:
        await mail
    except ServiceUnavailable as error:
        await release(policy.counters, reservation)
        return Unavailable(str(error))
    except BaseException:
        await release(policy.counters, reservation)
        raise
    return None


async def send_action_link(
    sender: LinkSender,
    account: Account,
    purpose: LinkPurpose,
    policy: LinkPolicy,
    now: dt.datetime,
    reservation: Reservation | None = None,
) -> Sent | Limited | Unavailable:
    """`sender`: whose authority sends it (the staff console passes the staff member's).
    `reservation`: the limits, if the caller reserved them already (reserve_link)."""
    if reservation is None:
        reserved = await reserve_link(account, policy, now)
        if isinstance(reserved, Limited):
            return reserved
        reservation = reserved
    failed = await mail_under(
        reservation, policy, _in_language(sender, account, purpose, policy, now)
    )
    if failed:
        return failed
    return Sent(mask_email(account.rescue_email or ""), end_of_day(now))


def _locale_to_write(account: Account, purpose: LinkPurpose, policy: LinkPolicy) -> str | None:
    if not policy.locale or policy.locale == account.locale:
        return None
    if purpose is LinkPurpose.LOST_PASSWORD and account.locale is not None:
        return None
    return policy.locale


async def _in_language(
    sender: LinkSender,
    account: Account,
    purpose: LinkPurpose,
    policy: LinkPolicy,
    now: dt.datetime,
) -> None:
    """The mail, in the reader's language: Keycloak writes it (and the pages its link
    opens) in the account's. A refused language write still lets the mail go, in the
    account's previous language: a mail in the other language beats none. An outage
    stops both (ServiceUnavailable: nothing sent, nothing counted).

    Lost password only gives a language to an account that has none: anyone may ask for
    any identifier, and an active account's language is its owner's choice (Keycloak's
    language menu writes it), not a stranger's."""
    locale = _locale_to_write(account, purpose, policy)
    if locale:
        try:
            await sender.set_locale(account, locale)
        except (Conflict, Rejected, NotAllowed) as error:
            log.warning("the account's language was not written (%s): the mail goes anyway", error)
    await sender.send_action_mail(
        account,
        policy.actions(purpose),
        lifespan=seconds_until_end_of_day(now),
        client_id=policy.client_id,
        redirect_uri=policy.redirect_uri,
    )
