"""bridge.flows.staff_actions: which actions apply, each one's effect and record."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from bridge.domain.accounts import Account, RequiredAction
from bridge.domain.console import Action, StaffRecord
from bridge.domain.deadlines import PARIS
from bridge.domain.ratelimits import Limits
from bridge.flows.action_links import LinkPolicy
from bridge.flows.counters import MemoryCounters
from bridge.flows.outcomes import Invalid, Limited, Refused, Unavailable
from bridge.flows.staff_actions import (
    Done,
    KeyIssued,
    StaffForm,
    perform,
    refusal,
    reveal_rescue_email,
)
from tests.helpers.memory_gateway import MemoryGateway

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 9, 3, 10, 0, tzinfo=PARIS)
TODAY = NOW.date()


def policy() -> LinkPolicy:
    return LinkPolicy(Limits(), MemoryCounters(), "portal", "https://ent.example/login")


BASE = Account("u1", "cbernard001", True, valid_until=dt.date(2027, 12, 31))


def student(**fields: Any) -> Account:
    return dataclasses.replace(BASE, **fields)


NO_FORM = StaffForm()


async def act(
    gateway: MemoryGateway,
    action: Action,
    form: StaffForm = NO_FORM,
    links: LinkPolicy | None = None,
) -> object:
    return await perform(
        gateway,
        gateway.accounts["u1"],
        None,
        action,
        form,
        now=NOW,
        university_domains=("umontpellier.fr",),
        policy=links or policy(),
    )


async def test_reset_clears_the_password_and_records_why() -> None:
    gateway = MemoryGateway()
    gateway.add(student(has_password=True, rescue_email="c@example.org"))
    outcome = await act(gateway, Action.RESET, StaffForm(reason="  lost   phone "))
    assert outcome == Done(Action.RESET)
    assert not gateway.accounts["u1"].has_password
    assert gateway.records == [("u1", StaffRecord(Action.RESET, NOW, "lost phone"))]


async def test_a_verified_rescue_address_set_in_person() -> None:
    gateway = MemoryGateway()
    gateway.add(student())
    form = StaffForm(email="c@example.org", email_confirm="c@example.org")
    assert await act(gateway, Action.SET_RESCUE_EMAIL, form) == Done(Action.SET_RESCUE_EMAIL)
    assert gateway.accounts["u1"].rescue_email == "c@example.org"
    assert gateway.accounts["u1"].rescue_email_verified


async def test_a_university_address_is_invalid_and_nothing_is_written() -> None:
    gateway = MemoryGateway()
    gateway.add(student())
    form = StaffForm(email="c@umontpellier.fr", email_confirm="c@umontpellier.fr")
    assert await act(gateway, Action.SET_RESCUE_EMAIL, form) == Invalid("email.university")
    assert gateway.records == [] and gateway.accounts["u1"].rescue_email is None


async def test_a_long_reason_is_invalid() -> None:
    gateway = MemoryGateway()
    gateway.add(student())
    assert await act(gateway, Action.RESET, StaffForm(reason="x" * 201)) == Invalid(
        "console.reason"
    )
    assert gateway.records == []


async def test_the_activation_mail_within_the_limits() -> None:
    gateway, links = MemoryGateway(), policy()
    gateway.add(student(rescue_email="c@example.org"))
    done = await act(gateway, Action.SEND_ACTIVATION_MAIL, links=links)
    assert done == Done(Action.SEND_ACTIVATION_MAIL)
    assert gateway.mails[0][1] == (RequiredAction.SET_PASSWORD,)
    again = await act(gateway, Action.SEND_ACTIVATION_MAIL, links=links)
    assert again == Limited("mail.too_soon", 60)  # the same limits as the student's
    assert len(gateway.records) == 1


async def test_smtp_down_records_nothing() -> None:
    gateway = MemoryGateway(smtp_down=True)
    gateway.add(student(rescue_email="c@example.org"))
    assert isinstance(await act(gateway, Action.SEND_ACTIVATION_MAIL), Unavailable)
    assert gateway.records == []


async def test_no_activation_mail_without_a_rescue_address() -> None:
    gateway = MemoryGateway()
    gateway.add(student())
    assert await act(gateway, Action.SEND_ACTIVATION_MAIL) == Refused("console.no_rescue_email")


async def test_a_key_is_issued_once_and_recorded() -> None:
    gateway = MemoryGateway()
    gateway.add(student())
    outcome = await act(gateway, Action.ISSUE_ACTIVATION_KEY)
    assert isinstance(outcome, KeyIssued)
    assert gateway.keys["u1"] == outcome.key
    assert gateway.accounts["u1"].required_actions == (
        RequiredAction.SET_PASSWORD,
        RequiredAction.CHECK_RESCUE_EMAIL,
    )
    assert gateway.records[0][1].action is Action.ISSUE_ACTIVATION_KEY


def test_what_applies_to_an_expired_or_disabled_account() -> None:
    expired = student(valid_until=dt.date(2025, 12, 31), enabled=False)
    assert refusal(Action.RESET, expired, None, TODAY) == Refused("console.not_applicable")
    assert refusal(Action.SET_RESCUE_EMAIL, expired, None, TODAY) is None
    disabled = student(enabled=False)
    assert refusal(Action.REENABLE, disabled, None, TODAY) is None
    lapsed = student(enabled=False, valid_until=None)
    assert refusal(Action.REENABLE, lapsed, None, TODAY) == Refused("console.not_enrolled")


async def test_reenable_and_reveal_are_recorded() -> None:
    gateway = MemoryGateway()
    gateway.add(student(enabled=False))
    assert await act(gateway, Action.REENABLE) == Done(Action.REENABLE)
    assert gateway.accounts["u1"].enabled
    record = await reveal_rescue_email(gateway, gateway.accounts["u1"], NOW)
    assert gateway.records[-1] == ("u1", record)
    assert record.action is Action.SHOW_RESCUE_EMAIL
