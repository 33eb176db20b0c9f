"""What a use case can come to, as data. Each carries a stable code (the pages pick the
sentence in the reader's language; tests assert on the code)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Sent:
    """A day-bounded link left for the rescue address."""

    masked_address: str
    deadline: dt.datetime


@dataclass(frozen=True)
class Limited:
    """A limit says not now. code: mail.too_soon (retry_after seconds), mail.daily_limit,
    mail.day_over, ine.locked."""

    code: str
    retry_after: int | None = None


@dataclass(frozen=True)
class Invalid:
    """Input that can never be right as typed; the form comes back with the code's message.
    Nothing was written."""

    code: str


@dataclass(frozen=True)
class Refused:
    """The request is well formed but does not apply to this account (its state, its
    kind). Nothing was written."""

    code: str


@dataclass(frozen=True)
class Unavailable:
    """Keycloak or its mail server failed at the step that mattered; nothing was counted."""

    detail: str = ""


@dataclass(frozen=True)
class Notified:
    """A plain notice (no link) left for the rescue address. code: the notice's."""

    code: str
