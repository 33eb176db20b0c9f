"""bridge.flows.rescue_email: the address is validated, written only when a mail may go and
with a proof of the INE that one write spends, put back when the mail cannot leave, and
the previous address told of the change."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from typing import Any

import pytest

from bridge.domain.accounts import Account
from bridge.domain.deadlines import PARIS
from bridge.domain.errors import Rejected
from bridge.domain.ratelimits import Limits
from bridge.flows.action_links import LinkPolicy
from bridge.flows.counters import MemoryCounters
from bridge.flows.outcomes import Invalid, Limited, Refused, Sent, Unavailable
from bridge.flows.rescue_email import (
    grant_rescue_email_change,
    set_rescue_email_and_send,
    valid_rescue_email,
)
from tests.helpers.memory_gateway import MemoryChangeNotices, MemoryGateway

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 9, 3, 10, 0, tzinfo=PARIS)


def policy(**limits: Any) -> LinkPolicy:
    """Its counters hold the INE proofs too: one policy per test, shared by its steps."""
    return LinkPolicy(Limits(**limits), MemoryCounters(), "portal", "https://ent.example/login")


BASE = Account("u1", "adupont001", True)


def student(**fields: Any) -> Account:
    return dataclasses.replace(BASE, **fields)


async def proven(
    gateway: MemoryGateway, account: Account, links: LinkPolicy
) -> tuple[Account, str]:
    """The account as step 4-1 reads it once the INE was confirmed, and the browser's nonce."""
    gateway.add(account)
    nonce = await grant_rescue_email_change(links.counters, account)
    gateway.calls.clear()
    return gateway.accounts[account.id], nonce


async def write(
    gateway: MemoryGateway,
    account: Account,
    proof: str | None,
    links: LinkPolicy,
    address: str = "a@example.org",
    notices: MemoryChangeNotices | None = None,
) -> Sent | Limited | Refused | Unavailable:
    return await set_rescue_email_and_send(
        gateway, account, address, proof, links, NOW, notices or MemoryChangeNotices()
    )


@pytest.mark.parametrize(
    ("typed", "confirmation", "code"),
    [
        ("", "", "email.required"),
        ("not-an-address", "not-an-address", "email.format"),
        ("a.dupont@etu.umontpellier.fr", "a.dupont@etu.umontpellier.fr", "email.university"),
        ("a.dupont@example.org", "a.dupond@example.org", "email.mismatch"),
    ],
)
def test_invalid_addresses(typed: str, confirmation: str, code: str) -> None:
    assert valid_rescue_email(typed, confirmation, ("umontpellier.fr",)) == Invalid(code)


def test_a_valid_address_comes_back_normalised() -> None:
    address = valid_rescue_email(" A.Dupont@Example.ORG ", "a.dupont@example.org", ())
    assert address == "A.Dupont@example.org"


async def test_the_store_keeps_only_a_digest_of_the_proof() -> None:
    gateway, links = MemoryGateway(), policy()
    _, nonce = await proven(gateway, student(), links)
    counters = links.counters
    assert isinstance(counters, MemoryCounters)
    ((key, (digest, _)),) = counters._held.items()
    assert key == "ine:proof:u1" and len(digest) == 64 and nonce not in digest


async def test_written_then_mailed() -> None:
    gateway = MemoryGateway()
    links = policy()
    account, nonce = await proven(gateway, student(), links)
    outcome = await write(gateway, account, nonce, links)
    assert isinstance(outcome, Sent)
    assert gateway.calls == ["set_rescue_email", "send_action_mail"]
    assert gateway.accounts["u1"].rescue_email == "a@example.org"
    assert not gateway.accounts["u1"].rescue_email_verified
    assert not await links.counters.spend("ine:proof:u1", "")  # spent with the write


async def test_the_proof_is_good_for_one_write() -> None:
    """The same nonce again (a replayed session cookie), even an hour later: refused."""
    gateway = MemoryGateway()
    links = policy(resend_interval=dt.timedelta(0))
    account, nonce = await proven(gateway, student(), links)
    assert isinstance(await write(gateway, account, nonce, links), Sent)
    gateway.calls.clear()
    later = gateway.accounts["u1"]
    outcome = await write(gateway, later, nonce, links, address="thief@example.org")
    assert outcome == Refused("ine.proof")
    assert gateway.calls == []
    assert gateway.accounts["u1"].rescue_email == "a@example.org"


@pytest.mark.parametrize("proof", [None, "", "forged-nonce"])
async def test_no_proof_or_a_wrong_one_writes_nothing(proof: str | None) -> None:
    gateway = MemoryGateway()
    links = policy()
    account, _ = await proven(gateway, student(), links)
    assert await write(gateway, account, proof, links) == Refused("ine.proof")
    assert gateway.calls == []
    assert gateway.accounts["u1"].rescue_email is None


async def test_an_account_without_a_pending_proof_writes_nothing() -> None:
    gateway = MemoryGateway()
    links = policy()
    account = gateway.add(student())
    assert await write(gateway, account, "any-nonce", links) == Refused("ine.proof")
    assert gateway.calls == []


