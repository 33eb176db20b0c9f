"""bridge.flows.action_links against the in-memory gateway: the limits, the actions per
purpose, the deadline, and that nothing is counted when the send fails."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from bridge.domain.accounts import Account, RequiredAction
from bridge.domain.deadlines import PARIS
from bridge.domain.errors import Rejected, ServiceUnavailable
from bridge.domain.ratelimits import Limits
from bridge.flows.action_links import LinkPolicy, LinkPurpose, send_action_link
from bridge.flows.counters import MemoryCounters
from bridge.flows.limits import mails_today_key
from bridge.flows.outcomes import Limited, Sent, Unavailable
from tests.helpers.memory_gateway import MemoryGateway

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 9, 3, 10, 0, tzinfo=PARIS)


def policy(**limits: Any) -> LinkPolicy:
    """Fresh counters each time: one test's mails do not count in another's."""
    return LinkPolicy(Limits(**limits), MemoryCounters(), "portal", "https://ent.example/login")


BASE = Account("u1", "jmartin001", True, rescue_email="jean.martin@example.org")


def student(**fields: Any) -> Account:
    return dataclasses.replace(BASE, **fields)


async def test_sent_with_the_deadline_and_counted() -> None:
    gateway = MemoryGateway()
    account = gateway.add(student())
    links = policy()
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, links, NOW)
    assert outcome == Sent("j***n@e***e.org", dt.datetime(2026, 9, 3, 23, 59, 59, tzinfo=PARIS))
    ((user_id, actions, lifespan, client_id, redirect_uri),) = gateway.mails
    assert (user_id, actions) == ("u1", (RequiredAction.SET_PASSWORD,))
    assert lifespan == 13 * 3600 + 59 * 60 + 59
    assert (client_id, redirect_uri) == ("portal", "https://ent.example/login")
    assert await links.counters.count(mails_today_key("u1", NOW)) == 1


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
    links = LinkPolicy(Limits(), MemoryCounters(), "portal", "https://x/", charter=charter)
    assert links.actions(purpose) == actions


def from_network(links: LinkPolicy, address: str) -> LinkPolicy:
    return dataclasses.replace(links, requester=address)


async def test_one_network_uses_up_only_its_own_allowance() -> None:
    """A stranger asking for a student's mails from one network: the student, elsewhere,
    still gets theirs."""
    gateway = MemoryGateway()
    account = gateway.add(student())
    links = policy(resend_interval=dt.timedelta(0))
    stranger = from_network(links, "203.0.113.9")
    for _ in range(3):
        sent = await send_action_link(gateway, account, LinkPurpose.LOST_PASSWORD, stranger, NOW)
        assert isinstance(sent, Sent)
    gateway.calls.clear()
    outcome = await send_action_link(gateway, account, LinkPurpose.LOST_PASSWORD, stranger, NOW)
    assert outcome == Limited("mail.network_limit")
    assert gateway.calls == []
    # Another address of the stranger's IPv4 is another network; the same /64 is not.
    student_home = from_network(links, "2001:db8:1:2::10")
    sent = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, student_home, NOW)
    assert isinstance(sent, Sent)
    same_prefix = from_network(links, "2001:db8:1:2:ffff::1")
    for _ in range(2):
        sent = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, same_prefix, NOW)
        assert isinstance(sent, Sent)
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, same_prefix, NOW)
    assert outcome == Limited("mail.network_limit")


async def test_the_account_ceiling_holds_across_networks() -> None:
    gateway = MemoryGateway()
    account = gateway.add(student())
    links = policy(resend_interval=dt.timedelta(0), mails_per_day=4)
    outcomes = [
        await send_action_link(
            gateway, account, LinkPurpose.ACTIVATION, from_network(links, f"198.51.100.{n}"), NOW
        )
        for n in range(6)
    ]
    assert [type(o).__name__ for o in outcomes] == ["Sent"] * 4 + ["Limited"] * 2
    assert outcomes[4] == Limited("mail.daily_limit")
    assert len(gateway.mails) == 4
    # The refused requests' networks gave their unit back: not counted against them.
    assert await links.counters.count(mails_today_key("u1", NOW)) == 4


async def test_the_interval_doubles_from_the_third_mail_up_to_the_cap() -> None:
    gateway = MemoryGateway()
    account = gateway.add(student())
    links = policy(mails_per_network=100, mails_per_day=100, backoff_cap=dt.timedelta(minutes=10))
    at, waits = NOW, []
    for n in range(8):
        sent = await send_action_link(
            gateway, account, LinkPurpose.ACTIVATION, from_network(links, f"192.0.2.{n}"), at
        )
        assert isinstance(sent, Sent)
        refused = await send_action_link(
            gateway, account, LinkPurpose.ACTIVATION, links, at + dt.timedelta(seconds=1)
        )
        assert isinstance(refused, Limited) and refused.code == "mail.too_soon"
        waits.append((refused.retry_after or 0) + 1)
        at += dt.timedelta(seconds=waits[-1])
    assert waits == [60, 60, 120, 240, 480, 600, 600, 600]


async def test_yesterdays_count_does_not_limit_today() -> None:
    gateway = MemoryGateway()
    account = gateway.add(student())
    links = policy(resend_interval=dt.timedelta(0), mails_per_day=1)
    yesterday = NOW - dt.timedelta(days=1)
    assert isinstance(
        await send_action_link(gateway, account, LinkPurpose.ACTIVATION, links, yesterday), Sent
    )
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, links, NOW)
    assert isinstance(outcome, Sent)
    assert await links.counters.count(mails_today_key("u1", NOW)) == 1


async def test_too_soon_says_how_long_to_wait() -> None:
    gateway = MemoryGateway()
    account = gateway.add(student())
    links = policy()
    earlier = NOW - dt.timedelta(seconds=45)
    assert isinstance(
        await send_action_link(gateway, account, LinkPurpose.ACTIVATION, links, earlier), Sent
    )
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, links, NOW)
    assert outcome == Limited("mail.too_soon", retry_after=15)
    assert len(gateway.mails) == 1
    assert await links.counters.count(mails_today_key("u1", NOW)) == 1  # not counted twice


async def test_no_link_in_the_last_second_of_the_day() -> None:
    gateway = MemoryGateway()
    account = gateway.add(student())
    late = dt.datetime(2026, 9, 3, 23, 59, 59, 500_000, tzinfo=PARIS)
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, policy(), late)
    assert outcome == Limited("mail.day_over")
    assert gateway.mails == []


async def test_smtp_down_counts_nothing() -> None:
    gateway = MemoryGateway(smtp_down=True)
    account = gateway.add(student())
    links = policy()
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, links, NOW)
    assert isinstance(outcome, Unavailable)
    assert gateway.calls == ["send_action_mail"]
    assert await links.counters.count(mails_today_key("u1", NOW)) == 0
    gateway.smtp_down = False  # and the interval was given back too: it goes at once
    assert isinstance(
        await send_action_link(gateway, account, LinkPurpose.ACTIVATION, links, NOW), Sent
    )


async def test_the_realm_budget_holds_across_accounts() -> None:
    gateway = MemoryGateway()
    links = policy(mails_per_minute=2)
    outcomes = [
        await send_action_link(
            gateway, gateway.add(student(id=f"u{n}")), LinkPurpose.ACTIVATION, links, NOW
        )
        for n in range(3)
    ]
    assert [type(o).__name__ for o in outcomes] == ["Sent", "Sent", "Limited"]
    assert outcomes[2] == Limited("mail.busy", retry_after=61)
    # The third account's own counters were given back: its next try is not "too soon".
    assert await links.counters.count(mails_today_key("u2", NOW)) == 0


@pytest.mark.parametrize(
    ("stored", "reader", "written"),
    [
        (None, "en", "en"),  # no language yet: the page's becomes the account's
        ("fr", "en", "en"),  # the reader changed language: the mail follows the page
        ("en", "en", None),  # already so: no write
        ("en", None, None),  # the console: the account's language stays
    ],
)
async def test_the_account_takes_the_readers_language_before_the_mail(
    stored: str | None, reader: str | None, written: str | None
) -> None:
    gateway = MemoryGateway()
    account = gateway.add(student(locale=stored))
    links = dataclasses.replace(policy(), locale=reader)
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, links, NOW)
    assert isinstance(outcome, Sent)
    expected = ["set_locale", "send_action_mail"] if written else ["send_action_mail"]
    assert gateway.calls == expected
    assert gateway.accounts["u1"].locale == (written or stored)


@pytest.mark.parametrize(
    ("stored", "reader", "written"),
    [
        (None, "en", "en"),  # no language yet: the page's becomes the account's
        ("fr", "en", None),  # its owner's choice: a stranger asking in English changes nothing
        ("en", "fr", None),
    ],
)
async def test_lost_password_gives_a_language_only_to_an_account_without_one(
    stored: str | None, reader: str, written: str | None
) -> None:
    gateway = MemoryGateway()
    account = gateway.add(student(locale=stored))
    links = dataclasses.replace(policy(), locale=reader)
    outcome = await send_action_link(gateway, account, LinkPurpose.LOST_PASSWORD, links, NOW)
    assert isinstance(outcome, Sent)
    expected = ["set_locale", "send_action_mail"] if written else ["send_action_mail"]
    assert gateway.calls == expected
    assert gateway.accounts["u1"].locale == (written or stored)


async def test_a_language_write_that_fails_for_an_outage_sends_nothing_and_counts_nothing() -> None:
    class Down(MemoryGateway):
        async def set_locale(self, account: Account, locale: str) -> None:
            raise ServiceUnavailable("Keycloak down")

    gateway = Down()
    account = gateway.add(student())
    links = dataclasses.replace(policy(), locale="en")
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, links, NOW)
    assert isinstance(outcome, Unavailable)
    assert gateway.mails == []
    assert await links.counters.count(mails_today_key("u1", NOW)) == 0


async def test_a_refused_language_write_still_sends_the_mail() -> None:
    class Refusing(MemoryGateway):
        async def set_locale(self, account: Account, locale: str) -> None:
            raise Rejected("error-user-attribute-read-only")

    gateway = Refusing()
    account = gateway.add(student())
    links = dataclasses.replace(policy(), locale="en")
    outcome = await send_action_link(gateway, account, LinkPurpose.ACTIVATION, links, NOW)
    assert isinstance(outcome, Sent)
    assert len(gateway.mails) == 1
