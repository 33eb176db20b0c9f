"""Rows of the student information system (SIS) export, validated one by one.

The export's columns (header names are case-insensitive; the French names are accepted):

| column | required | meaning |
| --- | --- | --- |
| student_number (numero_etudiant) | yes | the key: SupAnn supannEtuId |
| last_name (nom), first_name (prenom) | yes | |
| enrollment_year (annee_inscription) | yes | the last year N of enrollment |
| ine | no | validated (format and check key); the key when the number changed |
| username (identifiant) | no | generated when empty |
| rescue_email (mail_secours) | no | personal address |
| institutional_email (mail_institutionnel) | no | |
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

from bridge.domain.accounts import StudentRecord
from bridge.domain.errors import InvalidInput
from bridge.domain.identifiers import InvalidIdentifier, normalize_identifier
from bridge.domain.ine import InvalidIne, mask_ine, parse_ine
from bridge.domain.rescue_email import is_email_address

ALIASES = {
    "student_number": ("student_number", "numero_etudiant", "supannetuid", "cod_etu"),
    "last_name": ("last_name", "nom", "lastname"),
    "first_name": ("first_name", "prenom", "firstname"),
    "enrollment_year": ("enrollment_year", "annee_inscription", "annee"),
    "ine": ("ine",),
    "username": ("username", "identifiant", "login"),
    "rescue_email": ("rescue_email", "mail_secours", "email_personnel"),
    "institutional_email": ("institutional_email", "mail_institutionnel", "email"),
}
REQUIRED = ("student_number", "last_name", "first_name", "enrollment_year")
_STUDENT_NUMBER = re.compile(r"[0-9A-Za-z]{1,32}")
_YEAR = re.compile(r"[0-9]{4}")
_NAME_MAX = 100
# What Keycloak's `person-name-prohibited-characters` validator (on firstName and lastName in
# the realm's user profile) refuses, besides control characters: checked here so that such a
# row is rejected with its line number instead of failing a whole import batch.
NAME_PROHIBITED = frozenset('<>&"$%!#?§;*~/\\|^=[]{}()')


class RowRejected(InvalidInput):
    code = "row.rejected"


def canonical_columns(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Column positions by canonical name, and the required columns that are missing."""
    positions: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = raw.strip().strip("\ufeff").lower().replace(" ", "_").replace("-", "_")
        for canonical, aliases in ALIASES.items():
            if name in aliases and canonical not in positions:
                positions[canonical] = index
    return positions, [c for c in REQUIRED if c not in positions]


def _name(value: str, label: str) -> str:
    cleaned = " ".join(value.split())
    if not cleaned:
        raise RowRejected(f"{label} is empty")
    # split() above already turned every line break and vertical space into one space.
    if len(cleaned) > _NAME_MAX or any(ord(c) < 32 or ord(c) == 127 for c in cleaned):
        raise RowRejected(f"{label} is not a name")
    refused = sorted({c for c in cleaned if c in NAME_PROHIBITED})
    if refused:
        raise RowRejected(f"{label} {cleaned[:40]!r} contains {' '.join(refused)}")
    return cleaned


def _email(value: str, label: str) -> str | None:
    cleaned = value.strip()
    if not cleaned:
        return None
    if not is_email_address(cleaned):
        raise RowRejected(f"{label} {cleaned[:60]!r} is not an email address")
    return cleaned


def record_from_fields(fields: Mapping[str, str], min_year: int, max_year: int) -> StudentRecord:
    """A StudentRecord, or RowRejected saying why (one reason, the first found)."""
    number = fields.get("student_number", "").strip()
    if not _STUDENT_NUMBER.fullmatch(number):
        raise RowRejected(f"student number {number[:40]!r} is not 1-32 letters or digits")
    year_text = fields.get("enrollment_year", "").strip()
    if not _YEAR.fullmatch(year_text) or not min_year <= int(year_text) <= max_year:
        raise RowRejected(
            f"enrollment year {year_text[:10]!r} is not a year in {min_year}-{max_year}"
        )
    ine = None
    if fields.get("ine", "").strip():
        try:
            ine = parse_ine(fields["ine"]).value
        except InvalidIne as error:
            reason = "wrong check key" if error.code == "ine.check_key" else "malformed"
            masked = mask_ine(fields["ine"].strip()[:20])
            raise RowRejected(f"INE {masked}: {reason}") from error
    username = ""
    if fields.get("username", "").strip():
        try:
            username = normalize_identifier(fields["username"])
        except InvalidIdentifier as error:
            raise RowRejected(f"identifier {fields['username'][:40]!r} is malformed") from error
    return StudentRecord(
        username=username,
        first_name=_name(fields.get("first_name", ""), "first name"),
        last_name=_name(fields.get("last_name", ""), "last name"),
        student_number=number,
        ine=ine,
        rescue_email=_email(fields.get("rescue_email", ""), "rescue email"),
        institutional_email=_email(fields.get("institutional_email", ""), "institutional email"),
        last_enrollment_year=int(year_text),
    )


def fingerprint(record: StudentRecord) -> str:
    """A digest of everything a row says: equal fingerprints, nothing to write again."""
    fields = (
        record.student_number,
        record.username,
        record.first_name,
        record.last_name,
        record.ine or "",
        record.rescue_email or "",
        record.institutional_email or "",
        str(record.last_enrollment_year or ""),
        ",".join(record.affiliations),
    )
    # No field can hold \x1f: names refuse control characters, the others have strict shapes.
    return hashlib.blake2b("\x1f".join(fields).encode(), digest_size=16).hexdigest()