async def test_a_new_ine_check_replaces_the_previous_proof() -> None:
    gateway = MemoryGateway()
    links = policy()
    _, first = await proven(gateway, student(), links)
    second = await grant_rescue_email_change(links.counters, gateway.accounts["u1"])
    account = gateway.accounts["u1"]
    assert await write(gateway, account, first, links) == Refused("ine.proof")
    assert isinstance(await write(gateway, account, second, links), Sent)


async def test_limited_writes_nothing_and_keeps_the_proof() -> None:
    gateway = MemoryGateway()
    links = policy(mails_per_day=1)
    account, nonce = await proven(gateway, student(), links)
    await links.counters.take(f"mail:day:u1:{NOW.date().isoformat()}", 1, 3600)  # used up
    outcome = await write(gateway, account, nonce, links)
    assert outcome == Limited("mail.daily_limit")
    assert gateway.calls == []
    assert gateway.accounts["u1"].rescue_email is None
    await links.counters.give_back(f"mail:day:u1:{NOW.date().isoformat()}")
    assert isinstance(await write(gateway, account, nonce, links), Sent)  # the proof was kept


async def test_two_writes_racing_with_one_proof_make_one_write() -> None:
    """The same cookie posted twice at once (or on two replicas): one spends the proof."""
    gateway = MemoryGateway()
    links = policy(resend_interval=dt.timedelta(0))
    account, nonce = await proven(gateway, student(), links)
    outcomes = await asyncio.gather(
        write(gateway, account, nonce, links, address="one@example.org"),
        write(gateway, account, nonce, links, address="two@example.org"),
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["Refused", "Sent"]
    assert gateway.calls.count("set_rescue_email") == 1


async def test_an_activated_account_is_refused() -> None:
    gateway = MemoryGateway()
    links = policy()
    account, nonce = await proven(gateway, student(has_password=True), links)
    assert await write(gateway, account, nonce, links) == Refused("account.active")
    assert gateway.calls == []


@pytest.mark.parametrize(
    ("previous", "verified"), [("old@example.org", True), ("old@example.org", False), (None, False)]
)
async def test_smtp_down_puts_the_previous_address_back(
    previous: str | None, verified: bool
) -> None:
    gateway = MemoryGateway(smtp_down=True)
    links = policy()
    notices = MemoryChangeNotices()
    account, nonce = await proven(
        gateway, student(rescue_email=previous, rescue_email_verified=verified), links
    )
    outcome = await write(gateway, account, nonce, links, notices=notices)
    assert isinstance(outcome, Unavailable)
    assert gateway.calls == ["set_rescue_email", "send_action_mail", "restore_rescue_email"]
    after = gateway.accounts["u1"]
    assert (after.rescue_email, after.rescue_email_verified) == (previous, verified)
    assert notices.sent == []
    gateway.smtp_down = False
    assert await write(gateway, after, nonce, links) == Refused("ine.proof")


async def test_the_previous_address_is_told_of_the_change() -> None:
    gateway = MemoryGateway()
    links = policy()
    notices = MemoryChangeNotices()
    account, nonce = await proven(
        gateway, student(rescue_email="old@example.org", rescue_email_verified=True), links
    )
    outcome = await write(
        gateway, account, nonce, links, address="new@example.org", notices=notices
    )
    assert isinstance(outcome, Sent)
    assert notices.sent == [("adupont001", "old@example.org", "new@example.org")]


@pytest.mark.parametrize("previous", [None, "", "A@Example.org"])
async def test_no_notice_without_a_previous_address_or_for_the_same_one(
    previous: str | None,
) -> None:
    gateway = MemoryGateway()
    links = policy()
    notices = MemoryChangeNotices()
    account, nonce = await proven(gateway, student(rescue_email=previous), links)
    assert isinstance(await write(gateway, account, nonce, links, notices=notices), Sent)
    assert notices.sent == []


async def test_a_notice_that_cannot_leave_does_not_undo_the_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gateway = MemoryGateway()
    links = policy()
    notices = MemoryChangeNotices(down=True)
    account, nonce = await proven(gateway, student(rescue_email="old@example.org"), links)
    with caplog.at_level(logging.WARNING):
        outcome = await write(
            gateway, account, nonce, links, address="new@example.org", notices=notices
        )
    assert isinstance(outcome, Sent)
    assert gateway.accounts["u1"].rescue_email == "new@example.org"
    assert "restore_rescue_email" not in gateway.calls
    assert "notice to the previous rescue address not sent" in caplog.text
    assert "old@example.org" not in caplog.text and "new@example.org" not in caplog.text


async def test_a_refused_send_puts_the_previous_address_back_and_counts_nothing() -> None:
    gateway = MemoryGateway(refuse_sends=True)
    links = policy()
    account, nonce = await proven(
        gateway, student(rescue_email="old@example.org", rescue_email_verified=True), links
    )
    with pytest.raises(Rejected):
        await write(gateway, account, nonce, links)
    after = gateway.accounts["u1"]
    assert (after.rescue_email, after.rescue_email_verified) == ("old@example.org", True)
    assert await links.counters.count(f"mail:day:u1:{NOW.date().isoformat()}") == 0
