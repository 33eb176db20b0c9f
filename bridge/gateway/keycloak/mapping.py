"""Between the product's words and Keycloak's: one table per kind of thing, read both ways.

The user profile's attribute names are declared in realm/um-realm.json; a field that is not
in FIELDS is not written by the bridge. Everything here is pure (no I/O; a key's salt is
its one random draw) and unit-tested.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bridge.domain.accounts import Account, RequiredAction, StudentRecord
from bridge.domain.lifecycle import valid_until
from bridge.domain.retention import ANONYMISED_NAME

Representation = dict[str, Any]

STUDENTS_GROUP = "students"
STAFF_GROUP = "staff"
STAFF_ROLE = "staff"
# Staff administrators (the DPO's delegates): may anonymise in the console, on top of staff.
STAFF_ADMIN_ROLE = "staff-admin"


@dataclass(frozen=True)
class Field:
    """Where a domain field lives in a user representation: a top-level key, or the first
    value of a user-profile attribute (`attribute=True`)."""

    key: str
    attribute: bool = False


# Domain field (StudentRecord / Account / provisioning changes) -> Keycloak.
FIELDS: Mapping[str, Field] = {
    "username": Field("username"),
    "first_name": Field("firstName"),
    "last_name": Field("lastName"),
    "enabled": Field("enabled"),
    "rescue_email": Field("email"),
    "rescue_email_verified": Field("emailVerified"),
    "ine": Field("ine", attribute=True),
    "student_number": Field("supannEtuId", attribute=True),
    "institutional_email": Field("institutionalEmail", attribute=True),
    "affiliations": Field("eduPersonAffiliation", attribute=True),
    "primary_affiliation": Field("eduPersonPrimaryAffiliation", attribute=True),
    "principal_name": Field("eduPersonPrincipalName", attribute=True),
    "last_enrollment_year": Field("lastEnrollmentYear", attribute=True),
    "valid_until": Field("validUntil", attribute=True),
    # Admin-only bookkeeping of the bridge and the jobs.
    "reminder_sent_for": Field("umReminderSentFor", attribute=True),
    "staff_action": Field("umStaffAction", attribute=True),
    "rescue_email_bounced": Field("umRescueBounced", attribute=True),
    "locale": Field("locale", attribute=True),
}


# Attributes that hold one value. Keycloak has no compare-and-set: concurrent writes of one
# attribute can leave it with several values, after which it refuses every update of the
# account (error-invalid-multivalued-size) until one is kept.
MULTIVALUED = {"affiliations"}
SINGLE_VALUED = {f.key for name, f in FIELDS.items() if f.attribute and name not in MULTIVALUED}


def repair_single_values(rep: Representation) -> None:
    """Keep the first value of a single-valued attribute that has several."""
    attributes = rep.get("attributes") or {}
    for key in SINGLE_VALUED & set(attributes):
        values = attributes[key]
        if isinstance(values, list) and len(values) > 1:
            attributes[key] = values[:1]


def attribute(name: str) -> str:
    """The user-profile attribute behind a domain field (for attribute searches)."""
    found = FIELDS[name]
    assert found.attribute, name
    return found.key


REQUIRED_ACTIONS: Mapping[RequiredAction, str] = {
    RequiredAction.SET_PASSWORD: "UPDATE_PASSWORD",
    RequiredAction.CHECK_RESCUE_EMAIL: "UPDATE_EMAIL",
    RequiredAction.ACCEPT_CHARTER: "TERMS_AND_CONDITIONS",
    RequiredAction.VERIFY_EMAIL: "VERIFY_EMAIL",
}
_ACTIONS_BY_NAME = {name: action for action, name in REQUIRED_ACTIONS.items()}


def required_action_names(actions: tuple[RequiredAction, ...] | list[RequiredAction]) -> list[str]:
    return [REQUIRED_ACTIONS[action] for action in actions]


def required_actions_of(names: list[str] | tuple[str, ...]) -> tuple[RequiredAction, ...]:
    """Keycloak's action names the product knows; others (a second factor an operator
    configured by hand) are not the bridge's business and are left out."""
    return tuple(_ACTIONS_BY_NAME[name] for name in names if name in _ACTIONS_BY_NAME)


# --- reading -----------------------------------------------------------------------------


def get(rep: Representation, name: str) -> Any:
    """A domain field's raw value in a representation (None when absent)."""
    where = FIELDS[name]
    if not where.attribute:
        return rep.get(where.key)
    values = (rep.get("attributes") or {}).get(where.key) or []
    return values[0] if values else None


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _datetime(raw: str | None) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return value if value is None or value.tzinfo else None


def account_from_representation(rep: Representation, *, has_password: bool = False) -> Account:
    year = get(rep, "last_enrollment_year")
    return Account(
        id=rep["id"],
        username=rep["username"],
        enabled=bool(get(rep, "enabled")),
        first_name=get(rep, "first_name") or "",
        last_name=get(rep, "last_name") or "",
        rescue_email=get(rep, "rescue_email") or None,
        rescue_email_verified=bool(get(rep, "rescue_email_verified")),
        ine=get(rep, "ine"),
        student_number=get(rep, "student_number"),
        institutional_email=get(rep, "institutional_email"),
        # isdigit() would take "²", which int() refuses: only ASCII digits are a year.
        last_enrollment_year=int(year) if year and year.isascii() and year.isdigit() else None,
        valid_until=_date(get(rep, "valid_until")),
        principal_name=get(rep, "principal_name"),
        primary_affiliation=get(rep, "primary_affiliation"),
        required_actions=required_actions_of(rep.get("requiredActions") or ()),
        has_password=has_password,
        locale=get(rep, "locale") or None,
        rescue_email_bounced=_datetime(get(rep, "rescue_email_bounced")),
    )


