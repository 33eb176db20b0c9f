"""Student identifiers (usernames) as typed by people: "jmartin001"."""

from __future__ import annotations

import re

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
