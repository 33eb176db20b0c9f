"""The rescue ("secours") email: a personal address, never the university's own."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bridge.domain.errors import InvalidInput

# Deliberately plain: one @, no spaces or control characters, a dotted domain of letters,
# digits and hyphens. Keycloak's own email validator runs again when it is stored.
_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def is_email_address(address: str) -> bool:
    """The shape every address of ours must have (rescue or institutional)."""
    return len(address) <= 254 and ".." not in address and bool(_ADDRESS.fullmatch(address))


class InvalidRescueEmail(InvalidInput):
    code = "email.format"


def validate_rescue_email(
    address: str, confirmation: str, university_domains: Iterable[str]
) -> str:
    """The address, trimmed and with its domain lowercased; or InvalidRescueEmail with
    code email.required, email.format, email.university or email.mismatch."""
    address = address.strip()
    if not address:
        raise InvalidRescueEmail("empty", code="email.required")
    if not is_email_address(address):
        raise InvalidRescueEmail("not an email address", code="email.format")
    local, _, domain = address.rpartition("@")
    domain = domain.lower()
    for own in university_domains:
        own = own.lower().strip(".")
        if own and (domain == own or domain.endswith("." + own)):
            raise InvalidRescueEmail(own, code="email.university")
    normalized = f"{local}@{domain}"
    if confirmation.strip().lower() != normalized.lower():
        raise InvalidRescueEmail("the two addresses differ", code="email.mismatch")
    return normalized
