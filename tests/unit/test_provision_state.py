"""The provisioning state file (SQLite, no Keycloak)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.domain.accounts import StudentRecord
from bridge.domain.sis import fingerprint
from bridge.jobs.provision_state import ProvisionState, StateError

REALM = "http://localhost:8080/realms/um"


def test_records_survive_a_reopen_and_belong_to_one_realm(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    state = ProvisionState(path, REALM)
    state.record("E1", "f1", "id-1", "1234567890A")
    state.handed_out("jmartin001")
    state.handed_out("jmartin002")
    state.handed_out("jmartinez001")
    state.close()
    again = ProvisionState(path, REALM)
    assert again.fingerprint("E1") == "f1" and again.fingerprint("E2") is None
    assert again.account_of("E1") == "id-1"
    assert again.account_with_ine("1234567890A") == "id-1"
    assert again.identifiers_with_prefix("jmartin") == [
        "jmartin001",
        "jmartin002",
        "jmartinez001",
    ]
    again.forget()
    assert again.applied_count() == 0 and len(again.identifiers()) == 3
    again.close()
    with pytest.raises(StateError, match="realms/other"):
        ProvisionState(path, "http://localhost:8080/realms/other")


def test_a_file_that_is_not_a_state_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_text("not sqlite at all, " * 100)
    with pytest.raises(StateError, match="not a provisioning state file"):
        ProvisionState(path, REALM)


def test_fingerprint_sees_every_field() -> None:
    base = StudentRecord("", "Jean", "Martin", "E1", "1234567890A", None, None, 2026)
    seen = {fingerprint(base)}
    for change in (
        {"username": "jm001"},
        {"first_name": "Jeanne"},
        {"last_name": "Martins"},
        {"ine": None},
        {"rescue_email": "a@b.c"},
        {"institutional_email": "a@b.c"},
        {"last_enrollment_year": 2027},
    ):
        altered = StudentRecord(**{**base.__dict__, **change})  # type: ignore[arg-type]
        seen.add(fingerprint(altered))
    assert len(seen) == 8
    assert fingerprint(base) == fingerprint(StudentRecord(**base.__dict__))
