"""bridge.flows.lost_password against the in-memory gateway: what goes out for each kind of
account (a link, a notice, nothing), that notices count against the same limits, and that
the typed input is parsed without looking anything up."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from bridge.domain.accounts import Account, RequiredAction
from bridge.domain.deadlines import PARIS
from bridge.domain.ine import BEA_KEYS
from bridge.domain.ratelimits import Limits
from bridge.flows.action_links import LinkPolicy
from bridge.flows.counters import MemoryCounters
from bridge.flows.limits import mails_today_key
from bridge.flows.lost_password import Login, Notice, parse_login, recover
from bridge.flows.outcomes import Invalid, Limited, Notified, Refused, Sent, Unavailable
from tests.helpers.memory_gateway import MemoryGateway, MemoryNotices

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 9, 3, 10, 0, tzinfo=PARIS)


def policy() -> LinkPolicy:
    """Fresh counters for each run: one test's mails do not count in another's."""
    return LinkPolicy(Limits(), MemoryCounters(), "portal", "https://ent.example/login")


def mails_today(links: LinkPolicy) -> int:
    counters = links.counters
    assert isinstance(counters, MemoryCounters)
    return counters._counts.get(mails_today_key("u1", NOW), (0, 0.0))[0]


INE = "1234567890" + BEA_KEYS[1234567890 % 23]
ACTIVATED = Account(
    "u1",
    "jmartin001",
    True,
    rescue_email="jean.martin@example.org",
    rescue_email_verified=True,
    ine=INE,
    has_password=True,
)
BY_NAME = Login("jmartin001", is_ine=False)


def student(**fields: Any) -> Account:
    return dataclasses.replace(ACTIVATED, **fields)


async def run(
    account: Account | None,
    login: Login = BY_NAME,
    links: LinkPolicy | None = None,
    **gateway_fields: Any,
) -> tuple[object, MemoryGateway, MemoryNotices]:
    gateway, notices = MemoryGateway(**gateway_fields), MemoryNotices()
    if account is not None:
        gateway.add(account)
    outcome = await recover(gateway, notices, login, links or policy(), NOW)
    return outcome, gateway, notices


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ("jmartin001", Login("jmartin001", is_ine=False)),
        (" JMartin001 ", Login("jmartin001", is_ine=False)),
        (f" {INE.lower()} ", Login(INE, is_ine=True)),
        ("", Invalid("identifier.required")),
        ("j martin", Invalid("identifier.format")),
        ("0123456789I", Invalid("ine.format")),
        ("0123456789A", Invalid("ine.check_key")),
    ],
)
def test_the_input_is_parsed_alone(raw: str, parsed: Login | Invalid) -> None:
    assert parse_login(raw) == parsed


async def test_activated_with_a_verified_address_gets_the_link() -> None:
    links = policy()
    outcome, gateway, notices = await run(student(), links=links)
    assert isinstance(outcome, Sent)
    ((user_id, actions, *_),) = gateway.mails
    assert user_id == "u1"
    assert actions == (RequiredAction.SET_PASSWORD, RequiredAction.CHECK_RESCUE_EMAIL)
    assert notices.sent == []
    assert mails_today(links) == 1


async def test_by_ine_too() -> None:
    outcome, gateway, _ = await run(student(), Login(INE, is_ine=True))
    assert isinstance(outcome, Sent)
    assert len(gateway.mails) == 1


async def test_activated_with_an_unverified_address_gets_the_desk_notice_not_a_link() -> None:
    links = policy()
    outcome, gateway, notices = await run(student(rescue_email_verified=False), links=links)
    assert outcome == Notified("see_the_desk")
    assert gateway.mails == []
    assert notices.sent == [("jean.martin@example.org", Notice.SEE_THE_DESK)]
    assert mails_today(links) == 1  # counted


@pytest.mark.parametrize(
    "account",
    [
        student(has_password=False, rescue_email_verified=False),  # the SIS's address
        student(required_actions=(RequiredAction.SET_PASSWORD,), rescue_email_verified=False),
    ],
    ids=["never-activated", "activation-key-pending"],
)
async def test_not_yet_activated_gets_the_link_at_the_address_on_file(account: Account) -> None:
    outcome, gateway, notices = await run(account)
    assert isinstance(outcome, Sent)
    assert len(gateway.mails) == 1
    assert notices.sent == []


async def test_expired_with_a_verified_address_gets_the_expiry_notice() -> None:
    outcome, gateway, notices = await run(student(enabled=False))
    assert outcome == Notified("account_expired")
    assert gateway.mails == []
    assert notices.sent == [("jean.martin@example.org", Notice.ACCOUNT_EXPIRED)]


@pytest.mark.parametrize(
    ("account", "code"),
    [
        (None, "account.unknown"),
        (student(rescue_email=None, rescue_email_verified=False), "account.no_rescue_email"),
        (student(enabled=False, rescue_email_verified=False), "account.disabled"),
        (student(enabled=False, rescue_email=None), "account.disabled"),
    ],
    ids=["unknown", "no-rescue-address", "expired-unverified", "expired-no-address"],
)
async def test_nothing_goes_out(account: Account | None, code: str) -> None:
    outcome, gateway, notices = await run(account)
    assert outcome == Refused(code)
    assert gateway.mails == [] and notices.sent == []


async def test_an_ine_shared_by_two_accounts_sends_nothing() -> None:
    gateway, notices = MemoryGateway(), MemoryNotices()
    gateway.add(student())
    gateway.add(student(id="u2", username="jmartin002"))
    outcome = await recover(gateway, notices, Login(INE, is_ine=True), policy(), NOW)
    assert outcome == Refused("account.ambiguous")
    assert gateway.mails == [] and notices.sent == []


async def test_limits_apply_to_links_and_notices_alike() -> None:
    links = policy()
    assert isinstance((await run(student(), links=links))[0], Sent)
    link, gateway, _ = await run(student(), links=links)
    assert link == Limited("mail.too_soon", 60)
    assert gateway.mails == []
    notice, _, notices = await run(student(rescue_email_verified=False), links=links)
    assert notice == Limited("mail.too_soon", 60)
    assert notices.sent == []
    spent = LinkPolicy(
        Limits(mails_per_day=1, resend_interval=dt.timedelta(0)),
        MemoryCounters(),
        "portal",
        "https://x/",
    )
    assert isinstance((await run(student(enabled=False), links=spent))[0], Notified)
    expired, _, notices = await run(student(enabled=False), links=spent)
    assert expired == Limited("mail.daily_limit")
    assert notices.sent == []


async def test_outages_count_nothing() -> None:
    lookup, _, _ = await run(student(), lookups_down=True)
    assert isinstance(lookup, Unavailable)
    links = policy()
    link, gateway, _ = await run(student(), links=links, smtp_down=True)
    assert isinstance(link, Unavailable)
    assert mails_today(links) == 0
    gateway, notices = MemoryGateway(), MemoryNotices(smtp_down=True)
    gateway.add(student(rescue_email_verified=False))
    notice = await recover(gateway, notices, BY_NAME, links, NOW)
    assert isinstance(notice, Unavailable)
    assert mails_today(links) == 0


async def test_one_typed_value_is_looked_up_at_most_so_often_an_hour() -> None:
    links = LinkPolicy(Limits(lookups_per_hour=3), MemoryCounters(), "portal", "https://x/")
    gateway, notices = MemoryGateway(), MemoryNotices()
    unknown = Login("nobody999", is_ine=False)
    for _ in range(3):
        assert await recover(gateway, notices, unknown, links, NOW) == Refused("account.unknown")
    # The fourth is refused before any lookup: even with the directory down, no call.
    gateway.lookups_down = True
    assert await recover(gateway, notices, unknown, links, NOW) == Limited("lookup.limit")
    gateway.lookups_down = False
    assert await recover(gateway, notices, Login("other999", is_ine=False), links, NOW) == Refused(
        "account.unknown"
    )
    next_hour = NOW + dt.timedelta(hours=1)
    assert await recover(gateway, notices, unknown, links, next_hour) == Refused("account.unknown")
