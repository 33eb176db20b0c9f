"""The anonymisation flow's order of checks, with a recording stand-in for Keycloak."""

from __future__ import annotations

import datetime as dt

import pytest

from bridge.domain.accounts import Account
from bridge.domain.console import Action, StaffRecord
from bridge.domain.deadlines import PARIS
from bridge.domain.retention import ANONYMISED_NAME
from bridge.flows.outcomes import Invalid, Refused
from bridge.flows.retention import NOT_ADMINISTRATOR, Anonymised, anonymise

pytestmark = pytest.mark.anyio
ON_TIME = dt.datetime(2030, 1, 1, 0, 0, tzinfo=PARIS)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, StaffRecord]] = []

    async def anonymise(self, user_id: str, record: StaffRecord) -> None:
        self.calls.append((user_id, record))


def account(**fields: object) -> Account:
    values: dict[str, object] = {
        "id": "u1",
        "username": "jmartin001",
        "enabled": False,
        "first_name": "Jean",
        "last_name": "Martin",
        "ine": "0123456789A",
        "student_number": "21001234",
        "valid_until": dt.date(2026, 12, 31),
    }
    values.update(fields)
    return Account(**values)  # type: ignore[arg-type]


async def run(target: Account, **overrides: object) -> tuple[object, Recorder]:
    recorder = Recorder()
    arguments: dict[str, object] = {
        "administrator": True,
        "typed_identifier": "jmartin001",
        "reason": "",
        "now": ON_TIME,
        "years": 3,
        "by": "admin.dpo",
    }
    arguments.update(overrides)
    outcome = await anonymise(recorder, target, **arguments)  # type: ignore[arg-type]
    return outcome, recorder


async def test_done_with_the_administrators_record() -> None:
    outcome, recorder = await run(account(), reason="décision DPO")
    assert outcome == Anonymised()
    [(user_id, record)] = recorder.calls
    assert user_id == "u1"
    assert (record.action, record.by, record.reason) == (
        Action.ANONYMISE,
        "admin.dpo",
        "décision DPO",
    )


@pytest.mark.parametrize(
    ("target", "overrides", "expected"),
    [
        (account(), {"administrator": False}, Refused(NOT_ADMINISTRATOR)),
        (
            account(),
            {"now": ON_TIME - dt.timedelta(minutes=1)},
            Refused("retention.not_long_enough"),
        ),
        (account(enabled=True), {}, Refused("retention.enabled")),
        (account(), {"typed_identifier": "jmartin002"}, Invalid("retention.confirmation")),
        (account(), {"reason": "x" * 201}, Invalid("console.reason")),
        (
            account(
                first_name=ANONYMISED_NAME, last_name=ANONYMISED_NAME, ine=None, student_number=None
            ),
            {},
            Anonymised(already=True),
        ),
    ],
)
async def test_nothing_written_unless_everything_holds(
    target: Account, overrides: dict[str, object], expected: object
) -> None:
    outcome, recorder = await run(target, **overrides)
    assert outcome == expected
    assert recorder.calls == []
