"""The staff console's rules (pure): an account's state, which actions a state allows,
and the record a staff action leaves on the account. Codes only: the console words them.

The record is an admin-only attribute written with the staff member's own token, so that
Keycloak's admin event for that write names them as the actor (SPEC "Staff console
authority"); the attribute carries what the event cannot: the action and the reason.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import Enum

from bridge.domain.accounts import Account
from bridge.domain.errors import InvalidInput
from bridge.domain.lifecycle import is_expired
from bridge.domain.retention import anonymise_refusal, is_anonymised


class State(Enum):
    PROVISIONED = "provisioned"
    WAITING = "waiting"
    ACTIVE = "active"
    EXPIRED = "expired"
    RESET = "reset"
    DISABLED = "disabled"
    ANONYMISED = "anonymised"


class Action(Enum):
    RESET = "reset"
    SET_RESCUE_EMAIL = "set-rescue-email"
    SEND_ACTIVATION_MAIL = "send-activation-mail"
    ISSUE_ACTIVATION_KEY = "issue-activation-key"
    REENABLE = "re-enable"
    SHOW_RESCUE_EMAIL = "show-rescue-email"
    ANONYMISE = "anonymise"


# Only a staff administrator (realm role `staff-admin`) may do these: the console checks
# the role in the staff member's verified token (docs/console.md, "Administrators").
ADMIN_ACTIONS = frozenset({Action.ANONYMISE})


REASON_MAX = 200


def state_of(account: Account, today: dt.date, last_action: Action | None = None) -> State:
    if is_anonymised(account):
        return State.ANONYMISED
    if account.valid_until is not None and is_expired(account.valid_until, today):
        return State.EXPIRED
    if not account.enabled:
        return State.DISABLED
    if account.activated:
        return State.ACTIVE
    if last_action is Action.RESET:
        return State.RESET
    if account.has_password or account.last_mail_at is not None:
        return State.WAITING  # an activation key, or an activation mail went out
    return State.PROVISIONED


def allowed_actions(state: State, *, administrator: bool = False) -> tuple[Action, ...]:
    """What the account page offers. An expired account comes back through the SIS
    export (re-enrollment), never by hand; a disabled one can be re-enabled only if its
    validity runs (checked by `can_reenable`). An anonymised one is left as it is. An
    administrator may also anonymise an expired account (how long it has been expired:
    `may_anonymise`)."""
    if state is State.ANONYMISED:
        return ()
    if state is State.EXPIRED:
        actions: tuple[Action, ...] = (Action.SET_RESCUE_EMAIL, Action.ANONYMISE)
    elif state is State.DISABLED:
        actions = (Action.REENABLE, Action.SET_RESCUE_EMAIL)
    else:
        actions = (
            Action.RESET,
            Action.SET_RESCUE_EMAIL,
            Action.SEND_ACTIVATION_MAIL,
            Action.ISSUE_ACTIVATION_KEY,
        )
    return tuple(a for a in actions if administrator or a not in ADMIN_ACTIONS)


def may_anonymise(account: Account, today: dt.date, years: int) -> bool:
    """Offered (and done) only once the account has been expired for `years` years."""
    return anonymise_refusal(account, today, years) is None


def can_reenable(account: Account, today: dt.date) -> bool:
    """Only an enrolled student: a validity that has not run out."""
    return account.valid_until is not None and not is_expired(account.valid_until, today)


def clean_reason(raw: str) -> str:
    """The optional reason, one line, bounded; InvalidInput when it is too long."""
    reason = " ".join(raw.split())
    if any(ord(c) < 32 for c in reason):
        raise InvalidInput("control characters", code="console.reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput(f"more than {REASON_MAX} characters", code="console.reason")
    return reason


@dataclass(frozen=True)
class StaffRecord:
    """What the latest staff action wrote on the account (umStaffAction)."""

    action: Action
    at: dt.datetime
    reason: str = ""
    # Who did it, by identifier: the history shows it without reading the staff member's
    # account, which the bridge may not (only students are within its reach).
    by: str = ""

    def encode(self) -> str:
        data = {"action": self.action.value, "at": self.at.isoformat(), "reason": self.reason}
        if self.by:
            data["by"] = self.by
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def decode(cls, raw: str | None) -> StaffRecord | None:
        """None for anything unreadable (an attribute edited by hand is not an error)."""
        if not raw:
            return None
        try:
            data = json.loads(raw)
            at = dt.datetime.fromisoformat(data["at"])
            reason, by = str(data.get("reason") or ""), str(data.get("by") or "")
            return cls(Action(data["action"]), at, reason, by)
        except (ValueError, KeyError, TypeError):
            return None
