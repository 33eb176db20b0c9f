"""INE (Identifiant National Étudiant): normalisation and validation.

Eleven characters, uppercase; spaces and case are ignored on input. Five formats exist;
two carry a check key that can be verified offline (INE-BEA and base 36), and a wrong key
gets its own error code so that the page can say "check the last character", which is a
different message from "this is not your INE".
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from enum import Enum

from bridge.domain.errors import InvalidInput

BEA_KEYS = "ABCDEFGHJKLMNPRSTUVWXYZ"


class IneFormat(Enum):
    RNIE = "INE-RNIE/INES"
    BEA = "INE-BEA"
    BASE36 = "INE base 36"
    SIFA = "INE-SIFA"
    PROVISIONAL = "INE provisoire"


_FORMATS: tuple[tuple[IneFormat, re.Pattern[str]], ...] = (
    (IneFormat.RNIE, re.compile(r"[0-9]{9}[A-HJK]{2}")),
    (IneFormat.BEA, re.compile(r"[0-9]{10}[A-HJ-NPR-Z]")),
    (IneFormat.BASE36, re.compile(r"[0-9A-Z]{10}[0-9]")),
    (IneFormat.SIFA, re.compile(r"[0-9]{4}A[0-9]{5}[A-HJ-NPR-Z]")),
    (IneFormat.PROVISIONAL, re.compile(r"[0-9]{4}D[0-9]{5}[A-HJ-NPR-Z]")),
)


class InvalidIne(InvalidInput):
    code = "ine.format"


class WrongIneKey(InvalidIne):
    code = "ine.check_key"


@dataclass(frozen=True)
class Ine:
    value: str
    format: IneFormat

    def __str__(self) -> str:
        return self.value


def normalize(raw: str) -> str:
    return "".join(raw.split()).upper()


def _base36(char: str) -> int:
    return int(char, 36)


def expected_key(value: str, fmt: IneFormat) -> str | None:
    """The check character a well-formed INE must end with, or None if the format has none."""
    if fmt is IneFormat.BEA:
        return BEA_KEYS[int(value[:10]) % 23]
    if fmt is IneFormat.BASE36:
        total = 6 * sum(_base36(c) for c in value[:9]) + _base36(value[9])
        return str(total % 10)
    return None


def parse_ine(raw: str) -> Ine:
    """Normalise and validate; raise InvalidIne (format) or WrongIneKey (check key)."""
    value = normalize(raw)
    if len(value) != 11:
        raise InvalidIne("an INE has 11 characters")
    for fmt, pattern in _FORMATS:
        if pattern.fullmatch(value):
            key = expected_key(value, fmt)
            if key is not None and value[-1] != key:
                raise WrongIneKey(f"{fmt.value}: the check key does not match")
            return Ine(value, fmt)
    raise InvalidIne("not a known INE format")


class IneVerdict(Enum):
    """A well-formed INE typed for an account, against the account's own."""

    MATCH = "match"
    MISMATCH = "mismatch"
    # Nothing on file that any typed INE could ever equal: no INE, or one that is not a
    # valid INE (the typed one must be valid to be compared). No try can succeed, so none
    # is an attempt on the account; the student can only be identified at the desk.
    NONE_ON_FILE = "none_on_file"


def ine_on_file(stored: str | None) -> Ine | None:
    """The account's INE as a typed one would have to equal it, or None (see NONE_ON_FILE)."""
    if not stored or not stored.strip():
        return None
    try:
        return parse_ine(stored)
    except InvalidIne:
        return None


def compare_ine(given: Ine, stored: str | None) -> IneVerdict:
    """Constant-time when there is an INE on file: the time taken says nothing of how much
    of it matched."""
    expected = ine_on_file(stored)
    if expected is None:
        return IneVerdict.NONE_ON_FILE
    if hmac.compare_digest(given.value.encode(), expected.value.encode()):
        return IneVerdict.MATCH
    return IneVerdict.MISMATCH


def looks_like_ine(raw: str) -> bool:
    """True when the input is shaped like an INE (11 characters with digits), even if
    its key is wrong: used to tell an INE from an identifier in a single field."""
    value = normalize(raw)
    return len(value) == 11 and sum(c.isdigit() for c in value) >= 6


def mask_ine(value: str) -> str:
    """The last three characters only (`********89M`): what a job report may print (its
    output ends up in logs) so that an operator can find the row, but nobody can read it."""
    return "*" * max(len(value) - 3, 0) + value[-3:]
