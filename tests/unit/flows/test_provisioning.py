"""bridge.flows.provisioning: applying SIS rows against an index of what exists, with the
in-memory gateway (the integration tests run the same job against Keycloak)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest

from bridge.domain.accounts import Account, StudentRecord
from bridge.flows.activation_keys import KEY_ACTIONS
from bridge.flows.directory import Index
from bridge.flows.provisioning import Run
from tests.helpers.memory_gateway import MemoryGateway

pytestmark = pytest.mark.anyio

TODAY = dt.date(2026, 9, 3)
RECORD = StudentRecord(
    username="",
    first_name="Jean",
    last_name="Martin",
    student_number="22001234",
    last_enrollment_year=2026,
)


def run(gateway: MemoryGateway, index: Index, keys: io.StringIO | None = None) -> Run:
    return Run(gateway, index, None, TODAY, False, 2, lambda _: None, keys)  # type: ignore[arg-type]


async def test_new_students_are_named_batched_and_given_a_key() -> None:
    gateway, index, keys = MemoryGateway(), Index(), io.StringIO()
    applier = run(gateway, index, keys)
    index.add(Account("u0", "jmartin001", True, student_number="1"))  # the name is taken
    await applier.row(2, RECORD)
    assert gateway.accounts.keys() == set()  # waiting for its batch
    await applier.row(3, dataclasses.replace(RECORD, student_number="22001235"))
    await applier.drain()
    created = sorted(a.username for a in gateway.accounts.values())
    assert created == ["jmartin002", "jmartin003"]
    assert applier.summary.created == 2
    assert all(a.required_actions == KEY_ACTIONS for a in gateway.accounts.values())
    lines = keys.getvalue().splitlines()
    assert [line.split(";")[0] for line in lines] == ["jmartin002", "jmartin003"]
    assert [line.split(";")[3] for line in lines] == [gateway.keys["u1"], gateway.keys["u2"]]


async def test_an_enrolled_student_is_unchanged_or_updated() -> None:
    gateway, index = MemoryGateway(), Index()
    existing = Account(
        "u9",
        "jmartin001",
        True,
        first_name="Jean",
        last_name="Martin",
        student_number="22001234",
        last_enrollment_year=2026,
        valid_until=dt.date(2027, 12, 31),
    )
    index.add(existing)
    applier = run(gateway, index)
    await applier.row(2, dataclasses.replace(RECORD, username="jmartin001"))
    await applier.row(3, dataclasses.replace(RECORD, last_name="Martin-Durand"))
    await applier.drain()
    assert (applier.summary.unchanged, applier.summary.updated) == (1, 1)
    assert gateway.changes == [("u9", {"last_name": ("Martin", "Martin-Durand")})]


async def test_someone_elses_identifier_is_rejected() -> None:
    gateway, index = MemoryGateway(), Index()
    index.add(Account("u0", "jmartin001", True, student_number="99"))
    applier = run(gateway, index)
    await applier.row(7, dataclasses.replace(RECORD, username="jmartin001"))
    await applier.drain()
    assert applier.summary.rejected == [(7, "identifier jmartin001 is already another account's")]
    assert gateway.accounts == {}
