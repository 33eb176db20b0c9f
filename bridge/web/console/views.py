"""The staff console's pages (F7): find a student, see the account, confirm and perform an
action. Behind StaffAuthentication (auth.py): every read and write of a student goes out
with the console's service account, which Keycloak confines to the members of `students`;
each action and each reveal is recorded with the staff member's identifier."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bridge.domain.accounts import Account, mask_email
from bridge.domain.console import (
    Action,
    StaffRecord,
    allowed_actions,
    may_anonymise,
    state_of,
)
from bridge.domain.deadlines import PARIS
from bridge.domain.errors import AccountNotFound, NotAllowed, ServiceUnavailable
from bridge.domain.ine import InvalidIne, parse_ine
from bridge.domain.lifecycle import is_expired
from bridge.flows.limits import mails_today_key
from bridge.flows.outcomes import Invalid, Limited, Refused, Unavailable
from bridge.flows.staff_actions import KeyIssued, StaffForm, refusal, reveal_rescue_email
from bridge.flows.staff_actions import perform as perform_action
from bridge.i18n import format_date, gettext
from bridge.web.answers import limit_page, unavailable
from bridge.web.console import retention, words
from bridge.web.console.auth import error_page, is_administrator, staff_gateway_of, staff_of
from bridge.web.csrf import require_csrf
from bridge.web.metrics import metrics_of
from bridge.web.requests import (
    audit_of,
    counters_of,
    field,
    link_policy_of,
    now_of,
    settings_of,
    today_of,
)
from bridge.web.templating import render

log = logging.getLogger("bridge.console")

PAGE_SIZE = 20
_USER_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_STUDENT_NUMBER = re.compile(r"[0-9A-Za-z]{1,32}")
_ACTION_VALUES = {a.value for a in Action}


# --- search ----------------------------------------------------------------------------


def _search_error(text: str, kind: str) -> tuple[str | None, str]:
    """(error code or None, the query to send)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        # Keycloak answers 400 to a NUL in a query; none of them belongs in a name anyway.
        return "search.control", text
    if kind == "ine":
        try:
            return None, parse_ine(text).value
        except InvalidIne:
            return "search.ine", text
    if kind == "student_number" and not _STUDENT_NUMBER.fullmatch(text):
        return "search.student_number", text
    return None, text


async def search(request: Request) -> Response:
    text = " ".join(request.query_params.get("q", "").split())[:100]
    kind = request.query_params.get("by", "name")
    kind = kind if kind in words.SEARCH_KINDS else "name"
    page_text = request.query_params.get("page", "1")
    # isdigit() alone would let "²" or a 5,000-digit number through to int().
    valid_page = re.fullmatch(r"[0-9]{1,4}", page_text) and 0 < int(page_text) <= 1000
    page = int(page_text) if valid_page else 1
    kinds = {value: gettext(label) for value, label in words.SEARCH_KINDS.items()}
    context: dict[str, Any] = {"q": text, "by": kind, "kinds": kinds, "page": page}
    if not text:
        return render(request, "console/search.html", context)
    error, query = _search_error(text, kind)
    if error:
        context["error"] = gettext(words.ERRORS[error])
        return render(request, "console/search.html", context, 400)
    found = await staff_gateway_of(request).search_accounts(
        query, kind, first=(page - 1) * PAGE_SIZE, count=PAGE_SIZE + 1
    )
    today = today_of(request)
    rows = [(account, _validity(account, today)) for account in found[:PAGE_SIZE]]
    return render(
        request,
        "console/search.html",
        {**context, "rows": rows, "has_next": len(found) > PAGE_SIZE, "searched": True},
    )


def _validity(account: Account, today: dt.date) -> str:
    """What a result line can say without reading credentials (the account page says more)."""
    until = account.valid_until
    if until is not None and is_expired(until, today):
        return gettext("Expiré le %(date)s") % {"date": format_date(until)}
    if not account.enabled:
        return gettext("Désactivé")
    if until is None:
        return gettext("Valide")
    return gettext("Valide jusqu'au %(date)s") % {"date": format_date(until)}


# --- the account page ------------------------------------------------------------------


async def _student(request: Request) -> tuple[Account, StaffRecord | None]:
    """The account, if the staff member may act on it: NotAllowed for a staff account
    even when Keycloak would allow it (a staff member who is also in `students`)."""
    user_id = str(request.path_params["user_id"])
    if not _USER_ID.fullmatch(user_id):
        raise AccountNotFound("not a user id")
    account, record = await staff_gateway_of(request).console_account(user_id)
    audit = audit_of(request)
    if await audit.is_staff_or_admin(user_id):
        raise NotAllowed("a staff or administrator account")
    last_mail = await audit.last_action_mail(user_id)
    return dataclasses.replace(account, last_mail_at=last_mail), record


