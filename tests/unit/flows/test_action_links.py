"""bridge.flows.action_links against the in-memory gateway: the limits, the actions per
purpose, the deadline, and that nothing is counted when the send fails."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from bridge.domain.accounts import Account, RequiredAction
from bridge.domain.deadlines import PARIS
from bridge.domain.ratelimits import DailyCount, Limits
from bridge.flows.action_links import LinkPolicy, LinkPurpose, send_action_link
from bridge.flows.outcomes import Limited, Sent, Unavailable
from tests.helpers.memory_gateway import MemoryGateway

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 9, 3, 10, 0, tzinfo=PARIS)
POLICY = LinkPolicy(Limits(), client_id="portal", redirect_uri="https://ent.example/login")


BASE = Account("u1", "jmartin001", True, rescue_email="jean.martin@example.org")


def student(**fields: Any) -> Account:
    return dataclasses.replace(BASE, **fields)


async def test_sent_with_the_deadline_and_counted() -> None:
    gateway = MemoryGateway()
    account = gateway.add(student())
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, POLICY, NOW)
    assert outcome == Sent("j***n@e***e.org", dt.datetime(2026, 9, 3, 23, 59, 59, tzinfo=PARIS))
    ((user_id, actions, lifespan, client_id, redirect_uri),) = gateway.mails
    assert (user_id, actions) == ("u1", (RequiredAction.SET_PASSWORD,))
    assert lifespan == 13 * 3600 + 59 * 60 + 59
    assert (client_id, redirect_uri) == ("portal", "https://ent.example/login")
    assert gateway.accounts["u1"].mails_sent == DailyCount(NOW.date(), 1)
    assert gateway.accounts["u1"].last_mail_at == NOW


@pytest.mark.parametrize(
    ("purpose", "charter", "actions"),
    [
        (LinkPurpose.ACTIVATION, False, (RequiredAction.SET_PASSWORD,)),
        (
            LinkPurpose.ACTIVATION,
            True,
            (RequiredAction.SET_PASSWORD, RequiredAction.ACCEPT_CHARTER),
        ),
        (
            LinkPurpose.LOST_PASSWORD,
            True,
            (RequiredAction.SET_PASSWORD, RequiredAction.CHECK_RESCUE_EMAIL),
        ),
        (LinkPurpose.STAFF_ACTIVATION, True, (RequiredAction.SET_PASSWORD,)),
    ],
)
def test_actions_per_purpose(
    purpose: LinkPurpose, charter: bool, actions: tuple[RequiredAction, ...]
) -> None:
    policy = LinkPolicy(Limits(), "portal", "https://x/", charter=charter)
    assert policy.actions(purpose) == actions


async def test_daily_limit_sends_nothing() -> None:
    gateway = MemoryGateway()
    account = gateway.add(student(mails_sent=DailyCount(NOW.date(), 5)))
    outcome = await send_action_link(gateway, account, LinkPurpose.LOST_PASSWORD, POLICY, NOW)
    assert outcome == Limited("mail.daily_limit")
    assert gateway.calls == []


async def test_yesterdays_count_does_not_limit_today() -> None:
    gateway = MemoryGateway()
    yesterday = NOW.date() - dt.timedelta(days=1)
    account = gateway.add(student(mails_sent=DailyCount(yesterday, 5)))
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, POLICY, NOW)
    assert isinstance(outcome, Sent)
    assert gateway.accounts["u1"].mails_sent == DailyCount(NOW.date(), 1)


async def test_too_soon_says_how_long_to_wait() -> None:
    gateway = MemoryGateway()
    account = gateway.add(student(last_mail_at=NOW - dt.timedelta(seconds=45)))
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, POLICY, NOW)
    assert outcome == Limited("mail.too_soon", retry_after=15)
    assert gateway.mails == []


async def test_no_link_in_the_last_second_of_the_day() -> None:
    gateway = MemoryGateway()
    account = gateway.add(student())
    late = dt.datetime(2026, 9, 3, 23, 59, 59, 500_000, tzinfo=PARIS)
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, POLICY, late)
    assert outcome == Limited("mail.day_over")
    assert gateway.mails == []


async def test_smtp_down_counts_nothing() -> None:
    gateway = MemoryGateway(smtp_down=True)
    account = gateway.add(student())
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, POLICY, NOW)
    assert isinstance(outcome, Unavailable)
    assert gateway.calls == ["send_action_mail"]
    assert gateway.accounts["u1"].mails_sent is None
