"""How many admin calls a changed row costs (issue 19): a name the SIS changed is two calls
(the write, the check read) after the read the run decided on (its full listing, or the
read by id of an incremental run), not three."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.gateway.keycloak import ProvisioningGateway
from bridge.jobs.provision import provision
from tests.integration.test_provision import HEADER, TODAY, ine, letters, number, user_by_number

pytestmark = pytest.mark.anyio


def counted(stack: Any) -> tuple[ProvisioningGateway, Counter[str]]:
    calls: Counter[str] = Counter()
    gateway = ProvisioningGateway.service_account(
        stack.url, "um", "provisioning", stack.secrets["UM_PROVISIONING_CLIENT_SECRET"], timeout=120
    ).observe(lambda operation, _seconds, _error: calls.update([operation]))
    return gateway, calls


async def test_a_name_changed_in_a_full_run_is_two_calls_and_nothing_else_changes(
    stack: Any, jobs_gateway: ProvisioningGateway, admin: httpx.Client, tmp_path: Path
) -> None:
    rows = [
        f"{number()},Martin{letters()},Jean,2026,{ine()},,j.{letters()}@example.org,"
        for _ in range(3)
    ]
    csv = tmp_path / "sis.csv"
    csv.write_text("\n".join([HEADER, *rows]) + "\n")
    assert (await provision(jobs_gateway, csv, today=TODAY)).created == 3
    numbers = [row.split(",")[0] for row in rows]
    before = {n: user_by_number(admin, n) for n in numbers}
    # Something provisioning does not write, set by another hand: kept by the name's write.
    locale = {"locale": ["en"]}
    account = before[numbers[0]]
    assert (
        admin.put(
            f"/users/{account['id']}",
            json={**account, "attributes": {**account["attributes"], **locale}},
        ).status_code
        == 204
    )
    before[numbers[0]] = user_by_number(admin, numbers[0])
    renamed = [row.replace(",Martin", ",Durand-Martin", 1) for row in rows[:2]] + rows[2:]
    csv.write_text("\n".join([HEADER, *renamed]) + "\n")

    gateway, calls = counted(stack)
    summary = await provision(gateway, csv, today=TODAY)  # no state: a full run
    assert (summary.mode, summary.updated, summary.unchanged) == ("full", 2, 1)
    assert calls["user.update"] == 2
    assert calls["user.read"] == 2  # the check after each write; no read before it
    for n in numbers[:2]:
        after = user_by_number(admin, n)
        assert after["lastName"] == "Durand-" + before[n]["lastName"]
        assert {**after, "lastName": before[n]["lastName"]} == before[n]
    assert user_by_number(admin, numbers[2]) == before[numbers[2]]


async def test_an_account_changed_since_the_listing_is_read_again_and_not_undone(
    stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """Another writer between the run's listing and its write: the name goes alone, so the
    other writer's field stays; the check sees the account moved and the read-modify-write
    takes over (the plan's old name is no longer there: reported as moved)."""
    student = make_user(password=None)
    gateway, calls = counted(stack)
    async for _ in gateway.students():
        pass
    user = f"/users/{student['id']}"
    current = admin.get(user).json()
    moved_in = {**current, "attributes": {**current["attributes"], "locale": ["en"]}}
    assert admin.put(user, json=moved_in).status_code == 204
    moved = await gateway.apply_changes(
        student["id"], {"last_name": (student["lastName"], "Autre")}
    )
    assert moved == ("last_name",)
    stored = admin.get(user).json()
    assert stored["lastName"] == "Autre"
    assert stored["attributes"]["locale"] == ["en"]
    assert calls["user.update"] == 1  # nothing written again over the other writer


async def test_an_incremental_run_writes_from_the_read_of_its_decision(
    stack: Any, jobs_gateway: ProvisioningGateway, admin: httpx.Client, tmp_path: Path
) -> None:
    """No listing in an incremental run: a changed row is read by id for its decision, and
    the name is written from that read (write, check), not read a second time."""
    from bridge.jobs.provision_state import ProvisionState

    row = f"{number()},Martin{letters()},Jean,2026,{ine()},,,"
    csv = tmp_path / "sis.csv"
    csv.write_text(f"{HEADER}\n{row}\n")
    state = ProvisionState(tmp_path / "state.sqlite3", jobs_gateway.realm_url)
    assert (await provision(jobs_gateway, csv, today=TODAY, state=state)).created == 1
    csv.write_text(f"{HEADER}\n{row.replace(',Martin', ',Durand-Martin', 1)}\n")
    gateway, calls = counted(stack)
    summary = await provision(gateway, csv, today=TODAY, state=state)
    assert (summary.mode, summary.updated) == ("incremental", 1)
    assert calls["user.update"] == 1
    assert calls["user.read"] == 2  # the decision's read by id, then the check
    after = user_by_number(admin, row.split(",")[0])
    assert after["lastName"] == "Durand-Martin" + row.split(",")[1].removeprefix("Martin")
