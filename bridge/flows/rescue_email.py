"""Set the rescue email (activation step 4-1, once the INE is confirmed) and send the
activation link to it (step 5).

- The INE proof is good for one write: `grant_rescue_email_change` (after step 4) gives the
  browser a random nonce, and the counter store every replica shares holds its digest
  under the account; step 4-1 spends it (an atomic compare-and-delete) before writing, so
  a replayed session cookie, or two requests racing with the same one, find it once. It
  lives outside Keycloak, which has no compare-and-set: any concurrent write of the
  account's attributes could have put a spent digest back.
- The limits are checked before the address is written: a new address with no mail to prove
  it would be half a step. Keycloak mails the link to the address on file, so the address is
  written first; if the mail does not leave, the previous address (and its verified flag) is
  put back before answering, so that "nothing was changed" is true.
- Once the link left for the new address, the previous one (if any, and different) gets a
  short notice without a link; its failure is logged and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from typing import Protocol

from bridge.domain.accounts import Account
from bridge.domain.activation import ine_proof_digest
from bridge.domain.errors import InvalidInput, ServiceUnavailable
from bridge.domain.rescue_email import validate_rescue_email
from bridge.flows.action_links import (
    LinkPolicy,
    LinkPurpose,
    LinkSender,
    reserve_link,
    send_action_link,
)
from bridge.flows.counters import CounterStore
from bridge.flows.limits import release
from bridge.flows.outcomes import Invalid, Limited, Refused, Sent, Unavailable

log = logging.getLogger("bridge.flows.rescue_email")


# As long as the wizard that carries the nonce (bridge.web.students.wizard).
PROOF_LIFETIME = 30 * 60


def _proof_key(account: Account) -> str:
    return f"ine:proof:{account.id}"


class RescueEmailWriter(LinkSender, Protocol):
    async def set_rescue_email(self, account: Account, address: str) -> None:
        """Writes the address, unverified: the next action link verifies it."""

    async def restore_rescue_email(
        self, account: Account, address: str | None, *, verified: bool
    ) -> None: ...

    async def reload(self, account: Account) -> Account | None: ...


class ChangeNotices(Protocol):
    async def rescue_email_replaced(self, account: Account, previous: str, new: str) -> None:
        """A short notice to `previous` (no link); ServiceUnavailable if it cannot leave."""


def valid_rescue_email(
    typed: str, confirmation: str, university_domains: Iterable[str]
) -> str | Invalid:
    """Codes: email.required, email.format, email.university, email.mismatch."""
    try:
        return validate_rescue_email(typed, confirmation, university_domains)
    except InvalidInput as error:
        return Invalid(error.code)


async def grant_rescue_email_change(counters: CounterStore, account: Account) -> str:
    """After a confirmed INE: the nonce the browser keeps (in its session) to make one
    rescue-address write; the store keeps its digest until that write (one proof per
    account: a new INE check replaces the previous one)."""
    nonce = secrets.token_urlsafe(32)
    await counters.hold(_proof_key(account), ine_proof_digest(nonce), PROOF_LIFETIME)
    return nonce


async def _put_back(
    gateway: RescueEmailWriter, account: Account, previous: str | None, verified: bool
) -> None:
    try:
        await gateway.restore_rescue_email(account, previous, verified=verified)
    except ServiceUnavailable:
        log.error("the previous rescue address could not be put back after a failed send")
        raise


async def set_rescue_email_and_send(
    gateway: RescueEmailWriter,
    account: Account,
    address: str,
    proof: str | None,
    policy: LinkPolicy,
    now: dt.datetime,
    notices: ChangeNotices,
) -> Sent | Limited | Refused | Unavailable:
    """`address` as valid_rescue_email() returned it, `proof` the nonce of
    grant_rescue_email_change(), `account` read just now. Refused codes: account.active
    (activated meanwhile: lost password instead), ine.proof (no proof, or one already spent
    or replaced: the INE step again), account.gone (deleted or renamed meanwhile)."""
    if account.activated:
        return Refused("account.active")
    digest = ine_proof_digest(proof or "")
    if not proof or not await policy.counters.spend(_proof_key(account), digest):
        return Refused("ine.proof")
    reservation = await reserve_link(account, policy, now)
    if isinstance(reservation, Limited):
        # Nothing was written: a student who must wait keeps the proof for later.
        await policy.counters.hold(_proof_key(account), digest, PROOF_LIFETIME)
        return reservation
    previous, previous_verified = account.rescue_email, account.rescue_email_verified
    try:
        await gateway.set_rescue_email(account, address)
    except BaseException:
        await release(policy.counters, reservation)
        raise
    try:
        reloaded = await gateway.reload(account)
        if reloaded is None:
            await release(policy.counters, reservation)
            return Refused("account.gone")
        outcome = await send_action_link(
            gateway, reloaded, LinkPurpose.ACTIVATION, policy, now, reservation
        )
    except BaseException:
        # Refused by Keycloak (the account disabled meanwhile, say) or anything unplanned:
        # the address goes back too, so that "nothing changed" stays true.
        await _put_back(gateway, account, previous, previous_verified)
        raise
    if not isinstance(outcome, Sent):
        await _put_back(gateway, reloaded, previous, previous_verified)
        return outcome
    # Never to a refused address (bridge bounces): it would only come back again.
    if previous and previous.lower() != address.lower() and account.rescue_email_bounced is None:
        try:
            await notices.rescue_email_replaced(reloaded, previous, address)
        except ServiceUnavailable as error:
            # The change stands (the link went to the new address); the log names no address.
            log.warning("notice to the previous rescue address not sent: %s", error)
    return outcome
