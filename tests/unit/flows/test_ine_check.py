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
from bridge.flows.outcomes import Invalid, Limited
from tests.helpers.memory_gateway import MemoryGateway

pytestmark = pytest.mark.anyio

TODAY = dt.date(2026, 9, 3)
NOW = dt.datetime(2026, 9, 3, 10, 0, tzinfo=PARIS)


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
    outcome = await check_ine(counters, account, typed, now=NOW, limits=Limits())
    assert outcome == IneConfirmed()
    assert await counters.count(f"ine:fail:u1:{TODAY.isoformat()}") == 0  # given back


@pytest.mark.parametrize(
    ("typed", "code"),
    [("12345", "ine.format"), ("", "ine.format")],
)
async def test_typos_are_not_counted(typed: str, code: str) -> None:
    gateway, counters = MemoryGateway(), MemoryCounters()
    account = gateway.add(student(ine=bea("1234567890")))
    outcome = await check_ine(counters, account, typed, now=NOW, limits=Limits())
    assert outcome == Invalid(code)
    assert await counters.count(f"ine:fail:u1:{TODAY.isoformat()}") == 0


async def test_a_wrong_check_key_is_its_own_message_and_not_counted() -> None:
    gateway, counters = MemoryGateway(), MemoryCounters()
    account = gateway.add(student(ine=bea("1234567890")))
    right = bea("1234567891")
    wrong_key = right[:-1] + ("A" if right[-1] != "A" else "B")
    outcome = await check_ine(counters, account, wrong_key, now=NOW, limits=Limits())
    assert outcome == Invalid("ine.check_key")
    assert await counters.count(f"ine:fail:u1:{TODAY.isoformat()}") == 0


async def test_someone_elses_ine_is_counted_then_locks() -> None:
    gateway, counters = MemoryGateway(), MemoryCounters()
    gateway.add(student(ine=bea("1234567890")))
    limits = Limits(ine_failures_per_day=2)
    for _ in range(2):
        outcome = await check_ine(
            counters, gateway.accounts["u1"], bea("9876543210"), now=NOW, limits=limits
        )
        assert outcome == Invalid("ine.mismatch")
    assert await counters.count(f"ine:fail:u1:{TODAY.isoformat()}") == 2
    locked = await check_ine(
        counters, gateway.accounts["u1"], bea("1234567890"), now=NOW, limits=limits
    )
    assert locked == Limited("ine.locked")


async def test_an_account_without_ine_matches_nothing() -> None:
    gateway, counters = MemoryGateway(), MemoryCounters()
    account = gateway.add(student(ine=None))
    outcome = await check_ine(counters, account, bea("1234567890"), now=NOW, limits=Limits())
    assert outcome == Invalid("ine.mismatch")
