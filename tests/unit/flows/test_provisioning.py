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
        primary_affiliation="student",
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


# --- matching students only, re-keying (security issue, point 6) ---------------------------

INE_A, INE_B = "0123456789M", "9876543210E"


def student(user_id: str, username: str, **fields: object) -> Account:
    values: dict[str, object] = {
        "first_name": "Jean",
        "last_name": "Martin",
        "last_enrollment_year": 2026,
        "valid_until": dt.date(2027, 12, 31),
        "in_students": True,
        "primary_affiliation": "student",
    }
    values.update(fields)
    return Account(user_id, username, True, **values)  # type: ignore[arg-type]


async def test_rekeying_an_activated_student_is_rejected_and_nothing_written() -> None:
    gateway, index = MemoryGateway(), Index()
    owner = gateway.add(student("u1", "jmartin001", student_number="1", ine=INE_A))
    gateway.add(dataclasses.replace(owner, has_password=True))  # activated, in Keycloak
    index.add(owner)  # the index does not know passwords
    applier = run(gateway, index)
    await applier.row(4, dataclasses.replace(RECORD, student_number="2", ine=INE_A))
    await applier.drain()
    assert applier.summary.rejected == [
        (
            4,
            "would re-key the activated account jmartin001 (student number 1 -> 2): "
            "for the registrar to review",
        )
    ]
    assert gateway.changes == [] and gateway.calls == ["has_password"]


async def test_a_never_activated_student_found_by_ine_takes_the_new_number() -> None:
    gateway, index = MemoryGateway(), Index()
    index.add(gateway.add(student("u1", "jmartin001", student_number="1", ine=INE_A)))
    applier = run(gateway, index)
    await applier.row(2, dataclasses.replace(RECORD, student_number="2", ine=INE_A))
    await applier.drain()
    assert gateway.changes == [("u1", {"student_number": ("1", "2")})]
    # The old number no longer leads to that account within the run.
    assert "1" not in index.by_number and index.by_number["2"].id == "u1"


async def test_moving_an_ine_to_another_student_is_rejected() -> None:
    gateway, index = MemoryGateway(), Index()
    index.add(gateway.add(student("u1", "jmartin001", student_number="1", ine=INE_A)))
    index.add(gateway.add(student("u2", "jmartin002", student_number="2", ine=INE_B)))
    applier = run(gateway, index)
    await applier.row(3, dataclasses.replace(RECORD, student_number="2", ine=INE_A))
    await applier.drain()
    assert applier.summary.rejected == [
        (3, "INE ********89M belongs to another account (jmartin001)")
    ]
    assert gateway.changes == []


async def test_the_rescue_address_of_an_activated_student_is_never_set() -> None:
    gateway, index = MemoryGateway(), Index()
    account = student("u1", "jmartin001", student_number=RECORD.student_number)
    gateway.add(dataclasses.replace(account, has_password=True))
    index.add(account)
    applier = run(gateway, index)
    await applier.row(2, dataclasses.replace(RECORD, rescue_email="sis@example.org"))
    await applier.drain()
    assert (applier.summary.unchanged, gateway.changes) == (1, [])


async def test_a_staff_identifier_is_never_merged_nor_given() -> None:
    """The index holds students only: a staff member's identifier is unknown to it, and
    Keycloak's refusal to create an existing identifier (409) is what protects it."""
    gateway = MemoryGateway()
    staff = gateway.add(
        Account("s1", "jmartin001", True, student_number=RECORD.student_number, in_students=False)
    )
    # Generated: jmartin001 is skipped by the import, the row gets the next identifier.
    generated = run(gateway, Index())
    await generated.row(3, RECORD)
    await generated.drain()
    assert (generated.summary.created, generated.summary.rejected) == (1, [])
    created = [a for a in gateway.accounts.values() if a.id != "s1"]
    assert [(a.username, a.student_number) for a in created] == [("jmartin002", "22001234")]
    # Given by the SIS: rejected, even though the staff account holds the same number.
    given = run(gateway, Index())
    await given.row(2, dataclasses.replace(RECORD, username="jmartin001"))
    await given.drain()
    assert given.summary.rejected == [(2, "identifier jmartin001 is already another account's")]
    assert given.summary.created == given.summary.unchanged == 0
    assert gateway.accounts["s1"] == staff and gateway.changes == []
    assert len(gateway.accounts) == 2


