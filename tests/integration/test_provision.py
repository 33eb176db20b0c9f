"""Provisioning from the SIS export, against the real Keycloak."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import signal
import string
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.cli import main
from bridge.domain.ine import BEA_KEYS
from bridge.gateway.keycloak import ProvisioningGateway
from bridge.jobs.provision import provision
from bridge.jobs.provision_state import ProvisionState, StateError
from bridge.jobs.sis_reader import ExportError
from tests.helpers.browserless import browser, submit_login
from tests.helpers.keycloak_pages import NEW_PASSWORD, required_actions, signs_in
from tests.helpers.pages import text
from tests.helpers.tokens import service_admin

pytestmark = pytest.mark.anyio
TODAY = dt.date(2026, 11, 21)
HEADER = (
    "student_number,last_name,first_name,enrollment_year,ine,username,rescue_email,"
    "institutional_email"
)


def letters(n: int = 6) -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(n))


def ine() -> str:
    digits = f"{secrets.randbelow(10**10):010d}"
    return digits + BEA_KEYS[int(digits) % 23]


def number() -> str:
    return "T" + secrets.token_hex(5).upper()


def write(tmp_path: Path, lines: list[str], name: str = "sis.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def user_by_number(admin: httpx.Client, student_number: str) -> dict[str, Any]:
    found = admin.get(
        "/users",
        params={
            "q": f"supannEtuId:{student_number}",
            "exact": "true",
            "briefRepresentation": "false",
        },
    ).json()
    assert len(found) == 1, found
    return dict(found[0])


@pytest.mark.core
async def test_creation_no_change_rerun_and_name_change(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, tmp_path: Path
) -> None:
    surname = "Martin" + letters()
    first, second = number(), number()
    jean = f"{first},{surname},Jean,2026,{ine()},,jean.perso@example.org,jean@etu.example"
    csv = write(tmp_path, [HEADER, jean, f"{second},Dupont{letters()},Alice,2026,,,,"])
    summary = await provision(jobs_gateway, csv, today=TODAY)
    assert (summary.created, summary.updated, summary.unchanged, summary.rejected) == (2, 0, 0, [])
    created = user_by_number(admin, first)
    assert created["username"] == f"j{surname.lower()[:10]}001"
    assert created["enabled"] is True
    assert created["email"] == "jean.perso@example.org" and created["emailVerified"] is False
    assert created["attributes"]["validUntil"] == ["2027-12-31"]
    assert created["attributes"]["lastEnrollmentYear"] == ["2026"]
    assert created["attributes"]["eduPersonAffiliation"] == ["student"]
    groups = admin.get(f"/users/{created['id']}/groups").json()
    assert [g["name"] for g in groups] == ["students"]

    again = await provision(jobs_gateway, csv, today=TODAY)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)

    renamed = csv.read_text().replace(f"{first},{surname},Jean", f"{first},{surname}-Durand,Jean")
    csv.write_text(renamed)
    changed = await provision(jobs_gateway, csv, today=TODAY)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 1)
    assert user_by_number(admin, first)["lastName"] == f"{surname}-Durand"
    assert user_by_number(admin, first)["username"] == created["username"]  # never changes


async def test_a_university_rescue_address_from_the_sis_is_not_written(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, tmp_path: Path
) -> None:
    """The realm refuses a university address as `email` (`bridge realm setup`): the account
    is created, and later updated, without it, as if the SIS had given none."""
    first, second = number(), number()
    university = f"{first},Martin{letters()},Jean,2026,,,jean@etu.umontpellier.example,"
    plain = f"{second},Dupont{letters()},Alice,2026,,,,"
    summary = await provision(
        jobs_gateway, write(tmp_path, [HEADER, university, plain]), today=TODAY
    )
    assert (summary.created, summary.rejected) == (2, [])
    assert "email" not in user_by_number(admin, first)
    later = f"{second},{plain.split(',')[1]},Alice,2027,,,alice@umontpellier.fr,"
    again = await provision(jobs_gateway, write(tmp_path, [HEADER, later], "b.csv"), today=TODAY)
    assert (again.updated, again.rejected) == (1, [])
    alice = user_by_number(admin, second)
    assert alice["attributes"]["lastEnrollmentYear"] == ["2027"] and "email" not in alice


@pytest.mark.core
async def test_re_enrollment_brings_everything_back(
    jobs_gateway: ProvisioningGateway,
    admin: httpx.Client,
    make_user: Any,
    bridge: Any,
    tmp_path: Path,
) -> None:
    student = make_user(
        password="Mon-mdp-2024!",
        enabled=False,
        attributes={
            "supannEtuId": [number()],
            "ine": [ine()],
            "lastEnrollmentYear": ["2024"],
            "validUntil": ["2025-12-31"],
            "eduPersonAffiliation": ["student"],
        },
    )
    n = student["attributes"]["supannEtuId"][0]
    csv = write(tmp_path, [HEADER, f"{n},{student['lastName']},Jeanne,2026,,,autre@example.org,"])
    summary = await provision(jobs_gateway, csv, today=TODAY)
    assert summary.reenabled == 1
    after = admin.get(f"/users/{student['id']}").json()
    assert after["enabled"] is True
    assert after["attributes"]["validUntil"] == ["2027-12-31"]
    assert after["email"] == student["email"]  # the student's rescue address is kept
    assert after["attributes"]["ine"] == student["attributes"]["ine"]
    assert signs_in(bridge.url, student["username"], "Mon-mdp-2024!")  # credentials intact


async def test_disabled_by_staff_is_not_re_enabled(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, make_user: Any, tmp_path: Path
) -> None:
    student = make_user(
        enabled=False,
        attributes={
            "supannEtuId": [number()],
            "lastEnrollmentYear": ["2026"],
            "validUntil": ["2027-12-31"],
        },
    )
    n = student["attributes"]["supannEtuId"][0]
    csv = write(tmp_path, [HEADER, f"{n},{student['lastName']},Jeanne,2026,,,,"])
    summary = await provision(jobs_gateway, csv, today=TODAY)
    assert summary.reenabled == 0
    assert admin.get(f"/users/{student['id']}").json()["enabled"] is False


async def test_a_plan_made_stale_meanwhile_does_not_overwrite(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, make_user: Any
) -> None:
    """The job planned from an account without a rescue address (so it would give the
    SIS's); the student set one through the wizard before the write: theirs stays, the
    rest of the plan is written, and the job is told which field it left."""
    student = make_user(password=None, email="chosen@example.net", emailVerified=False)
    moved = await jobs_gateway.apply_changes(
        student["id"],
        {
            "rescue_email": (None, "from.the.sis@example.org"),
            "first_name": (student["firstName"], "Jeanne-Marie"),
        },
    )
    assert moved == ("rescue_email",)
    stored = admin.get(f"/users/{student['id']}").json()
    assert stored["email"] == "chosen@example.net"
    assert stored["firstName"] == "Jeanne-Marie"


async def test_identifier_collisions(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, make_user: Any, tmp_path: Path
) -> None:
    surname = "Martin" + letters()
    prefix = f"j{surname.lower()[:10]}"
    make_user(username=f"{prefix}001")  # an existing jmartin001
    a, b = number(), number()
    csv = write(tmp_path, [HEADER, f"{a},{surname},Jean,2026,,,,", f"{b},{surname},Jéan,2026,,,,"])
    summary = await provision(jobs_gateway, csv, today=TODAY)
    assert summary.created == 2
    assert {user_by_number(admin, a)["username"], user_by_number(admin, b)["username"]} == {
        f"{prefix}002",
        f"{prefix}003",
    }
    # Across runs: a third Jean Martin never gets a used identifier.
    c = number()
    csv2 = write(tmp_path, [HEADER, f"{c},{surname},Jean,2026,,,,"], name="next.csv")
    await provision(jobs_gateway, csv2, today=TODAY)
    assert user_by_number(admin, c)["username"] == f"{prefix}004"


async def test_latin1_semicolon_file_with_stray_whitespace(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, tmp_path: Path
) -> None:
    n = number()
    surname = "Bérénice" + letters()
    lines = [HEADER.replace(",", " ; ").upper(), f" {n} ; {surname} ;  Chloé ; 2026 ; ; ; ; "]
    csv = write(tmp_path, lines, encoding="latin-1")
    summary = await provision(jobs_gateway, csv, today=TODAY)
    assert summary.created == 1, summary.rejected
    user = user_by_number(admin, n)
    assert (user["firstName"], user["lastName"]) == ("Chloé", surname)
    assert user["username"].startswith("cberenice")


async def test_each_kind_of_rejected_row(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, tmp_path: Path
) -> None:
    good, dup, huge = number(), number(), number()
    wrong_key = "0123456789A"
    lines = [
        HEADER,
        f"{good},Valide{letters()},Anne,2026,,,,",  # line 2: created
        f"{number()},Cle{letters()},Bad,2026,{wrong_key},,,",  # 3: INE wrong check key
        f"{number()},Forme{letters()},Bad,2026,12345,,,",  # 4: INE malformed
        f"{number()},Court",  # 5: missing columns
        f"{dup},Double{letters()},Un,2026,,,,",  # 6: created
        f"{dup},Double{letters()},Deux,2026,,,,",  # 7: duplicate number
        f"{number()},Annee{letters()},Bad,1850,,,,",  # 8: bad year
        f"{number()},,Vide,2026,,,,",  # 9: empty last name
        f"{number()},Mail{letters()},Bad,2026,,,pas-un-mail,",  # 10: bad email
        f"{huge},{'X' * 70000},Huge,2026,,,,",  # 11: huge line
        f"{number()},1234,Chiffres,2026,,,,",  # 12: no letter for an identifier
    ]
    summary = await provision(jobs_gateway, write(tmp_path, lines), today=TODAY)
    reasons = dict(summary.rejected)
    assert summary.created == 2
    assert sorted(reasons) == [3, 4, 5, 7, 8, 9, 10, 11, 12]
    assert "wrong check key" in reasons[3]
    assert "malformed" in reasons[4]
    assert "missing column" in reasons[5]
    assert "already on line 6" in reasons[7]
    assert "enrollment year" in reasons[8]
    assert "last name is empty" in reasons[9]
    assert "not an email address" in reasons[10]
    assert "longer than" in reasons[11]
    assert "no identifier" in reasons[12]
    user_by_number(admin, good)
    assert admin.get("/users", params={"q": f"supannEtuId:{huge}", "exact": "true"}).json() == []


async def test_empty_file_and_header_only(
    jobs_gateway: ProvisioningGateway, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ExportError, match="empty"):
        await provision(jobs_gateway, empty, today=TODAY)
    missing = write(tmp_path, ["nom,prenom"], name="missing.csv")
    with pytest.raises(ExportError, match="student_number"):
        await provision(jobs_gateway, missing, today=TODAY)
    header_only = write(tmp_path, [HEADER], name="header.csv")
    summary = await provision(jobs_gateway, header_only, today=TODAY)
    assert (summary.created, summary.unchanged, summary.rejected) == (0, 0, [])


async def test_dry_run_prints_the_diff_and_writes_nothing(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, tmp_path: Path
) -> None:
    n = number()
    csv = write(tmp_path, [HEADER, f"{n},Essai{letters()},Sec,2026,,,,", "x,y"])
    lines: list[str] = []
    summary = await provision(jobs_gateway, csv, today=TODAY, dry_run=True, report=lines.append)
    assert summary.created == 1 and len(summary.rejected) == 1
    assert any(line.startswith("create") for line in lines)
    assert any(line.startswith("rejected  line 3") for line in lines)
    assert admin.get("/users", params={"q": f"supannEtuId:{n}", "exact": "true"}).json() == []


async def test_activation_keys_for_new_students(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, bridge: Any, tmp_path: Path
) -> None:
    n = number()
    keys = tmp_path / "keys.csv"
    csv = write(tmp_path, [HEADER, f"{n},Cle{letters()},Paul,2026,,,p@example.org,"])
    summary = await provision(jobs_gateway, csv, today=TODAY, keys_out=keys)
    assert summary.created == 1
    username, _, _, key = keys.read_text().splitlines()[1].split(";")
    user = user_by_number(admin, n)
    assert user["username"] == username
    assert set(user["requiredActions"]) == {"UPDATE_PASSWORD", "UPDATE_EMAIL"}
    # Hashed by the job, not by Keycloak's Argon2 (docs/lifecycle.md, issue 19).
    [stored] = admin.get(f"/users/{user['id']}/credentials").json()
    assert json.loads(stored["credentialData"])["algorithm"] == "pbkdf2-sha256"

    with browser() as client:  # a wrong key is refused like a wrong password
        start = client.get(f"{bridge.url}/portal/login")
        wrong = submit_login(
            client, client.get(start.headers["Location"]), username, "ABCD-EFGH-JKMN"
        )
        assert wrong.status_code == 200 and "Choisissez votre mot de passe" not in text(wrong)
    with browser() as client:  # Keycloak checks the job's hash, then asks for a password
        start = client.get(f"{bridge.url}/portal/login")
        answer = submit_login(client, client.get(start.headers["Location"]), username, key)
        while answer.status_code == 302:
            answer = client.get(answer.headers["Location"])
        assert "Choisissez votre mot de passe" in text(answer)
        back = required_actions(client, answer, NEW_PASSWORD)
        callback = client.get(back.headers["Location"])
        portal = client.get(bridge.url + callback.headers["Location"])
    assert f'id="um-portal-username">{username}<' in portal.text
    [chosen] = admin.get(f"/users/{user['id']}/credentials").json()
    assert json.loads(chosen["credentialData"])["algorithm"] == "argon2"  # the realm's policy
    assert not signs_in(bridge.url, username, key)  # the key is spent
    assert signs_in(bridge.url, username, NEW_PASSWORD)


def test_cli_json_summary_and_exit_codes(
    stack: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UM_KEYCLOAK_URL", stack.url)
    monkeypatch.setenv(
        "UM_PROVISIONING_CLIENT_SECRET", stack.secrets["UM_PROVISIONING_CLIENT_SECRET"]
    )
    csv = write(tmp_path, [HEADER, f"{number()},Cli{letters()},Zoe,2026,,,,", "bad"])
    assert main(["provision", str(csv), "--json", "--today", "2026-11-21"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["created"] == 1 and result["rejected"] == 1
    assert result["rejected_rows"][0]["line"] == 3
    assert main(["provision", str(tmp_path / "absent.csv")]) == 2
    monkeypatch.setenv("UM_KEYCLOAK_URL", "http://127.0.0.1:9")
    assert main(["provision", str(csv)]) == 3


async def test_crash_halfway_then_rerun_leaves_a_correct_realm(
    stack: Any, jobs_gateway: ProvisioningGateway, admin: httpx.Client, tmp_path: Path
) -> None:
    tag = letters(4).upper()
    count = 2000
    lines = [HEADER] + [f"K{tag}{i:05d},Crash{letters(5)},Eve,2026,,,," for i in range(count)]
    csv = write(tmp_path, lines, name="big.csv")
    state_path = tmp_path / "state.sqlite3"
    env = {
        **os.environ,
        "UM_KEYCLOAK_URL": stack.url,
        "UM_PROVISIONING_CLIENT_SECRET": stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
    }
    job = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bridge",
            "provision",
            str(csv),
            "--batch-size",
            "100",
            "--today",
            "2026-11-21",
            "--state",
            str(state_path),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    query = {"q": f"supannEtuId:K{tag}", "exact": "false"}
    deadline = time.monotonic() + 120
    while admin.get("/users/count", params=query).json() < 800:
        assert job.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    job.send_signal(signal.SIGKILL)
    job.wait()
    # Keycloak finishes the imports that were in flight: wait until the count settles. On a
    # loaded machine a transaction can commit seconds after the kill (seen: 3 s was short).
    partial, stable_since = -1, time.monotonic()
    while time.monotonic() - stable_since < 10:
        now = admin.get("/users/count", params=query).json()
        if now != partial:
            partial, stable_since = now, time.monotonic()
        time.sleep(0.2)
    assert 0 < partial < count, partial

    # The re-run trusts the state file only for the batches it recorded: the ones Keycloak
    # committed after the kill are looked up, found, and not created twice.
    state = ProvisionState(state_path, jobs_gateway.realm_url)
    recorded = state.applied_count()
    assert recorded <= partial
    summary = await provision(jobs_gateway, csv, today=TODAY, state=state)
    state.close()
    assert summary.mode == "incremental"
    assert summary.rejected == []
    assert summary.created == count - partial
    assert summary.unchanged == partial
    assert summary.unchanged_from_state == recorded
    assert admin.get("/users/count", params=query).json() == count
    numbers = [
        u["attributes"]["supannEtuId"][0]
        for u in admin.get(
            "/users",
            params={**query, "first": 0, "max": count + 10, "briefRepresentation": "false"},
        ).json()
    ]
    assert len(numbers) == len(set(numbers)) == count


async def test_state_file_skips_rows_applied_before_and_applies_the_rest(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, make_user: Any, tmp_path: Path
) -> None:
    state = ProvisionState(tmp_path / "state.sqlite3", jobs_gateway.realm_url)
    surname = "Roux" + letters()
    prefix = f"j{surname.lower()[:10]}"
    first, second, third = number(), number(), number()
    rows = [
        HEADER,
        f"{first},{surname},Jean,2026,,,,",
        f"{second},Petit{letters()},Ana,2026,,,,",
        f"{number()},Masson{letters()},Éric,2026,,,,",
    ]
    csv = write(tmp_path, rows)
    initial = await provision(jobs_gateway, csv, today=TODAY, state=state)
    assert (initial.mode, initial.created) == ("full", 3)

    again = await provision(jobs_gateway, csv, today=TODAY, state=state)
    assert (again.mode, again.created, again.updated) == ("incremental", 0, 0)
    assert again.unchanged == again.unchanged_from_state == 3

    # A name change, a new Jean Roux while someone else took the next identifier, and an
    # INE that is another account's.
    make_user(username=f"{prefix}002")
    other = make_user()
    other_ine = other["attributes"]["ine"][0]
    rows[1] = f"{first},{surname},Jean,2026,{other_ine},,,"
    rows[2] = rows[2].replace(",Ana,", ",Anaïs,")
    rows.append(f"{third},{surname},Jean,2026,,,,")
    csv = write(tmp_path, rows)
    changed = await provision(jobs_gateway, csv, today=TODAY, state=state)
    assert (changed.created, changed.updated, changed.unchanged_from_state) == (1, 1, 1)
    assert [reason for _, reason in changed.rejected] == [
        f"INE ********{other_ine[-3:]} belongs to another account ({other['username']})"
    ]
    assert user_by_number(admin, second)["firstName"] == "Anaïs"
    assert user_by_number(admin, third)["username"] == f"{prefix}003"
    state.close()


async def test_full_run_puts_right_what_changed_behind_the_state(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, tmp_path: Path
) -> None:
    state = ProvisionState(tmp_path / "state.sqlite3", jobs_gateway.realm_url)
    n = number()
    csv = write(tmp_path, [HEADER, f"{n},Blanc{letters()},Paul,2026,,,,"])
    await provision(jobs_gateway, csv, today=TODAY, state=state)
    user = user_by_number(admin, n)
    admin.put(f"/users/{user['id']}", json={**user, "lastName": "Edited by hand"})

    trusted = await provision(jobs_gateway, csv, today=TODAY, state=state)
    assert (trusted.unchanged_from_state, trusted.updated) == (1, 0)
    full = await provision(jobs_gateway, csv, today=TODAY, state=state, full=True)
    assert (full.mode, full.updated) == ("full", 1)
    assert user_by_number(admin, n)["lastName"] == user["lastName"]
    state.close()


async def test_state_that_knows_more_rows_than_the_realm_is_dropped(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, tmp_path: Path
) -> None:
    """A realm restored from an old backup: the fingerprints cannot be trusted."""
    n = number()
    state = ProvisionState(tmp_path / "state.sqlite3", jobs_gateway.realm_url)
    for i in range(admin.get("/users/count").json() + 10):
        state.record(f"GHOST{i}", "0" * 32, str(uuid.uuid4()), None)
    state.record(n, "0" * 32, str(uuid.uuid4()), None)
    state.commit()
    csv = write(tmp_path, [HEADER, f"{n},Noir{letters()},Rita,2026,,,,"])
    summary = await provision(jobs_gateway, csv, today=TODAY, state=state)
    assert summary.mode == "full" and "dropped" in summary.notes[0]
    assert summary.created == 1
    assert state.applied_count() == 1
    state.close()


def test_state_file_of_another_realm_or_not_a_state_file_is_refused(
    stack: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UM_KEYCLOAK_URL", stack.url)
    monkeypatch.setenv(
        "UM_PROVISIONING_CLIENT_SECRET", stack.secrets["UM_PROVISIONING_CLIENT_SECRET"]
    )
    csv = write(tmp_path, [HEADER, f"{number()},Gris{letters()},Zoe,2026,,,,"])
    other = tmp_path / "other.sqlite3"
    ProvisionState(other, "https://sso.example.org/realms/um").close()
    assert main(["provision", str(csv), "--state", str(other)]) == 2
    assert "https://sso.example.org/realms/um" in capsys.readouterr().err
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database" * 100)
    assert main(["provision", str(csv), "--state", str(garbage)]) == 2
    assert "not a provisioning state file" in capsys.readouterr().err
    with pytest.raises(StateError):
        ProvisionState(other, stack.url)


async def test_hostile_export_rows(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, tmp_path: Path
) -> None:
    """Each curated hostile value in each column of an otherwise good row, through the real
    job: every row is created whole or rejected with its reason, and a rejected row leaves
    no account behind (a refused name must not fail its whole import batch)."""
    from tests.helpers.hostile import CURATED
    from tests.helpers.report import report

    columns = ("last_name", "first_name", "ine", "username", "rescue_email")
    rows: dict[int, tuple[str, str, str]] = {}  # line -> (number, column, value)
    lines = [HEADER]
    for value in CURATED:
        for column in columns:
            cells = {"last_name": f"Hostile{letters()}", "first_name": "Anne", "ine": "",
                     "username": "", "rescue_email": ""}  # fmt: skip
            cells[column] = value.replace(",", " ").replace("\n", " ").replace("\r", " ")
            student = number()
            lines.append(
                f"{student},{cells['last_name']},{cells['first_name']},2026,{cells['ine']},"
                f"{cells['username']},{cells['rescue_email']},"
            )
            rows[len(lines)] = (student, column, cells[column])
    before = admin.get("/users/count").json()
    summary = await provision(jobs_gateway, write(tmp_path, lines), today=TODAY)
    rejected = dict(summary.rejected)
    assert summary.created + len(rejected) == len(rows)
    assert admin.get("/users/count").json() == before + summary.created
    for line, (student, column, value) in rows.items():
        found = admin.get("/users", params={"q": f"supannEtuId:{student}", "exact": "true"}).json()
        if line in rejected:
            assert rejected[line], line
            assert found == [], f"line {line} ({column}={value[:40]!r}) rejected but written"
            continue
        assert len(found) == 1, f"line {line} ({column}={value[:40]!r}) neither created nor said"
        stored = user_by_number(admin, student)
        if column in ("first_name", "last_name"):
            key = "firstName" if column == "first_name" else "lastName"
            assert stored[key] == " ".join(value.split()), line
    report(
        f"hostile input, SIS export through the job: {len(rows)} rows, "
        f"{summary.created} created whole, {len(rejected)} rejected with a reason"
    )


# --- matching students only, re-keying (security issue, point 6) ---------------------------


def whole(admin: httpx.Client, user_id: str) -> dict[str, Any]:
    """Everything provisioning could have changed: the representation (every attribute,
    the rescue address and its verification, enabled, required actions), the groups, the
    credentials."""
    return {
        "user": admin.get(f"/users/{user_id}").json(),
        "groups": sorted(g["path"] for g in admin.get(f"/users/{user_id}/groups").json()),
        "credentials": sorted(c["id"] for c in admin.get(f"/users/{user_id}/credentials").json()),
    }


def by_attribute(admin: httpx.Client, name: str, value: str) -> list[dict[str, Any]]:
    found = admin.get(
        "/users",
        params={"q": f"{name}:{value}", "exact": "true", "briefRepresentation": "false"},
    ).json()
    return list(found)


def staff_member(make_user: Any, student_number: str, ine_value: str) -> dict[str, Any]:
    return make_user(
        groups=("/staff",),
        attributes={
            "supannEtuId": [student_number],
            "ine": [ine_value],
            "institutionalEmail": [f"agent.{letters()}@umontpellier.example"],
        },
    )


async def test_a_staff_account_sharing_a_students_keys_is_never_touched(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, make_user: Any, tmp_path: Path
) -> None:
    """The rule: provisioning sees members of `students` only. A staff account whose student
    number and INE equal a row's is invisible to it, so the row is a new student (both
    modes); the staff account is never written, and its identifier is never merged into."""
    n, i = number(), ine()
    staff = staff_member(make_user, n, i)
    before = whole(admin, staff["id"])
    row = f"{n},Nouveau{letters()},Lea,2026,{i},,lea@example.org,lea@etu.example"
    summary = await provision(jobs_gateway, write(tmp_path, [HEADER, row]), today=TODAY)
    assert (summary.created, summary.updated, summary.rejected) == (1, 0, [])
    assert whole(admin, staff["id"]) == before
    holders = {u["id"] for u in by_attribute(admin, "supannEtuId", n)}
    assert len(holders) == 2 and staff["id"] in holders
    (new_id,) = holders - {staff["id"]}
    assert whole(admin, new_id)["groups"] == ["/students"]

    # Incremental: the state file knows other rows; the searches find the staff account and
    # the new student, and only the student is provisioning's.
    state = ProvisionState(tmp_path / "state.sqlite3", jobs_gateway.realm_url)
    await provision(jobs_gateway, write(tmp_path, [HEADER, row]), today=TODAY, state=state)
    n2, i2 = number(), ine()
    staff2 = staff_member(make_user, n2, i2)
    before2 = whole(admin, staff2["id"])
    rows = [HEADER, row, f"{n2},Autre{letters()},Rose,2026,{i2},,rose@example.org,"]
    again = await provision(jobs_gateway, write(tmp_path, rows), today=TODAY, state=state)
    state.close()
    assert (again.mode, again.created, again.rejected) == ("incremental", 1, [])
    assert whole(admin, staff2["id"]) == before2
    assert len(by_attribute(admin, "supannEtuId", n2)) == 2

    # The staff member's identifier in the export: rejected, not merged (even with the
    # staff account's own student number on the row).
    n3 = number()
    staff3 = staff_member(make_user, n3, ine())
    before3 = whole(admin, staff3["id"])
    given = f"{n3},{staff3['lastName']},Jeanne,2026,,{staff3['username']},x@example.org,"
    merged = await provision(jobs_gateway, write(tmp_path, [HEADER, given]), today=TODAY)
    assert merged.rejected == [(2, f"identifier {staff3['username']} is already another account's")]
    assert (merged.created, merged.unchanged) == (0, 0)
    assert whole(admin, staff3["id"]) == before3
    assert whole(admin, staff["id"]) == before


async def test_a_generated_identifier_never_lands_on_a_staff_account(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, make_user: Any, tmp_path: Path
) -> None:
    """A full run's index holds students only: a staff member holding the next identifier
    (which the provisioning client cannot even see) makes the creation a 409, and the row
    gets the one after."""
    surname = "Agent" + letters()
    prefix = f"j{surname.lower()[:10]}"
    staff = make_user(username=f"{prefix}001", groups=("/staff",))
    before = whole(admin, staff["id"])
    n = number()
    summary = await provision(
        jobs_gateway, write(tmp_path, [HEADER, f"{n},{surname},Jean,2026,,,,"]), today=TODAY
    )
    assert (summary.created, summary.rejected) == (1, [])
    assert user_by_number(admin, n)["username"] == f"{prefix}002"
    assert whole(admin, staff["id"]) == before


async def test_rekeying_an_activated_student_is_rejected(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, make_user: Any, tmp_path: Path
) -> None:
    # Activated (a password of its own), and without a rescue address: the SIS's would be
    # the one lost password mails, were it stored.
    student = make_user(email=None, emailVerified=False)
    i = student["attributes"]["ine"][0]
    before = whole(admin, student["id"])
    lines = [
        HEADER,
        f"{number()},Intrus{letters()},Max,2026,{i},,pirate@example.org,pirate@etu.example",
    ]
    summary = await provision(jobs_gateway, write(tmp_path, lines), today=TODAY)
    old = student["attributes"]["supannEtuId"][0]
    assert summary.rejected == [
        (
            2,
            f"would re-key the activated account {student['username']} (student number "
            f"{old} -> {lines[1].split(',')[0]}): for the registrar to review",
        )
    ]
    assert summary.created == summary.updated == 0
    assert whole(admin, student["id"]) == before

    # Its own row, with a rescue address: names and enrollment apply, the address does not.
    own = f"{old},{student['lastName']},Jeanne-Marie,2027,{i},,pirate@example.org,"
    applied = await provision(jobs_gateway, write(tmp_path, [HEADER, own]), today=TODAY)
    assert (applied.updated, applied.rejected) == (1, [])
    after = admin.get(f"/users/{student['id']}").json()
    assert after["firstName"] == "Jeanne-Marie"
    assert "email" not in after and after["emailVerified"] is False
    assert after["attributes"]["lastEnrollmentYear"] == ["2098"]  # never shortened
    # …and a replaced INE is re-keying too.
    other = f"{old},{student['lastName']},Jeanne,2026,{ine()},,,"
    replaced = await provision(jobs_gateway, write(tmp_path, [HEADER, other]), today=TODAY)
    assert len(replaced.rejected) == 1 and "re-key" in replaced.rejected[0][1]
    assert admin.get(f"/users/{student['id']}").json()["attributes"]["ine"] == [i]


async def test_moving_an_ine_from_one_student_to_another_is_rejected(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, make_user: Any, tmp_path: Path
) -> None:
    first = make_user(password=None)  # never activated: re-keying alone would be allowed
    second = make_user(password=None)
    befores = [whole(admin, first["id"]), whole(admin, second["id"])]
    i = first["attributes"]["ine"][0]
    n = second["attributes"]["supannEtuId"][0]
    row = f"{n},{second['lastName']},Jeanne,2026,{i},,,"
    summary = await provision(jobs_gateway, write(tmp_path, [HEADER, row]), today=TODAY)
    assert summary.rejected == [
        (2, f"INE ********{i[-3:]} belongs to another account ({first['username']})")
    ]
    assert [whole(admin, first["id"]), whole(admin, second["id"])] == befores


def test_cli_exits_1_on_rows_for_the_registrar(
    stack: Any, admin: httpx.Client, make_user: Any, tmp_path: Path
) -> None:
    activated = make_user()
    first, second = make_user(password=None), make_user(password=None)
    staff = staff_member(make_user, number(), ine())
    watched = [activated, first, second, staff]
    befores = [whole(admin, u["id"]) for u in watched]
    lines = [
        HEADER,
        f"{number()},Intrus{letters()},Max,2026,{activated['attributes']['ine'][0]},,,",
        f"{second['attributes']['supannEtuId'][0]},{second['lastName']},Jeanne,2026,"
        f"{first['attributes']['ine'][0]},,,",
        f"{number()},Cli{letters()},Ugo,2026,,{staff['username']},,",
    ]
    env = {
        **os.environ,
        "UM_KEYCLOAK_URL": stack.url,
        "UM_PROVISIONING_CLIENT_SECRET": stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
    }
    job = subprocess.run(
        [sys.executable, "-m", "bridge", "provision", str(write(tmp_path, lines)), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert job.returncode == 1, job.stderr
    result = json.loads(job.stdout)
    assert [row["line"] for row in result["rejected_rows"]] == [2, 3, 4]
    assert "re-key the activated account" in result["rejected_rows"][0]["reason"]
    assert "belongs to another account" in result["rejected_rows"][1]["reason"]
    assert "already another account's" in result["rejected_rows"][2]["reason"]
    assert result["created"] == result["updated"] == 0
    assert [whole(admin, u["id"]) for u in watched] == befores


# --- the provisioning client's privileges (issue 15, point 2) ------------------------------


def provisioning_client(stack: Any) -> httpx.Client:
    """The admin API as the provisioning client's own service account: what a leaked
    UM_PROVISIONING_CLIENT_SECRET gives."""
    return service_admin(stack, "provisioning", "UM_PROVISIONING_CLIENT_SECRET")


def test_the_provisioning_secret_creates_students_and_nothing_else(
    stack: Any, admin: httpx.Client
) -> None:
    """No realm power: no partial import, no realm setting; it creates accounts in
    `students` and nowhere else (in no group, in staff, in both: 403)."""
    client = provisioning_client(stack)

    def user(groups: list[str]) -> dict[str, Any]:
        name = f"p{letters(8)}"
        return {"username": name, "enabled": True, "firstName": "P", "lastName": name,
                "groups": groups, "attributes": {"supannEtuId": [number()]}}  # fmt: skip

    smtp_before = admin.get("").json().get("smtpServer")
    refused = {
        "partial import": client.post(
            "/partialImport", json={"ifResourceExists": "SKIP", "users": [user(["/students"])]}
        ),
        "change the realm's SMTP": client.put(
            "", json={"smtpServer": {**(smtp_before or {}), "host": "smtp.evil.example"}}
        ),
        "create in staff": client.post("/users", json=user(["/staff"])),
        "create in students and staff": client.post("/users", json=user(["/students", "/staff"])),
        "create in no group": client.post("/users", json=user([])),
    }
    assert {what: a.status_code for what, a in refused.items()} == dict.fromkeys(refused, 403)
    assert admin.get("").json().get("smtpServer") == smtp_before
    created = client.post("/users", json=user(["/students"]))
    assert created.status_code == 201
    user_id = created.headers["Location"].rsplit("/", 1)[1]
    assert [g["path"] for g in admin.get(f"/users/{user_id}/groups").json()] == ["/students"]


def test_the_jobs_refuse_a_credential_with_more_rights(
    stack: Any,
    admin: httpx.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Should an administrator grant the provisioning client `view-users` again, the job
    stops before writing anything (exit 4): it relies on Keycloak to keep it to students."""
    import asyncio

    from bridge.domain.errors import Overprivileged

    def check() -> None:
        gateway = ProvisioningGateway.service_account(
            stack.url, "um", "provisioning", stack.secrets["UM_PROVISIONING_CLIENT_SECRET"]
        )
        asyncio.run(gateway.ensure_scoped())  # one event loop per client

    check()  # as the realm file and realm_setup leave it
    account = admin.get("/users", params={"username": "service-account-provisioning"}).json()
    management = admin.get("/clients", params={"clientId": "realm-management"}).json()[0]["id"]
    role = admin.get(f"/clients/{management}/roles/view-users").json()
    mapping = f"/users/{account[0]['id']}/role-mappings/clients/{management}"
    assert admin.post(mapping, json=[role]).status_code == 204
    try:
        with pytest.raises(Overprivileged, match="view-users"):
            check()
        n = number()
        csv = write(tmp_path, [HEADER, f"{n},Trop{letters()},Max,2026,,,,"])
        monkeypatch.setenv("UM_KEYCLOAK_URL", stack.url)
        monkeypatch.setenv(
            "UM_PROVISIONING_CLIENT_SECRET", stack.secrets["UM_PROVISIONING_CLIENT_SECRET"]
        )
        assert main(["provision", str(csv), "--today", "2026-11-21"]) == 4
        assert "view-users" in capsys.readouterr().err
        assert admin.get("/users", params={"q": f"supannEtuId:{n}", "exact": "true"}).json() == []
    finally:
        admin.request("DELETE", mapping, json=[role])
    check()


