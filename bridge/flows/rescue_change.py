"""Change the rescue address from the account page (issue 18, point 1): a verification link
to the new address, the change made only once that link is opened.

- Asking (a signed-in student): the new address is checked as every rescue address is
  (bridge.domain.rescue_email), the per-account mail limits reserved (the same counters as
  the action links: a change cannot be used to flood an inbox), a one-time nonce's digest
  held in the shared store under the account, and the link mailed to the new address.
  Nothing is written on the account. A new request replaces the nonce: only the latest link
  of an account works.
- Opening (anyone holding the link; a phone, say, not signed in): the link is refused past
  its deadline (23:59:59 Europe/Paris, the day it was asked), once used, once the address on
  file is no longer the one it was asked from, or when replaced by a newer request. The
  nonce is spent with the store's atomic compare-and-delete before writing: of two racing
  confirmations, one applies. The address is written verified (opening the link proved it)
  with the bridge's own credential, and only if the account still holds the address the
  link was asked from; then the previous address gets a notice without a link.

The link's content is sealed by the web layer (ChangeRequest in, an opaque token out): this
module never sees the token, only what it carries once its seal was checked.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from typing import Protocol

from bridge.domain.accounts import Account, mask_email
from bridge.domain.deadlines import end_of_day, seconds_until_end_of_day
from bridge.domain.errors import (
    AccountNotFound,
    Conflict,
    InvalidInput,
    NotAllowed,
    ServiceUnavailable,
)
from bridge.domain.rescue_change import (
    ChangeRequest,
    change_request,
    link_state,
    nonce_digest,
    same_address,
)
from bridge.domain.rescue_email import validate_rescue_email
from bridge.flows.action_links import LinkPolicy, mail_under, reserve_link
from bridge.flows.counters import CounterStore
from bridge.flows.outcomes import Invalid, Limited, Notified, Refused, Sent, Unavailable
from bridge.flows.rescue_email import ChangeNotices

log = logging.getLogger("bridge.flows.rescue_change")

# The nonce outlives its link's deadline a little: past it the link is refused anyway.
NONCE_MARGIN = 60
CHANGED = "rescue_email.changed"


def _nonce_key(account_id: str) -> str:
    return f"rescue:change:{account_id}"


class ChangeAccounts(Protocol):
    async def get_account(self, user_id: str) -> Account:
        """AccountNotFound when it is gone."""
        ...

    async def confirm_rescue_email(self, account: Account, address: str, previous: str) -> None:
        """`address`, verified, in place of `previous`; Conflict if the account no longer
        holds `previous` ("" for none)."""
        ...


class ChangeLinks(Protocol):
    async def send_change_link(self, account: Account, change: ChangeRequest) -> None:
        """The verification link to change.new_address; ServiceUnavailable if it cannot
        leave."""
        ...


Asked = Sent | Invalid | Limited | Refused | Unavailable
Confirmed = Notified | Refused | Unavailable


def valid_new_address(typed: str, university_domains: Iterable[str]) -> str | Invalid:
    """Codes: email.required, email.format, email.university (one field: the link that goes
    to it proves it, a confirmation field would add nothing)."""
    try:
        return validate_rescue_email(typed, typed, university_domains)
    except InvalidInput as error:
        return Invalid(error.code)


async def ask_rescue_change(
    accounts: ChangeAccounts,
    links: ChangeLinks,
    account_id: str,
    typed: str,
    university_domains: Iterable[str],
    policy: LinkPolicy,
    now: dt.datetime,
) -> Asked:
    """`account_id`: the signed-in student's (the token's subject). Invalid codes: those of
    valid_new_address, email.same (already the address on file). Refused: account.gone,
    account.outside (not an account of the students group)."""
    address = valid_new_address(typed, university_domains)
    if isinstance(address, Invalid):
        return address
    try:
        account = await accounts.get_account(account_id)
    except AccountNotFound:
        return Refused("account.gone")
    except NotAllowed:
        # Outside the students group (staff): the bridge's credential does not reach it.
        return Refused("account.outside")
    except ServiceUnavailable as error:
        return Unavailable(str(error))
    if same_address(account.rescue_email, address):
        return Invalid("email.same")
    try:
        reservation = await reserve_link(account, policy, now)
    except ServiceUnavailable as error:
        return Unavailable(str(error))
    if isinstance(reservation, Limited):
        return reservation
    nonce = secrets.token_urlsafe(32)
    change = change_request(account.id, address, account.rescue_email, nonce, now)
    key, digest = _nonce_key(account.id), nonce_digest(nonce)
    ttl = seconds_until_end_of_day(now) + NONCE_MARGIN
    sending = _held_then_sent(policy.counters, key, digest, ttl, links, account, change)
    failed = await mail_under(reservation, policy, sending)
    if failed:
        # The link did not leave: its nonce goes too (best effort; it expires tonight).
        with contextlib.suppress(ServiceUnavailable):
            await policy.counters.spend(key, digest)
        return failed
    return Sent(mask_email(address), end_of_day(now))


async def _held_then_sent(
    counters: CounterStore,
    key: str,
    digest: str,
    ttl: int,
    links: ChangeLinks,
    account: Account,
    change: ChangeRequest,
) -> None:
    # Held before the mail: a link must never arrive before the store knows it.
    await counters.hold(key, digest, ttl)
    await links.send_change_link(account, change)


async def check_rescue_change(
    accounts: ChangeAccounts, change: ChangeRequest | None, now: dt.datetime
) -> Account | Refused | Unavailable:
    """Whether the link still applies, without spending it (the confirmation page a GET
    shows: mail scanners open links). Refused codes: link.invalid (unreadable or altered),
    link.expired, link.used, link.superseded, account.gone, account.outside."""
    if change is None:
        return Refused("link.invalid")
    if now.timestamp() > change.deadline:
        return Refused("link.expired")
    try:
        account = await accounts.get_account(change.account_id)
    except AccountNotFound:
        return Refused("account.gone")
    except NotAllowed:
        return Refused("account.outside")
    except ServiceUnavailable as error:
        return Unavailable(str(error))
    state = link_state(change, account.rescue_email, now)
    return account if state == "open" else Refused(f"link.{state}")


async def confirm_rescue_change(
    accounts: ChangeAccounts,
    notices: ChangeNotices,
    counters: CounterStore,
    change: ChangeRequest | None,
    now: dt.datetime,
) -> Confirmed:
    """The POST of the confirmation page. Notified(CHANGED) once the new address is on file,
    verified; Refused with check_rescue_change's codes (link.used also for a nonce already
    spent or replaced by a newer request)."""
    checked = await check_rescue_change(accounts, change, now)
    if not isinstance(checked, Account):
        return checked
    assert change is not None  # checked
    account = checked
    key, digest = _nonce_key(account.id), nonce_digest(change.nonce)
    try:
        spent = await counters.spend(key, digest)
    except ServiceUnavailable as error:
        return Unavailable(str(error))
    if not spent:
        return Refused("link.used")
    try:
        await accounts.confirm_rescue_email(account, change.new_address, change.previous_address)
    except Conflict:
        # Changed another way between the check and the write: this link is stale.
        return Refused("link.superseded")
    except ServiceUnavailable as error:
        # Nothing written: the link works again (the rest of its day).
        left = max(1, change.deadline - int(now.timestamp())) + NONCE_MARGIN
        try:
            await counters.hold(key, digest, left)
        except ServiceUnavailable:
            log.warning("a rescue-address link could not be given back after an outage")
        return Unavailable(str(error))
    # A refused address (bridge.flows.bounces) would only bounce again.
    if change.previous_address and account.rescue_email_bounced is None:
        try:
            await notices.rescue_email_replaced(
                account, change.previous_address, change.new_address
            )
        except ServiceUnavailable as error:
            # The change stands; the log names no address.
            log.warning("notice to the previous rescue address not sent: %s", error)
    return Notified(CHANGED)
