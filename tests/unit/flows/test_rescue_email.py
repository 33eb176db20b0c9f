"""bridge.flows.rescue_email: the address is validated, written only when a mail may go,
and the activation link then goes to it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from bridge.domain.accounts import Account
from bridge.domain.deadlines import PARIS
from bridge.domain.ratelimits import Limits
from bridge.flows.action_links import LinkPolicy
from bridge.flows.counters import MemoryCounters
from bridge.flows.outcomes import Invalid, Limited, Refused, Sent
from bridge.flows.rescue_email import set_rescue_email_and_send, valid_rescue_email
from tests.helpers.memory_gateway import MemoryGateway

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 9, 3, 10, 0, tzinfo=PARIS)


def policy() -> LinkPolicy:
    return LinkPolicy(Limits(), MemoryCounters(), "portal", "https://ent.example/login")


BASE = Account("u1", "adupont001", True)


def student(**fields: Any) -> Account:
    return dataclasses.replace(BASE, **fields)


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


async def test_written_then_mailed() -> None:
    gateway = MemoryGateway()
    account = gateway.add(student())
    outcome = await set_rescue_email_and_send(gateway, account, "a@example.org", policy(), NOW)
    assert isinstance(outcome, Sent)
    assert gateway.calls == ["set_rescue_email", "send_action_mail", "record_mail_sent"]
    assert gateway.accounts["u1"].rescue_email == "a@example.org"
    assert not gateway.accounts["u1"].rescue_email_verified


async def test_limited_writes_nothing() -> None:
    gateway = MemoryGateway()
    account = gateway.add(student())
    links = policy()
    await links.counters.take(f"mail:day:u1:{NOW.date().isoformat()}", 1, 3600)  # used up:
    links = LinkPolicy(Limits(mails_per_day=1), links.counters, links.client_id, links.redirect_uri)
    outcome = await set_rescue_email_and_send(gateway, account, "a@example.org", links, NOW)
    assert outcome == Limited("mail.daily_limit")
    assert gateway.calls == []
    assert gateway.accounts["u1"].rescue_email is None


async def test_an_activated_account_is_refused() -> None:
    gateway = MemoryGateway()
    account = gateway.add(student(has_password=True))
    outcome = await set_rescue_email_and_send(gateway, account, "a@example.org", policy(), NOW)
    assert outcome == Refused("account.active")
    assert gateway.calls == []
