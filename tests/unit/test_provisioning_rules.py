from __future__ import annotations

import datetime as dt

import pytest

from bridge.domain.accounts import Account, RequiredAction, StudentRecord
from bridge.domain.errors import InvalidInput
from bridge.domain.identifiers import IdentifierAllocator, fold, identifier_prefix
from bridge.domain.provisioning import Kind, Refusal, depends_on_activation, plan
from bridge.domain.sis import RowRejected, canonical_columns, record_from_fields
from bridge.domain.supann import primary_affiliation, principal_name

TODAY = dt.date(2026, 11, 21)
SET_PASSWORD = RequiredAction.SET_PASSWORD


def record(**fields: object) -> StudentRecord:
    values: dict[str, object] = {
        "username": "",
        "first_name": "Jean",
        "last_name": "Martin",
        "student_number": "1",
        "last_enrollment_year": 2026,
    }
    values.update(fields)
    return StudentRecord(**values)  # type: ignore[arg-type]


def existing(**fields: object) -> Account:
    values: dict[str, object] = {
        "id": "u1",
        "username": "jmartin001",
        "enabled": True,
        "first_name": "Jean",
        "last_name": "Martin",
        "student_number": "1",
        "last_enrollment_year": 2026,
        "valid_until": dt.date(2027, 12, 31),
        "primary_affiliation": "student",
    }
    values.update(fields)
    return Account(**values)  # type: ignore[arg-type]


def test_identifier_prefix_folds_accents_and_drops_the_rest() -> None:
    assert identifier_prefix("Jean", "Martin") == "jmartin"
    assert identifier_prefix("Émilie", "Le Gall-Bézier") == "elegallbezi"
    assert identifier_prefix("", "O'Neil") == "oneil"
    assert fold("Ñandú ß") == "nandu"
    with pytest.raises(InvalidInput):
        identifier_prefix("Jean", "1234")


def test_allocator_never_reuses() -> None:
    allocator = IdentifierAllocator()
    for taken in ("jmartin001", "jmartin007", "other", "jmartin"):
        allocator.seen(taken)
    assert allocator.allocate("Jean", "Martin") == "jmartin008"
    assert allocator.allocate("Julie", "Martin") == "jmartin009"
    assert allocator.allocate("Ana", "Bo") == "abo001"
    assert allocator.is_taken("jmartin009")


def test_counter_goes_past_999() -> None:
    allocator = IdentifierAllocator()
    allocator.seen("jmartin999")
    assert allocator.allocate("Jean", "Martin") == "jmartin1000"


def test_plan_create_unchanged_update() -> None:
    assert plan(None, record(), TODAY).kind is Kind.CREATE
    assert plan(existing(), record(), TODAY).kind is Kind.UNCHANGED
    renamed = plan(existing(), record(last_name="Martin-Durand"), TODAY)
    assert renamed.kind is Kind.UPDATE
    assert renamed.changes == {"last_name": ("Martin", "Martin-Durand")}


def test_plan_keeps_the_students_rescue_address() -> None:
    assert (
        plan(
            existing(rescue_email="mine@example.org"), record(rescue_email="sis@example.org"), TODAY
        ).kind
        is Kind.UNCHANGED
    )
    assert plan(existing(), record(rescue_email="sis@example.org"), TODAY).changes == {
        "rescue_email": (None, "sis@example.org")
    }


def test_plan_re_enrollment() -> None:
    expired = existing(enabled=False, last_enrollment_year=2024, valid_until=dt.date(2025, 12, 31))
    decision = plan(expired, record(last_enrollment_year=2026), TODAY)
    assert decision.kind is Kind.REENABLE
    assert decision.changes["valid_until"] == (dt.date(2025, 12, 31), dt.date(2027, 12, 31))
    assert decision.changes["enabled"] == (False, True)


def test_plan_never_shortens_and_never_re_enables_a_suspension() -> None:
    assert plan(existing(), record(last_enrollment_year=2025), TODAY).kind is Kind.UNCHANGED
    suspended = existing(enabled=False)  # still valid: disabled by staff, not by expiry
    assert plan(suspended, record(), TODAY).kind is Kind.UNCHANGED
    late = existing(enabled=False, last_enrollment_year=2023, valid_until=dt.date(2024, 12, 31))
    assert plan(late, record(last_enrollment_year=2024), TODAY).kind is Kind.UPDATE  # still expired


def test_columns_are_found_by_alias_and_case() -> None:
    positions, missing = canonical_columns([" NUMERO_ETUDIANT", "Nom", "prenom ", "annee", "INE"])
    assert positions == {
        "student_number": 0,
        "last_name": 1,
        "first_name": 2,
        "enrollment_year": 3,
        "ine": 4,
    }
    assert missing == []
    assert canonical_columns(["nom"])[1] == ["student_number", "first_name", "enrollment_year"]


