"""What the product knows of a student account, independent of Keycloak's representation."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum

from bridge.domain.supann import primary_affiliation


class RequiredAction(Enum):
    """What an account must do at its next sign-in, in the product's words (the gateway
    maps them to the identity provider's own names)."""

    SET_PASSWORD = "set_password"  # noqa: S105 - a name, not a secret
    CHECK_RESCUE_EMAIL = "check_rescue_email"
    ACCEPT_CHARTER = "accept_charter"
    VERIFY_EMAIL = "verify_email"


@dataclass(frozen=True)
class StudentRecord:
    """One student as the student information system (SIS) exports them."""

    username: str
    first_name: str
    last_name: str
    student_number: str
    ine: str | None = None
    rescue_email: str | None = None
    institutional_email: str | None = None
    last_enrollment_year: int | None = None
    affiliations: tuple[str, ...] = ("student",)
    # identifier@domain (bridge.domain.supann): not in the export, set by provisioning
    # once the identifier is known.
    principal_name: str | None = None

    @property
    def primary_affiliation(self) -> str | None:
        return primary_affiliation(self.affiliations)


@dataclass(frozen=True)
class Account:
    """A Keycloak user as the bridge sees it."""

    id: str
    username: str
    enabled: bool
    first_name: str = ""
    last_name: str = ""
    rescue_email: str | None = None
    rescue_email_verified: bool = False
    ine: str | None = None
    student_number: str | None = None
    institutional_email: str | None = None
    last_enrollment_year: int | None = None
    valid_until: dt.date | None = None
    principal_name: str | None = None
    primary_affiliation: str | None = None
    required_actions: tuple[RequiredAction, ...] = field(default=())
    has_password: bool = False
    # A member of the students group: True or False when read, None when the read that
    # made this account did not look (provisioning always looks: bridge.flows.directory).
    in_students: bool | None = None
    # When the last action mail left (admin-only; what staff see). The limits' counters
    # are not the account's: bridge.flows.limits.
    last_mail_at: dt.datetime | None = None
    # The account's language ("fr", "en"), which Keycloak's mails and pages follow; None
    # when it has none (the realm's default, French).
    locale: str | None = None
    # When a mail to the rescue address came back refused for good (bridge.domain.bounces);
    # None when none did since the address was written. Admin-only.
    rescue_email_bounced: dt.datetime | None = None
    # The one-time INE proof pending on the account (its digest), see bridge.domain.activation

    @property
    def has_rescue_email(self) -> bool:
        return bool(self.rescue_email)

    @property
    def activated(self) -> bool:
        """A password of the student's own choosing: a temporary one (an activation key,
        or a staff reset) still waits for a new password."""
        return self.has_password and RequiredAction.SET_PASSWORD not in self.required_actions


def mask_email(address: str) -> str:
    """j***n@e***e.fr: enough for the owner to recognise it, little for anyone else."""
    local, _, domain = address.partition("@")
    if not domain:
        return "***"

    def mask(part: str) -> str:
        return part[0] + "***" + part[-1] if len(part) > 2 else part[:1] + "***"

    host, dot, tld = domain.rpartition(".")
    masked_domain = mask(host) + dot + tld if dot else mask(domain)
    return f"{mask(local)}@{masked_domain}"
