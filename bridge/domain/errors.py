"""Errors as data: each carries a stable `code` that pages map to a message in the
student's language, and that tests assert on."""

from __future__ import annotations


class DomainError(Exception):
    code = "error"

    def __init__(self, detail: str = "", *, code: str | None = None) -> None:
        super().__init__(detail or self.code)
        if code is not None:
            self.code = code
        self.detail = detail


class InvalidInput(DomainError):
    """Input that can never be right as typed (format, check key, length)."""

    code = "invalid_input"


class AccountNotFound(DomainError):
    code = "account_not_found"


class Conflict(DomainError):
    """The change clashes with what Keycloak already holds (e.g. an existing username)."""

    code = "conflict"


class Rejected(DomainError):
    """Keycloak refused the change as invalid (password policy, user-profile validator)."""

    code = "rejected"


class ServiceUnavailable(DomainError):
    """Keycloak (or its mail server) cannot be reached or refuses our credentials."""

    code = "service_unavailable"


class NotAllowed(DomainError):
    """Keycloak refused the caller the right to do this (a staff member acting on an
    account outside the students group, a session without the staff role)."""

    code = "not_allowed"


class Overprivileged(DomainError):
    """The credential holds more rights than its part may (least privilege): the job
    refuses to run with it rather than act with power it must not have."""

    code = "overprivileged"
