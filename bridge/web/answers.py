"""Outcomes every page answers the same way: a limit (429 with Retry-After), the service
unavailable (the 503 page, raised so that one handler words it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bridge.domain.errors import ServiceUnavailable
from bridge.flows.outcomes import Limited, Unavailable
from bridge.i18n import N_, gettext
from bridge.web.templating import render

LIMITS = {
    "mail.too_soon": N_(
        "Un mail vient de vous être envoyé. Patientez %(retry_after)s secondes avant d'en "
        "demander un autre, et pensez à vérifier vos courriers indésirables."
    ),
    "mail.daily_limit": N_(
        "Vous avez atteint le nombre maximal de mails pour aujourd'hui. Réessayez demain, ou "
        "contactez votre service de scolarité."
    ),
    "mail.day_over": N_(
        "Il est trop tard pour recevoir un lien aujourd'hui : il expire à 23h59. Recommencez "
        "après minuit."
    ),
    "ine.locked": N_(
        "Trop de numéros INE incorrects aujourd'hui : cette étape est bloquée jusqu'à demain. "
        "Si besoin, contactez votre service de scolarité."
    ),
    "mail.busy": N_(
        "Le service envoie beaucoup de mails en ce moment. Réessayez dans une minute : rien "
        "n'a été envoyé ni compté."
    ),
    "address": N_("Trop de demandes depuis votre connexion. Réessayez dans quelques minutes."),
}


def limit_page(request: Request, limited: Limited, restart_url: str) -> Response:
    message = gettext(LIMITS[limited.code]) % {"retry_after": limited.retry_after}
    response = render(
        request,
        "limit.html",
        {"message": message, "code": limited.code, "restart_url": restart_url},
        status_code=429,
    )
    if limited.retry_after:
        response.headers["Retry-After"] = str(limited.retry_after)
    return response


def unavailable(outcome: Unavailable) -> ServiceUnavailable:
    """To raise: the app's handler answers every outage with the same 503 page."""
    return ServiceUnavailable(outcome.detail)