def test_record_validation() -> None:
    fields = {
        "student_number": "22600001",
        "last_name": "  Martin  ",
        "first_name": "Jean",
        "enrollment_year": "2026",
        "ine": "0123 456789m",
        "username": "JMartin001",
    }
    parsed = record_from_fields(fields, 2000, 2027)
    assert (parsed.last_name, parsed.ine, parsed.username) == (
        "Martin",
        "0123456789M",
        "jmartin001",
    )
    for broken, reason in [
        ({"student_number": "22-600"}, "student number"),
        ({"enrollment_year": "26"}, "enrollment year"),
        ({"ine": "0123456789A"}, "wrong check key"),
        ({"first_name": " "}, "first name is empty"),
        ({"username": "j martin"}, "identifier"),
    ]:
        with pytest.raises(RowRejected, match=reason):
            record_from_fields({**fields, **broken}, 2000, 2027)


# --- re-keying and the rescue address (security issue, point 6) ----------------------------


def activated(**fields: object) -> Account:
    return existing(has_password=True, in_students=True, **fields)


def test_rekeying_an_activated_account_needs_the_registrar() -> None:
    # Found by its INE, the row carries another student number.
    found_by_ine = activated(ine="0123456789M", student_number="1")
    decision = plan(found_by_ine, record(student_number="2", ine="0123456789M"), TODAY)
    assert (decision.kind, decision.refusal, decision.changes) == (
        Kind.REJECT,
        Refusal.REKEYS_ACTIVATED,
        {},
    )
    # An account with no student number yet is re-keyed too when activated.
    assert plan(activated(student_number=None), record(), TODAY).kind is Kind.REJECT
    # Found by its number, the row replaces its INE by another one.
    assert plan(activated(ine="0123456789M"), record(ine="9876543210E"), TODAY).kind is (
        Kind.REJECT
    )


def test_a_never_activated_account_is_re_keyed_silently() -> None:
    for account in (
        existing(ine="0123456789M"),  # no password
        existing(ine="0123456789M", has_password=True, required_actions=(SET_PASSWORD,)),  # key
    ):
        decision = plan(account, record(student_number="2", ine="9876543210E"), TODAY)
        assert decision.kind is Kind.UPDATE
        assert decision.changes == {
            "student_number": ("1", "2"),
            "ine": ("0123456789M", "9876543210E"),
        }


def test_an_activated_account_gets_names_emails_enrollment_and_an_ine_it_lacked() -> None:
    decision = plan(
        activated(),
        record(
            last_name="Martin-Durand",
            institutional_email="jean@etu.example",
            last_enrollment_year=2027,
            ine="0123456789M",
        ),
        TODAY,
    )
    assert decision.kind is Kind.UPDATE
    assert set(decision.changes) == {
        "last_name",
        "institutional_email",
        "last_enrollment_year",
        "valid_until",
        "ine",
    }
    expired = activated(enabled=False, last_enrollment_year=2024, valid_until=dt.date(2025, 12, 31))
    assert plan(expired, record(), TODAY).kind is Kind.REENABLE


def test_the_rescue_address_of_an_activated_account_is_the_students() -> None:
    offered = record(rescue_email="sis@example.org")
    assert plan(activated(), offered, TODAY).kind is Kind.UNCHANGED  # none, and none set
    assert plan(activated(rescue_email="mine@example.org"), offered, TODAY).changes == {}
    assert plan(existing(), offered, TODAY).changes == {"rescue_email": (None, "sis@example.org")}
    with_key = existing(has_password=True, required_actions=(SET_PASSWORD,))
    assert plan(with_key, offered, TODAY).changes == {"rescue_email": (None, "sis@example.org")}


def test_an_account_outside_students_is_never_planned_for() -> None:
    staff = existing(in_students=False)
    decision = plan(staff, record(last_name="Autre"), TODAY)
    assert (decision.kind, decision.refusal, decision.changes) == (
        Kind.REJECT,
        Refusal.NOT_A_STUDENT,
        {},
    )


def test_activation_is_read_only_when_it_decides() -> None:
    assert not depends_on_activation(None, record())
    assert not depends_on_activation(existing(), record(last_name="Autre"))
    assert not depends_on_activation(existing(ine="0123456789M"), record(ine="0123456789M"))
    assert not depends_on_activation(existing(), record(ine="0123456789M"))  # fills an INE
    assert depends_on_activation(existing(), record(student_number="2"))
    assert depends_on_activation(existing(ine="0123456789M"), record(ine="9876543210E"))
    assert depends_on_activation(existing(), record(rescue_email="sis@example.org"))
    mine = existing(rescue_email="mine@example.org")
    assert not depends_on_activation(mine, record(rescue_email="sis@example.org"))


def test_supann_words_follow_the_row_and_the_identifier() -> None:
    assert principal_name("jmartin001", "Univ-Example.FR") == "jmartin001@univ-example.fr"
    assert primary_affiliation(("member", "employee", "student")) == "student"
    assert primary_affiliation(("member", "staff")) == "staff"
    assert primary_affiliation(()) is None
    # An account from before the claims: both are written once, then it is unchanged.
    scoped = record(principal_name="jmartin001@univ.fr")
    old = existing(primary_affiliation=None)
    assert plan(old, scoped, TODAY).changes == {
        "principal_name": (None, "jmartin001@univ.fr"),
        "primary_affiliation": (None, "student"),
    }
    done = existing(principal_name="jmartin001@univ.fr")
    assert plan(done, scoped, TODAY).kind is Kind.UNCHANGED
