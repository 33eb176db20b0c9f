"""Retention against the real Keycloak: the DPO's list (`bridge retention`) names the right
accounts and no value; a staff administrator's anonymisation removes exactly what the
confirmation page says and keeps the identifier reserved; an ordinary staff member and an
account not expired long enough are refused.

Accounts here are valid until 31 December 2061 (expired for 3 years from 1 January 2065)
or 2062; the bridge's clock is set in Paris time, as the rules are."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import secrets
import stat
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.cli import main
from bridge.domain.deadlines import PARIS
from bridge.domain.retention import ANONYMISED_NAME
from bridge.gateway.keycloak import ProvisioningGateway
from bridge.jobs.provision import provision
from tests.helpers.browserless import browser
from tests.helpers.console import console_login, post_action
from tests.helpers.forms import csrf_token

pytestmark = pytest.mark.anyio
OLD, RECENT = dt.date(2061, 12, 31), dt.date(2062, 12, 31)
ON_TIME = dt.datetime(2065, 1, 1, 0, 0, tzinfo=PARIS)  # OLD expired for 3 years, to the minute
HEADER = (
    "student_number,last_name,first_name,enrollment_year,ine,username,rescue_email,"
    "institutional_email"
)


def former_student(make_user: Any, valid_until: dt.date, *, enabled: bool = False, **more: Any):
    student = make_user(enabled=enabled, **more)
    rep = {
        **student,
        "attributes": {
            **student["attributes"],
            "lastEnrollmentYear": [str(valid_until.year - 1)],
            "validUntil": [valid_until.isoformat()],
            "eduPersonPrincipalName": [f"{student['username']}@umontpellier.fr"],
            # make_user's is part of the identifier: the list must show the one, not the other.
            "supannEtuId": ["S" + os.urandom(5).hex().upper()],
        },
    }
    return rep


def whole(admin: httpx.Client, user_id: str) -> dict[str, Any]:
    return dict(admin.get(f"/users/{user_id}").json())


def grant_admin_role(admin: httpx.Client, user_id: str) -> None:
    role = admin.get("/roles/staff-admin")
    assert role.status_code == 200, role.text
    granted = admin.post(f"/users/{user_id}/role-mappings/realm", json=[role.json()])
    assert granted.status_code == 204, granted.text


@pytest.fixture
def made(make_user: Any, admin: httpx.Client) -> Any:
    """make_user, then the validity and ePPN written (make_user's defaults are 2099)."""

    def make(valid_until: dt.date, *, enabled: bool = False, **more: Any) -> dict[str, Any]:
        rep = former_student(make_user, valid_until, enabled=enabled, **more)
        written = admin.put(
            f"/users/{rep['id']}",
            json={
                "attributes": rep["attributes"],
                "firstName": rep["firstName"],
                "lastName": rep["lastName"],
                "email": rep["email"],
            },
        )
        assert written.status_code == 204, written.text
        return rep

    return make


def signed_in(client: httpx.Client, bridge_url: str, member: dict[str, Any]) -> httpx.Client:
    landed = console_login(
        client, bridge_url, member["username"], member["password"], member["otp_secret"]
    )
    assert landed.status_code == 303, landed.text[:300]
    return client


@pytest.fixture
def administrator(make_user: Any, admin: httpx.Client, bridge_url: str) -> Iterator[httpx.Client]:
    member = make_user(groups=("/staff",), password="Staff-admin-2026!")
    grant_admin_role(admin, member["id"])
    with browser() as client:
        signed_in(client, bridge_url, member)
        client.headers["X-Test-Username"] = member["username"]
        yield client


@pytest.fixture
def ordinary_staff(make_user: Any, bridge_url: str) -> Iterator[httpx.Client]:
    member = make_user(groups=("/staff",), password="Staff-pass-2026!")
    with browser() as client:
        yield signed_in(client, bridge_url, member)


# --- the DPO's list ---------------------------------------------------------------------


def test_the_list_names_the_right_accounts_and_no_value(
    stack: Any,
    made: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = made(OLD)
    recent = made(RECENT)
    still_enabled = made(OLD, enabled=True)
    monkeypatch.setenv("UM_KEYCLOAK_URL", stack.url)
    monkeypatch.setenv(
        "UM_PROVISIONING_CLIENT_SECRET", stack.secrets["UM_PROVISIONING_CLIENT_SECRET"]
    )
    assert main(["retention", "--years", "3", "--today", "2065-01-01"]) == 0
    out = capsys.readouterr().out
    rows = {row["identifier"]: row for row in csv.DictReader(io.StringIO(out))}
    assert old["username"] in rows
    assert recent["username"] not in rows  # expired for 2 years only
    assert still_enabled["username"] not in rows  # the expiry job's first
    line = rows[old["username"]]
    assert line == {
        "identifier": old["username"],
        "valid_until": "2061-12-31",
        "years_expired": "3",
        "holds_ine": "yes",
        "holds_rescue_email": "yes",
        "holds_names": "yes",
        "holds_student_number": "yes",
        "anonymised": "no",
    }
    for value in (
        old["attributes"]["ine"][0],
        old["email"],
        old["lastName"],
        old["attributes"]["supannEtuId"][0],
    ):
        assert value not in out
    # The day before, it is not listed; with --years 2, the recent one is.
    assert main(["retention", "--years", "3", "--today", "2064-12-31"]) == 0
    assert old["username"] not in capsys.readouterr().out
    assert main(["retention", "--years", "2", "--today", "2065-01-01"]) == 0
    assert recent["username"] in capsys.readouterr().out

    target = tmp_path / "dpo.csv"
    assert main(["retention", "--today", "2065-01-01", "--out", str(target)]) == 0
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert old["username"] in target.read_text()
    assert (
        main(["retention", "--today", "2065-01-01", "--out", str(target)]) == 2
    )  # never overwritten
    assert main(["retention", "--years", "0"]) == 2
    monkeypatch.setenv("UM_KEYCLOAK_URL", "http://127.0.0.1:9")
    assert main(["retention", "--today", "2065-01-01"]) == 3


# --- anonymisation ----------------------------------------------------------------------


async def test_anonymise_removes_exactly_what_it_says_and_keeps_the_identifier(
    administrator: httpx.Client,
    bridge_url: str,
    made: Any,
    admin: httpx.Client,
    clock: Any,
    jobs_gateway: ProvisioningGateway,
    tmp_path: Path,
) -> None:
    surname = "Oubli" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(5))
    prefix = f"j{surname.lower()[:10]}"
    student = made(OLD, username=f"{prefix}001", firstName="Jean", lastName=surname)
    before = whole(admin, student["id"])
    clock(ON_TIME)
    page = administrator.get(f"{bridge_url}/console/accounts/{student['id']}")
    assert 'id="um-console-action-anonymise"' in page.text

    confirm = administrator.get(f"{bridge_url}/console/accounts/{student['id']}/actions/anonymise")
    assert confirm.status_code == 200
    for words in (
        "le numéro INE",
        "adresse mail de secours et sa vérification",
        "le prénom et le nom",
        "numéro d'étudiant",
        "identifiant",
        "eduPersonPrincipalName",
    ):
        assert words in confirm.text

    wrong = post_action(administrator, bridge_url, student["id"], "anonymise", identifier="someone")
    assert wrong.status_code == 400 and 'id="um-error-summary"' in wrong.text
    assert whole(admin, student["id"]) == before  # nothing written

    done = post_action(
        administrator,
        bridge_url,
        student["id"],
        "anonymise",
        identifier=student["username"].upper(),
        reason="Décision DPO 2065-01",
    )
    assert done.status_code == 200, done.text[:500]
    assert 'id="um-console-anonymised"' in done.text
    after = whole(admin, student["id"])
    attributes = after.get("attributes") or {}
    # Removed:
    assert "ine" not in attributes and "supannEtuId" not in attributes
    assert "institutionalEmail" not in attributes
    assert not after.get("email") and after.get("emailVerified") is False
    assert (after["firstName"], after["lastName"]) == (ANONYMISED_NAME, ANONYMISED_NAME)
    assert admin.get(f"/users/{student['id']}/credentials").json() == []
    # Kept: the account, disabled, its identifier and ePPN, the validity.
    assert after["username"] == student["username"] and after["enabled"] is False
    assert attributes["eduPersonPrincipalName"] == [f"{student['username']}@umontpellier.fr"]
    assert attributes["validUntil"] == ["2061-12-31"]
    assert attributes["eduPersonAffiliation"] == ["student"]
    record = attributes["umStaffAction"][0]
    assert '"action":"anonymise"' in record and "Décision DPO 2065-01" in record
    assert administrator.headers["X-Test-Username"] in record
    text = done.text
    for value in (before["attributes"]["ine"][0], before["email"], surname):
        assert value not in text

    # Idempotent: a second try says so and writes nothing.
    again = post_action(
        administrator, bridge_url, student["id"], "anonymise", identifier=student["username"]
    )
    assert again.status_code == 200 and "déjà anonymisé" in again.text
    assert whole(admin, student["id"]) == after
    # The account page offers nothing more.
    page = administrator.get(f"{bridge_url}/console/accounts/{student['id']}")
    assert 'data-state="anonymised"' in page.text and "um-console-action-" not in page.text

    # The identifier stays reserved: the same student, back with the same student number
    # and names, gets a new account and the next identifier.
    number = before["attributes"]["supannEtuId"][0]
    export = tmp_path / "sis.csv"
    export.write_text(f"{HEADER}\n{number},{surname},Jean,2066,,,,\n", encoding="utf-8")
    summary = await provision(jobs_gateway, export, today=dt.date(2066, 9, 1))
    assert summary.created == 1
    back = admin.get("/users", params={"q": f"supannEtuId:{number}", "exact": "true"}).json()
    assert [u["username"] for u in back] == [f"{prefix}002"]
    assert whole(admin, student["id"]) == after  # the anonymised account is left alone


def test_an_ordinary_staff_member_is_refused(
    ordinary_staff: httpx.Client, bridge_url: str, made: Any, admin: httpx.Client, clock: Any
) -> None:
    student = made(OLD)
    before = whole(admin, student["id"])
    clock(ON_TIME)
    page = ordinary_staff.get(f"{bridge_url}/console/accounts/{student['id']}")
    assert page.status_code == 200 and "um-console-action-anonymise" not in page.text
    confirm = ordinary_staff.get(f"{bridge_url}/console/accounts/{student['id']}/actions/anonymise")
    assert confirm.status_code == 403
    token = csrf_token(page.text)
    forged = ordinary_staff.post(
        f"{bridge_url}/console/accounts/{student['id']}/actions/anonymise",
        data={"csrf_token": token, "identifier": student["username"]},
    )
    assert forged.status_code == 403 and "administrateur" in forged.text
    assert whole(admin, student["id"]) == before


def test_an_account_not_expired_long_enough_is_refused(
    administrator: httpx.Client, bridge_url: str, made: Any, admin: httpx.Client, clock: Any
) -> None:
    student = made(OLD)
    before = whole(admin, student["id"])
    # 23:59 on 31 December 2064 in Paris (22:59 UTC): one minute short of three years.
    clock(dt.datetime(2064, 12, 31, 22, 59, tzinfo=dt.UTC))
    page = administrator.get(f"{bridge_url}/console/accounts/{student['id']}")
    assert "um-console-action-anonymise" not in page.text
    refused = post_action(
        administrator, bridge_url, student["id"], "anonymise", identifier=student["username"]
    )
    assert refused.status_code == 409
    assert "au moins 3 ans" in refused.text
    assert whole(admin, student["id"]) == before
    # A minute later in Paris it is offered.
    clock(dt.datetime(2064, 12, 31, 23, 0, tzinfo=dt.UTC))
    page = administrator.get(f"{bridge_url}/console/accounts/{student['id']}")
    assert "um-console-action-anonymise" in page.text


async def test_the_dev_stack_grants_the_administrator_role_idempotently(
    stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """devstack.demo gives `admin.dpo` the role this way at every `make dev`."""
    from devstack.admin import DevAdmin
    from devstack.demo import ADMIN_ROLE

    member = make_user(groups=("/staff",))
    gateway = DevAdmin.administrator(
        stack.url, "um", stack.keycloak.admin_user, stack.keycloak.admin_password
    )
    await gateway.grant_realm_role(member["id"], ADMIN_ROLE)
    await gateway.grant_realm_role(member["id"], ADMIN_ROLE)
    roles = admin.get(f"/users/{member['id']}/role-mappings/realm").json()
    assert [r["name"] for r in roles].count("staff-admin") == 1
