"""The console's "Anonymiser" (retention, docs/console.md): a staff administrator, on an
account expired for long enough, reads exactly what goes and what stays, types the
identifier, and the account is anonymised; the result page says it again. Anyone else: 403.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from bridge.domain.accounts import Account
from bridge.domain.console import StaffRecord
from bridge.domain.retention import anonymise_refusal, is_anonymised
from bridge.flows.outcomes import Invalid, Refused
from bridge.flows.retention import NOT_ADMINISTRATOR, Anonymised, anonymise
from bridge.i18n import gettext
from bridge.web.console import words
from bridge.web.console.auth import error_page, is_administrator, staff_gateway_of, staff_of
from bridge.web.csrf import require_csrf
from bridge.web.requests import field, now_of, settings_of, today_of
from bridge.web.templating import render

log = logging.getLogger("bridge.console")


def _refused(request: Request, code: str) -> Response:
    status = 403 if code == NOT_ADMINISTRATOR else 409
    return error_page(request, status, code, years=str(settings_of(request).retention_years))


def _result(request: Request, found: Account, *, already: bool) -> Response:
    return render(
        request,
        "console/anonymised.html",
        {"account": found, "already": already, "years": settings_of(request).retention_years},
    )


def _confirm_page(
    request: Request, found: Account, *, error: str | None = None, reason: str = ""
) -> Response:
    return render(
        request,
        "console/anonymise.html",
        {
            "account": found,
            "years": settings_of(request).retention_years,
            "error": gettext(words.ERRORS[error]) if error else None,
            "error_code": error,
            "reason": reason,
        },
        status_code=400 if error else 200,
    )


async def confirm(request: Request, found: Account, last: StaffRecord | None) -> Response:
    if not await is_administrator(request):
        return _refused(request, NOT_ADMINISTRATOR)
    if is_anonymised(found):
        return _result(request, found, already=True)
    refused = anonymise_refusal(found, today_of(request), settings_of(request).retention_years)
    if refused:
        return _refused(request, refused)
    return _confirm_page(request, found)


async def perform(request: Request, found: Account, last: StaffRecord | None) -> Response:
    await require_csrf(request)
    form = await request.form()
    reason = field(form, "reason", 400)
    outcome = await anonymise(
        staff_gateway_of(request),
        found,
        administrator=await is_administrator(request),
        typed_identifier=field(form, "identifier", 200),
        reason=reason,
        now=now_of(request),
        years=settings_of(request).retention_years,
        by=staff_of(request).username,
    )
    if isinstance(outcome, Refused):
        return _refused(request, outcome.code)
    if isinstance(outcome, Invalid):
        return _confirm_page(request, found, error=outcome.code, reason=reason)
    if not outcome.already:
        log.info("console action anonymise by %s", staff_of(request).username)
    done = await staff_gateway_of(request).console_account(found.id)
    return _result(request, done[0], already=outcome.already)


__all__ = ["Anonymised", "confirm", "perform"]