def reminder_sent_for(rep: Representation) -> dt.date | None:
    return _date(get(rep, "reminder_sent_for"))


# --- writing -----------------------------------------------------------------------------


def _text(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def put(rep: Representation, name: str, value: object) -> None:
    """Write a domain field into a representation: attributes as lists of strings (a tuple
    for a multivalued one), top-level fields as they are."""
    where = FIELDS[name]
    if not where.attribute:
        rep[where.key] = value
        return
    values = [_text(v) for v in value] if isinstance(value, tuple) else [_text(value)]
    rep.setdefault("attributes", {})[where.key] = values


def drop(rep: Representation, name: str) -> None:
    """Remove a domain field's attribute from a representation (a PUT then deletes it)."""
    where = FIELDS[name]
    assert where.attribute, name
    (rep.get("attributes") or {}).pop(where.key, None)


def anonymised(rep: Representation) -> None:
    """What bridge.domain.retention.REMOVED names, removed from a representation (the
    credentials go by their own calls). Keycloak's profile requires names of an account an
    administrator writes: they become ANONYMISED_NAME."""
    for name in ("ine", "student_number", "institutional_email", "rescue_email_bounced"):
        drop(rep, name)
    put(rep, "rescue_email", "")
    put(rep, "rescue_email_verified", False)
    put(rep, "first_name", ANONYMISED_NAME)
    put(rep, "last_name", ANONYMISED_NAME)
    put(rep, "enabled", False)
    rep["requiredActions"] = []


def changed_rescue_email(rep: Representation, address: str, *, verified: bool) -> None:
    # Keycloak stores every email lowercased: written so, a write can be checked by reading.
    if (get(rep, "rescue_email") or "").lower() != address.lower():
        # A new address has bounced nothing yet (bridge.domain.bounces).
        drop(rep, "rescue_email_bounced")
    put(rep, "rescue_email", address.lower())
    put(rep, "rescue_email_verified", verified)


def apply_changes(
    rep: Representation, changes: Mapping[str, tuple[object, object]]
) -> tuple[str, ...]:
    """A provisioning plan's changes (field -> (old, new)), each only if the field still
    holds `old`: one that changed since the plan read it (the student set a rescue address,
    staff or the expiry wrote meanwhile) keeps its new value, and its name is returned.
    A rescue address the SIS gives is the student's word, not yet proven: the next action
    link verifies it."""
    now = account_from_representation({"id": "", "username": "", **rep})
    moved = tuple(name for name, (old, _) in changes.items() if getattr(now, name) != old)
    for name, (_, new) in changes.items():
        if name in moved:
            continue
        if name == "rescue_email":
            changed_rescue_email(rep, str(new), verified=False)
        else:
            put(rep, name, new)
    return moved


def representation_from_record(record: StudentRecord, *, enabled: bool) -> Representation:
    rep: Representation = {"attributes": {}}
    put(rep, "username", record.username)
    put(rep, "first_name", record.first_name)
    put(rep, "last_name", record.last_name)
    put(rep, "enabled", enabled)
    put(rep, "affiliations", tuple(record.affiliations))
    for name in (
        "student_number",
        "ine",
        "institutional_email",
        "principal_name",
        "primary_affiliation",
    ):
        value = getattr(record, name)
        if value:
            put(rep, name, value)
    if record.last_enrollment_year is not None:
        put(rep, "last_enrollment_year", record.last_enrollment_year)
        put(rep, "valid_until", valid_until(record.last_enrollment_year))
    if record.rescue_email:
        # Given by the student at enrollment; the activation link proves it.
        changed_rescue_email(rep, record.rescue_email, verified=False)
    return rep


# An activation key given at creation is hashed here, not by Keycloak (issue 19, point 4;
# docs/lifecycle.md, "Activation keys at scale"). The realm's policy hashes every password
# with Argon2, tens of milliseconds of Keycloak's CPU each, paid at import for every key,
# used or not. A key is no human password: 12 characters drawn from 31, about 59 bits, so
# a fast salted hash keeps it out of reach offline (2^58 guesses on average, each of them
# KEY_HASH_ITERATIONS HMAC-SHA-256: over a thousand GPU-years a key). Keycloak checks it
# with its own pbkdf2-sha256 provider (the algorithm is in the credential), and the new
# password the key's first sign-in asks for is hashed under the realm's policy as always.
KEY_HASH_ALGORITHM = "pbkdf2-sha256"
KEY_HASH_ITERATIONS = 1_000
KEY_HASH_BYTES = 64  # Keycloak reads the derived length off the stored value


def hashed_password_credential(
    password: str, salt: bytes | None = None, iterations: int = KEY_HASH_ITERATIONS
) -> Representation:
    """A password credential in Keycloak's stored form (`secretData`, `credentialData`),
    which `POST /users` imports as it is, without hashing it again."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    value = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations, dklen=KEY_HASH_BYTES)
    secret = {
        "value": base64.b64encode(value).decode(),
        "salt": base64.b64encode(salt).decode(),
        "additionalParameters": {},
    }
    data = {
        "hashIterations": iterations,
        "algorithm": KEY_HASH_ALGORITHM,
        "additionalParameters": {},
    }
    return {
        "type": "password",
        "temporary": True,
        "secretData": json.dumps(secret, separators=(",", ":")),
        "credentialData": json.dumps(data, separators=(",", ":")),
    }


def with_temporary_password(
    rep: Representation, password: str, actions: tuple[RequiredAction, ...]
) -> Representation:
    """An import representation that carries a temporary password (an activation key),
    already hashed (above); the actions are what its first sign-in asks."""
    rep["credentials"] = [hashed_password_credential(password)]
    rep["requiredActions"] = required_action_names(actions)
    return rep
