"""bridge.flows.identifier_recovery against the in-memory gateway: who gets the identifier
(a verified rescue address only), that the mail counts against lost password's limits,
that a lookup is limited before any search, and that the INE is parsed alone."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from bridge.domain.accounts import Account
from bridge.domain.deadlines import PARIS
from bridge.domain.errors import ServiceUnavailable
from bridge.domain.ine import BEA_KEYS, Ine, IneFormat
from bridge.domain.ratelimits import Limits
from bridge.flows.action_links import LinkPolicy
from bridge.flows.counters import MemoryCounters
from bridge.flows.identifier_recovery import IdentifierMail, parse_typed_ine, remind_identifier
from bridge.flows.limits import mails_today_key
from bridge.flows.outcomes import Invalid, Limited, Notified, Refused, Unavailable
from tests.helpers.memory_gateway import MemoryGateway

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 9, 3, 10, 0, tzinfo=PARIS)
INE = "1234567890" + BEA_KEYS[1234567890 % 23]
TYPED = Ine(INE, IneFormat.BEA)
STUDENT = Account(
    "u1",
    "jmartin001",
    True,
    rescue_email="jean.martin@example.org",
    rescue_email_verified=True,
    ine=INE,
    has_password=True,
)


@dataclass
class MemoryIdentifiers:
    """The IdentifierSender: what the SMTP relay would have sent, or a relay that is down."""

    sent: list[tuple[str, str, IdentifierMail]] = field(default_factory=list)
    down: bool = False

    async def send_identifier(self, account: Account, mail: IdentifierMail) -> None:
        if self.down:
            raise ServiceUnavailable("SMTP relay down")
        self.sent.append((account.rescue_email or "", account.username, mail))


def policy(limits: Limits | None = None) -> LinkPolicy:
    return LinkPolicy(limits or Limits(), MemoryCounters(), "portal", "https://ent.example/login")


def mails_today(links: LinkPolicy, user_id: str = "u1") -> int:
    counters = links.counters
    assert isinstance(counters, MemoryCounters)
    return counters._counts.get(mails_today_key(user_id, NOW), (0, 0.0))[0]


async def run(
    *accounts: Account,
    links: LinkPolicy | None = None,
    sender: MemoryIdentifiers | None = None,
    **gateway_fields: Any,
) -> tuple[object, MemoryIdentifiers, LinkPolicy]:
    gateway = MemoryGateway(**gateway_fields)
    for account in accounts:
        gateway.add(account)
    sender = sender or MemoryIdentifiers()
    links = links or policy()
    outcome = await remind_identifier(gateway, sender, TYPED, links, NOW)
    return outcome, sender, links


def student(**fields: Any) -> Account:
    return dataclasses.replace(STUDENT, **fields)


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (INE, TYPED),
        (f" {INE[:5].lower()} {INE[5:].lower()} ", TYPED),
        ("", Invalid("ine.required")),
        ("   ", Invalid("ine.required")),
        ("jmartin001", Invalid("ine.format")),  # an identifier is not an INE here
        ("0123456789I", Invalid("ine.format")),
        ("0123456789A", Invalid("ine.check_key")),
        ("x" * 64, Invalid("ine.format")),
    ],
)
def test_the_ine_is_parsed_alone(raw: str, parsed: Ine | Invalid) -> None:
    assert parse_typed_ine(raw) == parsed


async def test_a_verified_address_gets_the_identifier_counted_like_a_link() -> None:
    outcome, sender, links = await run(student())
    assert outcome == Notified("identifier")
    assert sender.sent == [("jean.martin@example.org", "jmartin001", IdentifierMail.ENABLED)]
    assert mails_today(links) == 1


async def test_a_disabled_account_gets_the_identifier_said_disabled() -> None:
    outcome, sender, _ = await run(student(enabled=False))
    assert outcome == Notified("identifier_disabled")
    assert sender.sent == [("jean.martin@example.org", "jmartin001", IdentifierMail.DISABLED)]


async def test_a_never_activated_account_with_a_verified_address_gets_it_too() -> None:
    outcome, sender, _ = await run(student(has_password=False))
    assert outcome == Notified("identifier")
    assert len(sender.sent) == 1


@pytest.mark.parametrize(
    ("accounts", "code"),
    [
        ((), "account.unknown"),
        ((student(rescue_email_verified=False),), "account.unverified"),
        ((student(rescue_email=None, rescue_email_verified=False),), "account.no_rescue_email"),
        ((student(), student(id="u2", username="jmartin002")), "account.ambiguous"),
    ],
    ids=["unknown", "unverified", "no-rescue-address", "shared-ine"],
)
async def test_nothing_goes_otherwise(accounts: tuple[Account, ...], code: str) -> None:
    outcome, sender, links = await run(*accounts)
    assert outcome == Refused(code)
    assert sender.sent == []
    assert mails_today(links) == 0


async def test_the_account_limits_apply_and_are_shared_with_the_links() -> None:
    """Mails already sent today (activation, lost password) count: past the ceiling,
    nothing goes."""
    links = policy(Limits(resend_interval=dt.timedelta(0), mails_per_day=2))
    for _ in range(2):
        await links.counters.take(mails_today_key("u1", NOW), 2, 3600)
    outcome, sender, _ = await run(student(), links=links)
    assert outcome == Limited("mail.daily_limit")
    assert sender.sent == []


async def test_the_interval_between_two_mails() -> None:
    links = policy()
    first, sender, _ = await run(student(), links=links)
    assert first == Notified("identifier")
    second, _, _ = await run(student(), links=links, sender=sender)
    assert isinstance(second, Limited) and second.code == "mail.too_soon"
    assert len(sender.sent) == 1


async def test_one_ine_is_looked_up_so_many_times_an_hour_before_any_search() -> None:
    links = policy(Limits(lookups_per_hour=2, resend_interval=dt.timedelta(0)))
    for _ in range(2):
        await run(student(), links=links)
    outcome, sender, _ = await run(student(), links=links, lookups_down=True)
    # The search is down, yet the answer is the limit: it was not even tried.
    assert outcome == Limited("lookup.limit")
    assert sender.sent == []


async def test_smtp_down_sends_nothing_and_counts_nothing() -> None:
    outcome, _, links = await run(student(), sender=MemoryIdentifiers(down=True))
    assert isinstance(outcome, Unavailable)
    assert mails_today(links) == 0


async def test_keycloak_down_gives_the_lookup_back() -> None:
    links = policy(Limits(lookups_per_hour=1))
    outcome, _, _ = await run(student(), links=links, lookups_down=True)
    assert isinstance(outcome, Unavailable)
    again, sender, _ = await run(student(), links=links)
    assert again == Notified("identifier")
    assert len(sender.sent) == 1