async def _account_page(
    request: Request, account: Account, record: StaffRecord | None, *, reveal: bool = False
) -> Response:
    today = today_of(request)
    state = state_of(account, today, record.action if record else None)
    audit = audit_of(request)
    history = await audit.staff_history(account.id)
    last_login = await audit.last_login(account.id)
    notice = request.session.pop("console_notice", None)
    actions = allowed_actions(state, administrator=await is_administrator(request))
    years = settings_of(request).retention_years
    # Offered only once the retention period has run (the action checks it again).
    actions = tuple(
        a for a in actions if a is not Action.ANONYMISE or may_anonymise(account, today, years)
    )
    done = Action(notice) if notice in _ACTION_VALUES else None
    return render(
        request,
        "console/account.html",
        {
            "account": account,
            "state": state,
            "state_words": gettext(words.STATES[state]),
            "masked_email": mask_email(account.rescue_email) if account.rescue_email else None,
            "reveal": reveal,
            "pending": [gettext(words.PENDING[a]) for a in account.required_actions],
            "mails_today": await _mails_today(request, account),
            "last_login": last_login.astimezone(PARIS) if last_login else None,
            "last_link": account.last_mail_at.astimezone(PARIS) if account.last_mail_at else None,
            "history": [
                (
                    entry.record.at.astimezone(PARIS),
                    gettext(words.DONE[entry.record.action]),
                    entry.record.reason,
                    entry.actor or gettext(words.DELETED_ACCOUNT) % {"id": entry.actor_id[:8]},
                )
                for entry in history
            ],
            "actions": [(a.value, gettext(words.LABELS[a])) for a in actions],
            "notice": gettext(words.NOTICES[done]) if done in words.NOTICES else None,
        },
    )


async def account(request: Request) -> Response:
    found, record = await _student(request)
    return await _account_page(request, found, record)


async def show_rescue_email(request: Request) -> Response:  # POST: the reveal is recorded
    await require_csrf(request)
    found, _ = await _student(request)
    record = await reveal_rescue_email(
        staff_gateway_of(request), found, now_of(request), by=staff_of(request).username
    )
    return await _account_page(request, found, record, reveal=True)


# --- actions: a confirmation page (GET), then the action (POST) -----------------------


def _action(request: Request) -> Action:
    raw = str(request.path_params["action"])
    if raw not in _ACTION_VALUES or raw == Action.SHOW_RESCUE_EMAIL.value:
        raise AccountNotFound("no such action")
    return Action(raw)


def _refusal_page(
    request: Request, refused: Refused, action: Action, found: Account, last: StaffRecord | None
) -> Response:
    state = state_of(found, today_of(request), last.action if last else None)
    return error_page(
        request,
        409,
        refused.code,
        action=gettext(words.LABELS[action]),
        state=gettext(words.STATES[state]),
    )


def _confirm_page(
    request: Request,
    action: Action,
    found: Account,
    *,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "console/confirm.html",
        {
            "account": found,
            "action": action.value,
            "action_words": gettext(words.LABELS[action]),
            "error": gettext(words.ERRORS[error]) if error else None,
            # which field the error summary links to (console/confirm.html)
            "error_code": error,
            "values": values or {},
        },
        status_code=400 if error else 200,
    )


async def confirm(request: Request) -> Response:
    action = _action(request)
    found, last = await _student(request)
    if action is Action.ANONYMISE:
        return await retention.confirm(request, found, last)
    refused = refusal(action, found, last, today_of(request))
    if refused:
        return _refusal_page(request, refused, action, found, last)
    return _confirm_page(request, action, found)


async def perform(request: Request) -> Response:
    await require_csrf(request)
    action = _action(request)
    found, last = await _student(request)
    if action is Action.ANONYMISE:
        return await retention.perform(request, found, last)
    form = await request.form()
    values = {"reason": field(form, "reason", 400), "email": field(form, "email")}
    outcome = await perform_action(
        staff_gateway_of(request),
        found,
        last,
        action,
        StaffForm(values["reason"], values["email"], field(form, "email_confirm")),
        now=now_of(request),
        university_domains=settings_of(request).university_domains,
        policy=link_policy_of(request, reader_locale=False),
        by=staff_of(request).username,
    )
    if action is Action.SEND_ACTIVATION_MAIL and not isinstance(outcome, KeyIssued):
        metrics_of(request).mail("staff_activation", outcome)
    if isinstance(outcome, Refused):
        return _refusal_page(request, outcome, action, found, last)
    if isinstance(outcome, Invalid):
        return _confirm_page(request, action, found, error=outcome.code, values=values)
    if isinstance(outcome, Limited):
        return limit_page(request, outcome, f"/console/accounts/{found.id}")
    if isinstance(outcome, Unavailable):
        raise unavailable(outcome)
    if isinstance(outcome, KeyIssued):
        # Shown once, on a printable letter: the key is nowhere else.
        return render(request, "console/letter.html", {"account": found, "key": outcome.key})
    log.info("console action %s by %s", action.value, staff_of(request).username)
    request.session["console_notice"] = action.value
    return RedirectResponse(f"/console/accounts/{found.id}", status_code=303)


async def _mails_today(request: Request, account: Account) -> int | None:
    """None when the counters are down: the page still serves the actions that need none
    (an activation key, a reset), which is what the desk falls back on then."""
    try:
        return await counters_of(request).count(mails_today_key(account.id, now_of(request)))
    except ServiceUnavailable:
        return None