async def test_a_student_also_in_staff_is_left_alone(
    jobs_gateway: ProvisioningGateway, admin: httpx.Client, make_user: Any, tmp_path: Path
) -> None:
    """A member of both groups is listed among the students but Keycloak refuses it to the
    jobs: its row is rejected (for the administrators: staff are not students) and the
    account is not written, in both modes."""
    both = make_user(groups=("/students", "/staff"), password=None)
    before = whole(admin, both["id"])
    n = both["attributes"]["supannEtuId"][0]
    row = f"{n},{both['lastName']}-Autre,Jeanne,2026,,,,"
    full = await provision(jobs_gateway, write(tmp_path, [HEADER, row]), today=TODAY)
    state = ProvisionState(tmp_path / "state.sqlite3", jobs_gateway.realm_url)
    state.record("seed", "0" * 32, both["id"], None)  # an earlier run: incremental
    state.commit()
    incremental = await provision(
        jobs_gateway, write(tmp_path, [HEADER, row]), today=TODAY, state=state
    )
    state.close()
    assert (full.mode, incremental.mode) == ("full", "incremental")
    reason = (
        f"account {both['username']} is not a student provisioning may write (outside "
        "students, or also in staff): left alone"
    )
    for summary in (full, incremental):
        assert summary.rejected == [(2, reason)]
        assert summary.updated == summary.created == 0
    assert whole(admin, both["id"]) == before
