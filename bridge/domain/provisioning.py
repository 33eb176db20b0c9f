"""What provisioning does with one SIS row, given what Keycloak holds (pure decisions).

Keyed by student number, the INE as fallback. Creates; updates names and emails; on
re-enrollment extends "valid until" and re-enables an account that was disabled because
it had expired. Never deletes, never shortens a validity, never overwrites a rescue address
the student chose, never re-enables an account disabled for another reason.
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


@dataclass(frozen=True)
class Plan:
    kind: Kind
    # field -> (old, new), in the vocabulary of StudentRecord plus "enabled", "valid_until"
    changes: dict[str, tuple[object, object]] = field(default_factory=dict)


def plan(existing: Account | None, record: StudentRecord, today: dt.date) -> Plan:
    if existing is None:
        return Plan(Kind.CREATE)
    changes: dict[str, tuple[object, object]] = {}

    def change(name: str, old: object, new: object) -> None:
        if new is not None and new != old:
            changes[name] = (old, new)

    change("first_name", existing.first_name, record.first_name)
    change("last_name", existing.last_name, record.last_name)
    change("institutional_email", existing.institutional_email, record.institutional_email)
    change("ine", existing.ine, record.ine)
    change("student_number", existing.student_number, record.student_number)
    if not existing.rescue_email:
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
