"""Student identifiers (usernames) as typed by people: "jmartin001"."""

from __future__ import annotations

import re
import unicodedata

from bridge.domain.errors import InvalidInput

_IDENTIFIER = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


class InvalidIdentifier(InvalidInput):
    code = "identifier.format"


def normalize_identifier(raw: str) -> str:
    """Trimmed and lowercased (people type JMartin001); InvalidIdentifier otherwise."""
    value = raw.strip().lower()
    if not value:
        raise InvalidIdentifier("empty", code="identifier.required")
    if not _IDENTIFIER.fullmatch(value):
        raise InvalidIdentifier("not an identifier")
    return value


# --- Generation (SPEC "Account data"): initial + surname + 3-digit counter -------------

SURNAME_LENGTH = 10  # letters of the surname kept: "jvandenbroucke" -> "jvandenbrou"
_GENERATED = re.compile(r"([a-z]+)(\d{3,})")


def fold(text: str) -> str:
    """Lowercase ASCII letters only: accents folded, everything else dropped."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return "".join(c for c in ascii_only if "a" <= c <= "z")


def identifier_prefix(first_name: str, last_name: str) -> str:
    """ "Jean", "Martin" -> "jmartin"; InvalidIdentifier when the names fold to nothing."""
    initial = fold(first_name)[:1]
    surname = fold(last_name)[:SURNAME_LENGTH]
    if not surname:
        raise InvalidIdentifier("no letter left in the surname", code="identifier.no_letters")
    return initial + surname


def split_generated(username: str) -> tuple[str, int] | None:
    """("jmartin", 1) for "jmartin001"; None for an identifier not of that shape."""
    match = _GENERATED.fullmatch(username)
    return (match.group(1), int(match.group(2))) if match else None


class IdentifierAllocator:
    """Hands out never-used identifiers: the next counter after the highest one ever seen
    for the prefix (accounts are never deleted, so the realm remembers every one)."""

    def __init__(self) -> None:
        self._highest: dict[str, int] = {}
        self._taken: set[str] = set()

    def seen(self, username: str) -> None:
        self._taken.add(username)
        parts = split_generated(username)
        if parts:
            prefix, counter = parts
            self._highest[prefix] = max(counter, self._highest.get(prefix, 0))

    def is_taken(self, username: str) -> bool:
        return username in self._taken

    def allocate(self, first_name: str, last_name: str) -> str:
        prefix = identifier_prefix(first_name, last_name)
        counter = self._highest.get(prefix, 0)
        while True:
            counter += 1
            candidate = f"{prefix}{counter:03d}"
            if candidate not in self._taken:
                self.seen(candidate)
                return candidate
