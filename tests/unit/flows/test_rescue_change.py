"""The rescue-address change asked from the account page (bridge.flows.rescue_change): its
rules, with in-memory stand-ins (the integration tests run it against Keycloak)."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from bridge.domain.accounts import Account
from bridge.domain.deadlines import PARIS
from bridge.domain.errors import AccountNotFound, Conflict, NotAllowed, ServiceUnavailable
from bridge.domain.ratelimits import Limits
from bridge.domain.rescue_change import ChangeRequest, link_state
from bridge.flows.action_links import LinkPolicy
from bridge.flows.counters import MemoryCounters
from bridge.flows.outcomes import Invalid, Limited, Notified, Refused, Sent, Unavailable
from bridge.flows.rescue_change import (
    CHANGED,
    ask_rescue_change,
    check_rescue_change,
    confirm_rescue_change,
)
from tests.helpers.memory_gateway import MemoryChangeNotices

pytestmark = pytest.mark.anyio

NOW = dt.datetime(2026, 9, 3, 10, 0, tzinfo=PARIS)
DOMAINS = ("umontpellier.fr",)
OLD = "old@example.org"


@dataclass
class Accounts:
    """ChangeAccounts, in memory; `yield_on_write` lets racing confirmations interleave."""

    accounts: dict[str, Account] = field(default_factory=dict)
    writes: list[tuple[str, str]] = field(default_factory=list)
    down: bool = False

    async def get_account(self, user_id: str) -> Account:
        if self.down:
            raise ServiceUnavailable("Keycloak down")
        await asyncio.sleep(0)
        if user_id not in self.accounts:
            raise AccountNotFound(user_id)
        return self.accounts[user_id]

    async def confirm_rescue_email(self, account: Account, address: str, previous: str) -> None:
        await asyncio.sleep(0)
        on_file = self.accounts[account.id].rescue_email or ""
        if on_file.lower() != previous.lower():
            raise Conflict("changed meanwhile")
        self.writes.append((account.id, address))
        self.accounts[account.id] = dataclasses.replace(
            account, rescue_email=address, rescue_email_verified=True
        )


@dataclass
class Links:
    sent: list[ChangeRequest] = field(default_factory=list)
    down: bool = False

    async def send_change_link(self, account: Account, change: ChangeRequest) -> None:
        if self.down:
            raise ServiceUnavailable("SMTP down")
        self.sent.append(change)


def policy(**limits: Any) -> LinkPolicy:
    return LinkPolicy(Limits(**limits), MemoryCounters(), "portal", "https://ent.example/login")


def setup(**fields: Any) -> tuple[Accounts, Links, LinkPolicy]:
    account = Account("u1", "adupont001", True, rescue_email=OLD, rescue_email_verified=True)
    accounts = Accounts({"u1": dataclasses.replace(account, **fields)})
    return accounts, Links(), policy()


async def ask(
    accounts: Accounts, links: Links, links_policy: LinkPolicy, typed: str, now: dt.datetime = NOW
) -> Any:
    return await ask_rescue_change(accounts, links, "u1", typed, DOMAINS, links_policy, now)


async def asked(accounts: Accounts, links: Links, p: LinkPolicy, typed: str) -> ChangeRequest:
    outcome = await ask(accounts, links, p, typed)
    assert isinstance(outcome, Sent), outcome
    return links.sent[-1]


async def test_asking_mails_a_link_bound_to_the_account_and_both_addresses() -> None:
    accounts, links, p = setup()
    outcome = await ask(accounts, links, p, "  New.Address@Example.NET ")
    assert outcome == Sent("N***s@e***e.net", dt.datetime(2026, 9, 3, 23, 59, 59, tzinfo=PARIS))
    (change,) = links.sent
    assert change.account_id == "u1"
    assert change.new_address == "New.Address@example.net"
    assert change.previous_address == OLD
    assert change.deadline == int(dt.datetime(2026, 9, 3, 23, 59, 59, tzinfo=PARIS).timestamp())
    # Nothing changed on the account; the store holds a digest, never the nonce.
    assert accounts.accounts["u1"].rescue_email == OLD and accounts.writes == []
    assert isinstance(p.counters, MemoryCounters)
    ((key, (digest, _)),) = p.counters._held.items()
    assert key == "rescue:change:u1" and change.nonce not in digest


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "email.required"),
        ("   ", "email.required"),
        ("not an address", "email.format"),
        ("a@b", "email.format"),
        ("x" * 300 + "@example.org", "email.format"),
        ("jeanne@umontpellier.fr", "email.university"),
        ("jeanne@etu.UMONTPELLIER.fr", "email.university"),
        ("a@example.org\r\nBcc: victim@example.net", "email.format"),
        ("a@example.org\nSubject: x", "email.format"),
        ("a@example.org,b@example.org", "email.format"),
        ("<a@example.org>", "email.format"),
        ("Old@example.org", "email.same"),
    ],
)
async def test_hostile_or_useless_input_sends_and_writes_nothing(typed: str, code: str) -> None:
    accounts, links, p = setup()
    assert await ask(accounts, links, p, typed) == Invalid(code)
    assert links.sent == [] and accounts.writes == []
    assert isinstance(p.counters, MemoryCounters) and p.counters._held == {}


async def test_the_mail_limits_apply_and_count_only_mails_that_left() -> None:
    accounts, links, p = setup()
    links.down = True
    assert isinstance(await ask(accounts, links, p, "a@example.net"), Unavailable)
    assert isinstance(p.counters, MemoryCounters) and p.counters._held == {}
    links.down = False
    assert isinstance(await ask(accounts, links, p, "a@example.net"), Sent)  # not too soon
    again = await ask(accounts, links, p, "b@example.net")
    assert isinstance(again, Limited) and again.code == "mail.too_soon"
    assert len(links.sent) == 1


async def test_an_unknown_account_or_keycloak_down() -> None:
    accounts, links, p = setup()
    outcome = await ask_rescue_change(accounts, links, "nobody", "a@example.net", DOMAINS, p, NOW)
    assert outcome == Refused("account.gone")
    accounts.down = True
    assert isinstance(await ask(accounts, links, p, "a@example.net"), Unavailable)


async def test_opening_the_link_changes_the_address_and_notifies_the_previous_one() -> None:
    accounts, links, p = setup()
    change = await asked(accounts, links, p, "new@example.net")
    # Seeing the confirmation page (a GET) changes nothing.
    assert isinstance(await check_rescue_change(accounts, change, NOW), Account)
    assert accounts.writes == []
    notices = MemoryChangeNotices()
    outcome = await confirm_rescue_change(accounts, notices, p.counters, change, NOW)
    assert outcome == Notified(CHANGED)
    assert accounts.accounts["u1"].rescue_email == "new@example.net"
    assert accounts.accounts["u1"].rescue_email_verified
    assert notices.sent == [("adupont001", OLD, "new@example.net")]


async def test_a_link_used_twice_is_refused_the_second_time() -> None:
    accounts, links, p = setup()
    change = await asked(accounts, links, p, "new@example.net")
    notices = MemoryChangeNotices()
    assert await confirm_rescue_change(accounts, notices, p.counters, change, NOW) == Notified(
        CHANGED
    )
    assert await check_rescue_change(accounts, change, NOW) == Refused("link.used")
    again = await confirm_rescue_change(accounts, notices, p.counters, change, NOW)
    assert again == Refused("link.used")
    assert len(accounts.writes) == 1 and len(notices.sent) == 1


async def test_two_racing_confirmations_apply_once() -> None:
    accounts, links, p = setup()
    change = await asked(accounts, links, p, "new@example.net")
    notices = MemoryChangeNotices()
    outcomes = await asyncio.gather(
        *(confirm_rescue_change(accounts, notices, p.counters, change, NOW) for _ in range(5))
    )
    assert outcomes.count(Notified(CHANGED)) == 1
    assert all(o == Refused("link.used") for o in outcomes if o != Notified(CHANGED))
    assert len(accounts.writes) == 1 and len(notices.sent) == 1


async def test_the_link_expires_at_midnight_paris_time() -> None:
    accounts, links, p = setup()
    change = await asked(accounts, links, p, "new@example.net")
    last_second = dt.datetime(2026, 9, 3, 23, 59, 59, tzinfo=PARIS)
    assert isinstance(await check_rescue_change(accounts, change, last_second), Account)
    midnight = dt.datetime(2026, 9, 4, 0, 0, tzinfo=PARIS)
    assert link_state(change, OLD, midnight) == "expired"
    notices = MemoryChangeNotices()
    outcome = await confirm_rescue_change(accounts, notices, p.counters, change, midnight)
    assert outcome == Refused("link.expired")
    assert accounts.writes == [] and notices.sent == []


async def test_a_link_made_before_another_change_cannot_undo_it() -> None:
    accounts, links, p = setup()
    first = await asked(accounts, links, p, "first@example.net")
    # The account's address changes another way (the activation wizard, staff) ...
    accounts.accounts["u1"] = dataclasses.replace(
        accounts.accounts["u1"], rescue_email="other@example.net"
    )
    notices = MemoryChangeNotices()
    outcome = await confirm_rescue_change(accounts, notices, p.counters, first, NOW)
    assert outcome == Refused("link.superseded")
    assert accounts.accounts["u1"].rescue_email == "other@example.net"


async def test_a_newer_request_replaces_the_older_link() -> None:
    accounts, links, p = setup()
    p = dataclasses.replace(p, limits=Limits(resend_interval=dt.timedelta(0)))
    first = await asked(accounts, links, p, "first@example.net")
    second = await asked(accounts, links, p, "second@example.net")
    notices = MemoryChangeNotices()
    assert await confirm_rescue_change(accounts, notices, p.counters, first, NOW) == Refused(
        "link.used"
    )
    assert await confirm_rescue_change(accounts, notices, p.counters, second, NOW) == Notified(
        CHANGED
    )
    # And the older one, now that the address moved on, still changes nothing.
    assert await confirm_rescue_change(accounts, notices, p.counters, first, NOW) == Refused(
        "link.superseded"
    )
    assert accounts.accounts["u1"].rescue_email == "second@example.net"


async def test_a_forged_nonce_or_an_unreadable_link_changes_nothing() -> None:
    accounts, links, p = setup()
    change = await asked(accounts, links, p, "new@example.net")
    forged = dataclasses.replace(change, nonce="guess")
    notices = MemoryChangeNotices()
    assert await confirm_rescue_change(accounts, notices, p.counters, forged, NOW) == Refused(
        "link.used"
    )
    assert await confirm_rescue_change(accounts, notices, p.counters, None, NOW) == Refused(
        "link.invalid"
    )
    # The genuine link still works: a wrong guess does not spend it.
    assert await confirm_rescue_change(accounts, notices, p.counters, change, NOW) == Notified(
        CHANGED
    )


async def test_an_outage_while_writing_leaves_the_link_usable() -> None:
    accounts, links, p = setup()
    change = await asked(accounts, links, p, "new@example.net")
    notices = MemoryChangeNotices()

    async def down(account: Account, address: str, previous: str) -> None:
        raise ServiceUnavailable("Keycloak down")

    working = accounts.confirm_rescue_email
    accounts.confirm_rescue_email = down  # type: ignore[method-assign]
    outcome = await confirm_rescue_change(accounts, notices, p.counters, change, NOW)
    assert isinstance(outcome, Unavailable)
    accounts.confirm_rescue_email = working  # type: ignore[method-assign]
    assert await confirm_rescue_change(accounts, notices, p.counters, change, NOW) == Notified(
        CHANGED
    )


async def test_the_notice_failing_does_not_undo_the_change() -> None:
    accounts, links, p = setup()
    change = await asked(accounts, links, p, "new@example.net")
    notices = MemoryChangeNotices(down=True)
    outcome = await confirm_rescue_change(accounts, notices, p.counters, change, NOW)
    assert outcome == Notified(CHANGED)
    assert accounts.accounts["u1"].rescue_email == "new@example.net"


async def test_an_account_without_an_address_gets_one_and_nobody_is_notified() -> None:
    accounts, links, p = setup(rescue_email=None, rescue_email_verified=False)
    change = await asked(accounts, links, p, "first@example.net")
    assert change.previous_address == ""
    notices = MemoryChangeNotices()
    outcome = await confirm_rescue_change(accounts, notices, p.counters, change, NOW)
    assert outcome == Notified(CHANGED) and notices.sent == []


async def test_an_account_the_bridge_may_not_reach_is_refused() -> None:
    """A staff member signed in to the portal: the bridge's credential is refused on them."""
    accounts, links, p = setup()

    async def refused(user_id: str) -> Account:
        raise NotAllowed("staff")

    accounts.get_account = refused  # type: ignore[method-assign]
    assert await ask(accounts, links, p, "a@example.net") == Refused("account.outside")
    change = ChangeRequest("u1", "a@example.net", OLD, 2**40, "n")
    assert await check_rescue_change(accounts, change, NOW) == Refused("account.outside")
    assert links.sent == []


async def test_a_refused_previous_address_gets_no_notice() -> None:
    """It would only bounce again (bridge.flows.bounces flagged it)."""
    refused = dt.datetime(2026, 9, 2, 18, 0, tzinfo=PARIS)
    accounts, links, p = setup(rescue_email_bounced=refused)
    change = await asked(accounts, links, p, "new@example.net")
    notices = MemoryChangeNotices()
    outcome = await confirm_rescue_change(accounts, notices, p.counters, change, NOW)
    assert outcome == Notified(CHANGED) and notices.sent == []
    assert accounts.accounts["u1"].rescue_email == "new@example.net"
