"""bridge.flows.ine_check: typos are not counted, a wrong INE is, the lock holds."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from bridge.domain.accounts import Account
from bridge.domain.deadlines import PARIS
from bridge.domain.ratelimits import Limits
from bridge.flows.counters import MemoryCounters
from bridge.flows.ine_check import IneConfirmed, check_ine
from bridge.flows.outcomes import Invalid, Limited, Refused
from tests.helpers.memory_gateway import MemoryGateway

pytestmark = pytest.mark.anyio

TODAY = dt.date(2026, 9, 3)
NOW = dt.datetime(2026, 9, 3, 10, 0, tzinfo=PARIS)
HOME, STRANGER = "192.0.2.10", "203.0.113.66"


def bea(first_ten: str) -> str:
    from bridge.domain.ine import BEA_KEYS

    return first_ten + BEA_KEYS[int(first_ten) % 23]


BASE = Account("u1", "adupont001", True)


def student(**fields: Any) -> Account:
    return dataclasses.replace(BASE, **fields)


async def test_the_right_ine_confirms_whatever_its_spacing_and_case() -> None:
    gateway, counters = MemoryGateway(), MemoryCounters()
    account = gateway.add(student(ine=bea("1234567890")))
    typed = " " + bea("1234567890").lower()[:5] + " " + bea("1234567890").lower()[5:]
    outcome = await check_ine(counters, account, typed, now=NOW, limits=Limits(), requester=HOME)
    assert outcome == IneConfirmed()
    assert await counters.count(f"ine:fail:u1:{TODAY.isoformat()}") == 0  # given back


@pytest.mark.parametrize(
    ("typed", "code"),
    [("12345", "ine.format"), ("", "ine.format")],
)
async def test_typos_are_not_counted(typed: str, code: str) -> None:
    gateway, counters = MemoryGateway(), MemoryCounters()
    account = gateway.add(student(ine=bea("1234567890")))
    outcome = await check_ine(counters, account, typed, now=NOW, limits=Limits(), requester=HOME)
    assert outcome == Invalid(code)
    assert await counters.count(f"ine:fail:u1:{TODAY.isoformat()}") == 0


async def test_a_wrong_check_key_is_its_own_message_and_not_counted() -> None:
    gateway, counters = MemoryGateway(), MemoryCounters()
    account = gateway.add(student(ine=bea("1234567890")))
    right = bea("1234567891")
    wrong_key = right[:-1] + ("A" if right[-1] != "A" else "B")
    outcome = await check_ine(
        counters, account, wrong_key, now=NOW, limits=Limits(), requester=HOME
    )
    assert outcome == Invalid("ine.check_key")
    assert await counters.count(f"ine:fail:u1:{TODAY.isoformat()}") == 0


async def test_someone_elses_ine_is_counted_then_locks_that_network() -> None:
    gateway, counters = MemoryGateway(), MemoryCounters()
    gateway.add(student(ine=bea("1234567890")))
    limits = Limits(ine_failures_per_network=2)

    async def attempt(typed: str, at: dt.datetime, requester: str) -> object:
        account = gateway.accounts["u1"]
        return await check_ine(counters, account, typed, now=at, limits=limits, requester=requester)

    for _ in range(2):
        assert await attempt(bea("9876543210"), NOW, STRANGER) == Invalid("ine.mismatch")
    assert await counters.count(f"ine:fail:u1:{TODAY.isoformat()}") == 2
    assert await attempt(bea("1234567890"), NOW, STRANGER) == Limited("ine.locked")
    # The student, from home: the account is past one network's allowance, so each try
    # waits the back-off (30 s), then the right INE goes through.
    assert await attempt(bea("1234567890"), NOW, HOME) == Limited("ine.wait", 30)
    later = NOW + dt.timedelta(seconds=30)
    assert await attempt(bea("1234567890"), later, HOME) == IneConfirmed()


async def test_past_the_allowance_tries_on_the_account_wait_a_doubling_interval() -> None:
    """Strangers from many networks cannot lock the account for the day: each further try
    waits twice as long as the one before, up to the cap."""
    gateway, counters = MemoryGateway(), MemoryCounters()
    gateway.add(student(ine=bea("1234567890")))
    limits = Limits(ine_failures_per_network=2, backoff_cap=dt.timedelta(minutes=5))
    at, waits = NOW, []
    for n in range(8):
        typed, network = bea("9876543210"), f"198.51.100.{n}"
        outcome = await check_ine(
            counters, gateway.accounts["u1"], typed, now=at, limits=limits, requester=network
        )
        if isinstance(outcome, Limited):
            assert outcome.code == "ine.wait" and outcome.retry_after
            waits.append(outcome.retry_after)
            at += dt.timedelta(seconds=outcome.retry_after)
            outcome = await check_ine(
                counters, gateway.accounts["u1"], typed, now=at, limits=limits, requester=network
            )
        assert outcome == Invalid("ine.mismatch")
    # failures 1 and 2 free; the third try waits 30 s after the second, then 60, 120, ...
    assert waits == [30, 60, 120, 240, 300, 300]
    # The student's right INE, once the interval is over, confirms and is given back.
    right = await check_ine(
        counters,
        gateway.accounts["u1"],
        bea("1234567890"),
        now=at + dt.timedelta(seconds=300),
        limits=limits,
        requester=HOME,
    )
    assert right == IneConfirmed()
    assert await counters.count(f"ine:fail:u1:{TODAY.isoformat()}") == 8


@pytest.mark.parametrize("on_file", [None, "", "   ", "not an INE", bea("1234567890")[:-1] + "Z"])
async def test_an_account_without_a_usable_ine_is_sent_to_the_desk_uncounted(
    on_file: str | None,
) -> None:
    """No INE on file (or one no valid INE can equal): the first well-formed INE gets the
    desk, again and again, never counted, never locked out (docs/activation.md)."""
    gateway, counters = MemoryGateway(), MemoryCounters()
    account = gateway.add(student(ine=on_file))
    limits = Limits(ine_failures_per_network=1)
    for _ in range(4):
        outcome = await check_ine(
            counters, account, bea("1234567890"), now=NOW, limits=limits, requester=HOME
        )
        assert outcome == Refused("ine.none_on_file")
    assert await counters.count(f"ine:fail:u1:{TODAY.isoformat()}") == 0


async def test_typos_come_before_the_desk() -> None:
    """The desk answers a well-formed INE only: a typo is still told as a typo."""
    gateway, counters = MemoryGateway(), MemoryCounters()
    account = gateway.add(student(ine=None))
    outcome = await check_ine(counters, account, "12345", now=NOW, limits=Limits(), requester=HOME)
    assert outcome == Invalid("ine.format")


async def test_the_desk_is_reached_even_from_a_network_locked_out() -> None:
    gateway, counters = MemoryGateway(), MemoryCounters()
    limits = Limits(ine_failures_per_network=1)
    with_ine = gateway.add(student(ine=bea("1234567890")))
    assert await check_ine(
        counters, with_ine, bea("9876543210"), now=NOW, limits=limits, requester=HOME
    ) == Invalid("ine.mismatch")
    assert await check_ine(
        counters, with_ine, bea("9876543210"), now=NOW, limits=limits, requester=HOME
    ) == Limited("ine.locked")
    # The SIS's INE removed meanwhile: the same network, the desk at once.
    without = dataclasses.replace(with_ine, ine=None)
    outcome = await check_ine(
        counters, without, bea("9876543210"), now=NOW, limits=limits, requester=HOME
    )
    assert outcome == Refused("ine.none_on_file")
