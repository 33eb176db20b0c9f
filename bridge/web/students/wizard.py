"""The activation wizard's state: a few typed fields in the signed session cookie (the
account's state and its counters stay in Keycloak). Times come from the app's clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, replace
from typing import Any

SESSION_KEY = "activation"
MAX_AGE = dt.timedelta(minutes=30)  # an abandoned wizard starts again at step 1


@dataclass(frozen=True)
class Wizard:
    user_id: str
    username: str
    touched: float  # POSIX seconds of the last step
    masked: str | None = None  # once a mail left: where to, masked
    deadline: str | None = None  # and until when its link is valid (ISO, Europe/Paris)
    sent_at: str | None = None  # and when it left (ISO): the last of this wizard's sends
    # Which of seed 000's steps sent it, for the page's label: "3", "3-1" (a resend) or "5"
    # (after a new rescue address).
    mail_step: str | None = None
    # After a confirmed INE: the nonce of the one-time proof (bridge.flows.rescue_email);
    # the account holds its digest until one rescue-address write spends it.
    ine_proof: str | None = None

    @classmethod
    def start(cls, user_id: str, username: str, now: dt.datetime) -> Wizard:
        return cls(user_id, username, now.timestamp())

    @classmethod
    def load(cls, session: dict[str, Any], now: dt.datetime) -> Wizard | None:
        """None (and the stale state dropped) when missing, unreadable or too old."""
        raw = session.get(SESSION_KEY)
        try:
            wizard = cls(**raw) if isinstance(raw, dict) else None
        except TypeError:
            wizard = None
        if wizard is None or now.timestamp() - wizard.touched > MAX_AGE.total_seconds():
            session.pop(SESSION_KEY, None)
            return None
        return wizard

    def save(self, session: dict[str, Any]) -> None:
        session[SESSION_KEY] = asdict(self)

    def touch(self, now: dt.datetime, **changes: Any) -> Wizard:
        return replace(self, touched=now.timestamp(), **changes)

    @property
    def ine_confirmed(self) -> bool:
        """Whether step 4-1 may be shown; whether it may write is the account's to say."""
        return bool(self.ine_proof)

    @property
    def mail_deadline(self) -> dt.datetime | None:
        return dt.datetime.fromisoformat(self.deadline) if self.deadline else None

    @property
    def mail_sent_at(self) -> dt.datetime | None:
        return dt.datetime.fromisoformat(self.sent_at) if self.sent_at else None


def forget(session: dict[str, Any]) -> None:
    session.pop(SESSION_KEY, None)