async def test_an_account_outside_students_handed_over_is_left_alone() -> None:
    """Belt and braces: should a directory hand over a non-student, the plan refuses it."""
    gateway, index = MemoryGateway(), Index()
    index.add(gateway.add(Account("s1", "agent", True, student_number="1", in_students=False)))
    applier = run(gateway, index)
    await applier.row(5, dataclasses.replace(RECORD, student_number="1"))
    await applier.drain()
    assert applier.summary.rejected == [
        (
            5,
            "account agent is not a student provisioning may write (outside students, or "
            "also in staff): left alone",
        )
    ]
    assert gateway.changes == []


# --- under the scoped provisioning client (issue 15) ----------------------------------------


async def test_a_row_keycloak_refuses_is_rejected_and_its_batch_goes_on() -> None:
    """A creation refused (400) rejects its row with Keycloak's reason; the rest of the
    batch is created."""
    gateway = MemoryGateway(refused_creations={"jmartin001": "error-invalid-length"})
    applier = run(gateway, Index())
    await applier.row(2, RECORD)
    await applier.row(3, dataclasses.replace(RECORD, last_name="Durand", student_number="9"))
    await applier.drain()
    assert applier.summary.rejected == [(2, "Keycloak refused the account (error-invalid-length)")]
    assert applier.summary.created == 1
    assert [a.username for a in gateway.accounts.values()] == ["jdurand001"]


async def test_a_student_keycloak_keeps_out_of_reach_is_left_alone() -> None:
    """Listed as a member of students, refused by id (also in staff): the row is
    rejected, not counted as an update, and the run goes on."""
    gateway, index = MemoryGateway(), Index()
    for user_id, username, number in (("u1", "jmartin001", "1"), ("u2", "jmartin002", "2")):
        index.add(gateway.add(student(user_id, username, student_number=number)))
        gateway.out_of_reach.add(user_id)
    applier = run(gateway, index)
    renamed = dataclasses.replace(RECORD, student_number="1", last_name="Martin-Durand")
    await applier.row(2, renamed)
    await applier.drain()
    # Its decision needs the password (a rescue address offered): refused at that read.
    offered = dataclasses.replace(RECORD, student_number="2", rescue_email="sis@example.org")
    await applier.row(3, offered)
    await applier.drain()
    reason = (
        "account {} is not a student provisioning may write (outside students, or also in "
        "staff): left alone"
    )
    assert applier.summary.rejected == [
        (2, reason.format("jmartin001")),
        (3, reason.format("jmartin002")),
    ]
    assert (applier.summary.updated, gateway.changes) == (0, [])


async def test_creations_in_flight_never_exceed_the_concurrency() -> None:
    """One bound for every batch's creations together (Keycloak's database pool is the
    limit: 500 at once answered 500s, measured)."""
    import asyncio

    from bridge.gateway.keycloak import Imported, NewAccount

    in_flight = highest = 0

    class Slow(MemoryGateway):
        async def import_students(  # type: ignore[override]
            self, accounts: list[NewAccount], slots: asyncio.Semaphore | None = None
        ) -> dict[str, Imported]:
            async def one(new: NewAccount) -> Imported:
                nonlocal in_flight, highest
                assert slots is not None
                async with slots:
                    in_flight += 1
                    highest = max(highest, in_flight)
                    await asyncio.sleep(0.001)
                    in_flight -= 1
                return (await MemoryGateway.import_students(self, [new]))[new.record.username]

            answers = await asyncio.gather(*(one(new) for new in accounts))
            return {new.record.username: a for new, a in zip(accounts, answers, strict=True)}

    gateway = Slow()
    applier = Run(gateway, Index(), None, TODAY, False, 7, lambda _: None, None, 3)  # type: ignore[arg-type]
    for n in range(40):
        await applier.row(n + 2, dataclasses.replace(RECORD, student_number=str(n)))
    await applier.drain()
    assert applier.summary.created == 40
    assert highest == 3
