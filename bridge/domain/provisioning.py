"""What provisioning does with one SIS row, given what Keycloak holds (pure decisions).

Keyed by student number, the INE as fallback. Creates; updates names and emails; on
re-enrollment extends "valid until" and re-enables an account that was disabled because
it had expired. Never deletes, never shortens a validity, never overwrites a rescue address
the student chose, never re-enables an account disabled for another reason.

Some rows are not the job's to apply but the registrar's to review (`Kind.REJECT`, with a
`Refusal`): a row that would re-key an activated account (change its student number, or
replace its INE by another), and a row matched to an account outside `students`. A row whose
student number and INE are two accounts' is refused before (bridge.flows.directory). The
rescue address of an activated account is the student's: the SIS never sets it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

from bridge.domain.accounts import Account, StudentRecord
from bridge.domain.lifecycle import is_expired, valid_until


class Kind(Enum):
    CREATE = "create"
    UPDATE = "update"
    REENABLE = "re-enable"
    UNCHANGED = "unchanged"
    REJECT = "reject"


class Refusal(Enum):
    """Why a row needs the registrar rather than the job (the job words it)."""

    # (a) the row would change the student number of an activated account (found by its
    # INE), or replace its INE by another one
    REKEYS_ACTIVATED = "rekeys-activated"
    # (d) the matched account is not a member of `students` (staff, a service account…)
    NOT_A_STUDENT = "not-a-student"


@dataclass(frozen=True)
class Plan:
    kind: Kind
    # field -> (old, new), in the vocabulary of StudentRecord plus "enabled", "valid_until"
    changes: dict[str, tuple[object, object]] = field(default_factory=dict)
    refusal: Refusal | None = None


def rekeys(existing: Account, record: StudentRecord) -> bool:
    """The row would change the account's keys: its student number (it was found by its
    INE), or its INE for another one (filling an INE the account lacks is not re-keying)."""
    if record.student_number != existing.student_number:
        return True
    return bool(existing.ine and record.ine and record.ine != existing.ine)


def depends_on_activation(existing: Account | None, record: StudentRecord) -> bool:
    """Whether `plan` needs to know if the account is activated (a password of its own):
    the caller reads it only then (it is one more read of Keycloak per account)."""
    if existing is None:
        return False
    offers_rescue = bool(record.rescue_email) and not existing.rescue_email
    return rekeys(existing, record) or offers_rescue


def plan(existing: Account | None, record: StudentRecord, today: dt.date) -> Plan:
    """`existing.has_password` must be true to the account when `depends_on_activation`."""
    if existing is None:
        return Plan(Kind.CREATE)
    if existing.in_students is False:
        return Plan(Kind.REJECT, refusal=Refusal.NOT_A_STUDENT)
    if existing.activated and rekeys(existing, record):
        return Plan(Kind.REJECT, refusal=Refusal.REKEYS_ACTIVATED)
    changes: dict[str, tuple[object, object]] = {}

    def change(name: str, old: object, new: object) -> None:
        if new is not None and new != old:
            changes[name] = (old, new)

    change("first_name", existing.first_name, record.first_name)
    change("last_name", existing.last_name, record.last_name)
    change("institutional_email", existing.institutional_email, record.institutional_email)
    change("ine", existing.ine, record.ine)
    change("student_number", existing.student_number, record.student_number)
    change("principal_name", existing.principal_name, record.principal_name)
    change("primary_affiliation", existing.primary_affiliation, record.primary_affiliation)
    if not existing.rescue_email and not existing.activated:
        # Before activation only, and only into an empty field: once activated, the address
        # is the student's (they proved it, or chose to have none).
        change("rescue_email", existing.rescue_email, record.rescue_email)
    year = max(existing.last_enrollment_year or 0, record.last_enrollment_year or 0) or None
    if year is not None and year != existing.last_enrollment_year:
        change("last_enrollment_year", existing.last_enrollment_year, year)
    new_until = valid_until(year) if year is not None else existing.valid_until
    change("valid_until", existing.valid_until, new_until)

    expired_before = existing.valid_until is not None and is_expired(existing.valid_until, today)
    valid_now = new_until is not None and not is_expired(new_until, today)
    if not existing.enabled and expired_before and valid_now:
        changes["enabled"] = (False, True)
        return Plan(Kind.REENABLE, changes)
    return Plan(Kind.UPDATE, changes) if changes else Plan(Kind.UNCHANGED)
