"""The staff activation dashboard (issue 18, docs/dashboard.md): for a period, the
activation funnel and what went wrong, as charts drawn on the server (inline SVG, no
script) with the same numbers in tables, and a CSV. Behind StaffAuthentication like the
rest of the console. Counts only: no identifier, address or INE is read into the page."""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from bridge.domain.dashboard import (
    FUNNEL,
    MEASURES,
    OTHERS,
    PRESETS,
    InvalidPeriod,
    Period,
    csv_rows,
    daily_chart,
    funnel_chart,
    parse_period,
)
from bridge.flows.dashboard import Dashboard, assemble
from bridge.i18n import N_, format_date, gettext
from bridge.web.requests import audit_of, settings_of, today_of
from bridge.web.templating import render

LABELS = {
    "lookups": N_("Identifiants saisis à l'étape 1"),
    "mails_sent": N_("Mails d'activation envoyés"),
    "links_opened": N_("Liens des mails utilisés"),
    "passwords_set": N_("Mots de passe choisis"),
    "first_sign_ins": N_("Premières connexions"),
    "ine_failures": N_("INE refusés"),
    "limit_refusals": N_("Demandes refusées par une limite"),
    "lost_password_requests": N_("Demandes de mot de passe perdu"),
    "accounts_locked": N_("Comptes bloqués après trop d'essais"),
    "accounts_expired": N_("Comptes expirés"),
    "accounts_reenabled": N_("Comptes réactivés"),
}
PRESET_LABELS = {
    "today": N_("Aujourd'hui"),
    "7d": N_("7 derniers jours"),
    "30d": N_("30 derniers jours"),
    "rentree": N_("Depuis la rentrée"),
}
ERRORS = {
    "period.format": N_("Saisissez les dates au format AAAA-MM-JJ (par exemple 2026-09-01)."),
    "period.missing": N_(
        "Saisissez la date de début et la date de fin, ou choisissez une période."
    ),
    "period.order": N_("La date de fin doit être le même jour que la date de début, ou après."),
    "period.future": N_("La date de fin ne peut pas dépasser aujourd'hui."),
    "period.too_long": N_("La période ne peut pas dépasser 400 jours."),
    "period.preset": N_("Cette période prédéfinie n'existe pas : choisissez-en une de la liste."),
}
# Which field the error summary points at.
ERROR_FIELDS = {"period.order": "um-dashboard-to", "period.future": "um-dashboard-to"}


def _period(request: Request) -> Period:
    params = request.query_params
    preset = params.get("preset")
    if preset is not None and preset not in PRESETS:
        raise InvalidPeriod("period.preset")
    return parse_period(params.get("from"), params.get("to"), preset, today_of(request))


async def _dashboard(request: Request, period: Period) -> Dashboard:
    activity = request.app.state.activity
    return await assemble(
        period,
        activity,
        audit_of(request),
        today=today_of(request),
        # The console's own sign-ins are staff's, never a student's first.
        skip_clients=frozenset({settings_of(request).console_client_id}),
    )


def _form(request: Request) -> dict[str, Any]:
    params = request.query_params
    return {
        "presets": [(value, gettext(label)) for value, label in PRESET_LABELS.items()],
        "from_value": params.get("from", "")[:10],
        "to_value": params.get("to", "")[:10],
    }


async def page(request: Request) -> Response:
    try:
        period = _period(request)
    except InvalidPeriod as error:
        context = {
            **_form(request),
            "error": gettext(ERRORS[error.code]),
            "error_field": ERROR_FIELDS.get(error.code, "um-dashboard-from"),
        }
        return render(request, "console/dashboard.html", context, status_code=400)
    board = await _dashboard(request, period)
    labels = {m: gettext(LABELS[m]) for m in MEASURES}
    series = {m: daily_chart([(d.day, d.counts.get(m, 0)) for d in board.days]) for m in MEASURES}
    context = {
        **_form(request),
        "from_value": period.first.isoformat(),
        "to_value": period.last.isoformat(),
        "board": board,
        "labels": labels,
        "funnel_measures": FUNNEL,
        "other_measures": OTHERS,
        "funnel_chart": funnel_chart(board.funnel),
        "series": series,
        "first_words": format_date(period.first),
        "last_words": format_date(period.last),
        "events_since_words": format_date(board.events_since),
        "csv_query": f"from={period.first.isoformat()}&to={period.last.isoformat()}",
    }
    return render(request, "console/dashboard.html", context)


async def csv_export(request: Request) -> Response:
    try:
        period = _period(request)
    except InvalidPeriod as error:
        return Response(
            gettext(ERRORS[error.code]) + "\n",
            status_code=400,
            media_type="text/plain; charset=utf-8",
        )
    board = await _dashboard(request, period)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(csv_rows(board.days))
    name = f"tableau-de-bord-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
