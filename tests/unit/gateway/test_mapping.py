"""bridge.gateway.keycloak.mapping: the one table between the product's fields and
Keycloak's representation, read and written both ways."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json

from bridge.domain.accounts import RequiredAction, StudentRecord
from bridge.gateway.keycloak.mapping import (
    FIELDS,
    REQUIRED_ACTIONS,
    account_from_representation,
    apply_changes,
    attribute,
    changed_rescue_email,
    get,
    hashed_password_credential,
    put,
    reminder_sent_for,
    representation_from_record,
    required_action_names,
    required_actions_of,
    with_temporary_password,
)

RECORD = StudentRecord(
    username="jmartin001",
    first_name="Jean",
    last_name="Martin",
    student_number="22001234",
    ine="1234567890T",
    rescue_email="jean.martin@example.org",
    institutional_email="jean.martin@etu.umontpellier.fr",
    last_enrollment_year=2026,
)


def test_a_record_becomes_a_representation_keycloak_reads() -> None:
    rep = representation_from_record(RECORD, enabled=True)
    assert rep == {
        "username": "jmartin001",
        "firstName": "Jean",
        "lastName": "Martin",
        "enabled": True,
        "email": "jean.martin@example.org",
        "emailVerified": False,
        "attributes": {
            "eduPersonAffiliation": ["student"],
            "supannEtuId": ["22001234"],
            "ine": ["1234567890T"],
            "institutionalEmail": ["jean.martin@etu.umontpellier.fr"],
            "eduPersonPrimaryAffiliation": ["student"],
            "lastEnrollmentYear": ["2026"],
            "validUntil": ["2027-12-31"],
        },
    }


def test_and_reads_back_as_the_same_account() -> None:
    rep = {**representation_from_record(RECORD, enabled=True), "id": "u1"}
    account = account_from_representation(rep, has_password=True)
    assert (account.id, account.username, account.first_name, account.last_name) == (
        "u1",
        "jmartin001",
        "Jean",
        "Martin",
    )
    assert account.rescue_email == RECORD.rescue_email and not account.rescue_email_verified
    assert (account.ine, account.student_number) == (RECORD.ine, RECORD.student_number)
    assert account.institutional_email == RECORD.institutional_email
    assert (account.last_enrollment_year, account.valid_until) == (2026, dt.date(2027, 12, 31))
    assert account.has_password and account.enabled


def test_dates_round_trip() -> None:
    rep: dict[str, object] = {"id": "u1", "username": "x"}
    put(rep, "reminder_sent_for", dt.date(2027, 12, 31))
    assert rep["attributes"] == {"umReminderSentFor": ["2027-12-31"]}
    assert reminder_sent_for(rep) == dt.date(2027, 12, 31)


def test_unreadable_values_read_as_absent() -> None:
    rep = {
        "id": "u1",
        "username": "x",
        "attributes": {
            "validUntil": ["31/12/2027"],
            "lastEnrollmentYear": ["²"],
        },
    }
    account = account_from_representation(rep)
    assert account.valid_until is None and account.last_enrollment_year is None


def test_required_actions_both_ways() -> None:
    assert set(REQUIRED_ACTIONS) == set(RequiredAction)
    names = required_action_names([RequiredAction.SET_PASSWORD, RequiredAction.CHECK_RESCUE_EMAIL])
    assert names == ["UPDATE_PASSWORD", "UPDATE_EMAIL"]
    # An action the product does not know (a second factor set by hand) is not its business.
    assert required_actions_of(["CONFIGURE_TOTP", "UPDATE_PASSWORD"]) == (
        RequiredAction.SET_PASSWORD,
    )


def test_provisioning_changes_land_where_keycloak_keeps_them() -> None:
    rep = representation_from_record(RECORD, enabled=False)
    rep["emailVerified"] = True
    apply_changes(
        rep,
        {
            "last_name": ("Martin", "Martin-Durand"),
            "rescue_email": ("jean.martin@example.org", "jm@example.org"),
            "enabled": (False, True),
            "last_enrollment_year": (2026, 2027),
            "valid_until": (dt.date(2027, 12, 31), dt.date(2028, 12, 31)),
        },
    )
    assert rep["lastName"] == "Martin-Durand" and rep["enabled"] is True
    # A new address from the SIS is the student's word: the next link proves it.
    assert rep["email"] == "jm@example.org" and rep["emailVerified"] is False
    assert get(rep, "last_enrollment_year") == "2027" and get(rep, "valid_until") == "2028-12-31"


def test_a_field_written_since_the_plan_read_it_is_left_alone() -> None:
    """The plan saw no rescue address and would give the SIS's; the student set one
    meanwhile: theirs stays, the names still change."""
    rep = representation_from_record(dataclasses.replace(RECORD, rescue_email=None), enabled=True)
    changed_rescue_email(rep, "chosen@example.net", verified=False)
    moved = apply_changes(
        rep,
        {
            "rescue_email": (None, "from.the.sis@example.org"),
            "last_name": ("Martin", "Martin-Durand"),
            "enabled": (False, True),  # re-enabled meanwhile: nothing to do, nothing undone
        },
    )
    assert moved == ("rescue_email", "enabled")
    assert rep["email"] == "chosen@example.net"
    assert rep["lastName"] == "Martin-Durand" and rep["enabled"] is True


def test_an_activation_key_rides_in_the_import() -> None:
    rep = with_temporary_password(
        representation_from_record(RECORD, enabled=True),
        "K7PX-M9QA-R4TD",
        (RequiredAction.SET_PASSWORD, RequiredAction.CHECK_RESCUE_EMAIL),
    )
    [credential] = rep["credentials"]
    assert "value" not in credential  # Keycloak would hash it again, with Argon2
    assert credential["type"] == "password" and credential["temporary"] is True
    assert rep["requiredActions"] == ["UPDATE_PASSWORD", "UPDATE_EMAIL"]


def test_a_key_is_stored_in_keycloaks_pbkdf2_form() -> None:
    """What Keycloak's pbkdf2-sha256 provider recomputes at sign-in: PBKDF2-HMAC-SHA-256 of
    the typed key with the stored salt and iterations, compared with the stored value."""
    first = hashed_password_credential("K7PX-M9QA-R4TD")
    secret, data = json.loads(first["secretData"]), json.loads(first["credentialData"])
    assert data == {
        "hashIterations": 1000,
        "algorithm": "pbkdf2-sha256",
        "additionalParameters": {},
    }
    salt = base64.b64decode(secret["salt"])
    assert len(salt) == 16
    expected = hashlib.pbkdf2_hmac("sha256", b"K7PX-M9QA-R4TD", salt, 1000, dklen=64)
    assert base64.b64decode(secret["value"]) == expected
    again = json.loads(hashed_password_credential("K7PX-M9QA-R4TD")["secretData"])
    assert again["salt"] != secret["salt"] and again["value"] != secret["value"]
    assert "K7PX" not in first["secretData"] + first["credentialData"]


def test_attribute_searches_name_declared_attributes() -> None:
    assert attribute("ine") == "ine" and attribute("student_number") == "supannEtuId"
    assert all(f.key for f in FIELDS.values())


def test_a_single_valued_attribute_left_multi_valued_is_repaired() -> None:
    """Concurrent writes can leave one attribute with two values, and Keycloak then refuses
    every update of the account: the next write keeps one value."""
    from bridge.gateway.keycloak.mapping import repair_single_values

    rep = {
        "attributes": {
            "validUntil": ["2027-12-31", "2028-12-31"],
            "eduPersonAffiliation": ["student", "member"],
        }
    }
    repair_single_values(rep)
    assert rep["attributes"] == {
        "validUntil": ["2027-12-31"],
        "eduPersonAffiliation": ["student", "member"],  # multivalued by design
    }
