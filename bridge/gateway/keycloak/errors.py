"""Keycloak's failures as the domain's errors (bridge.domain.errors): pages and jobs never
see an HTTP status or a python-keycloak exception."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

from keycloak.exceptions import (
    KeycloakAuthenticationError,
    KeycloakConnectionError,
    KeycloakError,
)

from bridge.domain.errors import (
    AccountNotFound,
    Conflict,
    NotAllowed,
    Rejected,
    ServiceUnavailable,
)

# A failed call's kind, for the observer of the calls (Gateway.observe): a fixed vocabulary,
# never Keycloak's message.
ERROR_KINDS: tuple[tuple[type[Exception], str], ...] = (
    (ServiceUnavailable, "unavailable"),
    (AccountNotFound, "not_found"),
    (NotAllowed, "not_allowed"),
    (Conflict, "conflict"),
    (Rejected, "rejected"),
)


def error_kind(error: BaseException) -> str:
    return next((kind for cls, kind in ERROR_KINDS if isinstance(error, cls)), "other")


def _error_body(error: KeycloakError) -> tuple[str | None, str]:
    """Keycloak's message key (e.g. invalidPasswordMinLengthMessage, error-invalid-date)
    and its human description, from an error response body."""
    body: Any = error.response_body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    with contextlib.suppress(ValueError, TypeError):
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            key = parsed.get("error") or parsed.get("errorMessage")
            description = parsed.get("error_description") or parsed.get("errorMessage") or ""
            return (str(key) if key else None), str(description)
    return None, str(body or error.error_message)


@contextlib.contextmanager
def domain_errors() -> Iterator[None]:
    """Translate Keycloak failures into domain errors (and nothing else)."""
    try:
        yield
    except (KeycloakConnectionError, KeycloakAuthenticationError) as error:
        # A refused service-account secret is an outage for the student, not their fault.
        raise ServiceUnavailable("Keycloak unreachable or credentials refused") from error
    except KeycloakError as error:
        status = error.response_code
        key, description = _error_body(error)
        if status == 404:
            raise AccountNotFound(description) from error
        if status == 403:
            raise NotAllowed(description) from error
        if status == 409:
            raise Conflict(description) from error
        if status is not None and 400 <= status < 500:
            # The code is Keycloak's message key: pages map it to their own explanation.
            raise Rejected(description, code=key) from error
        raise ServiceUnavailable(f"Keycloak answered {status}") from error
