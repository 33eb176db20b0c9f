"""Outcomes every page answers the same way: a limit (429 with Retry-After), the service
unavailable (the 503 page, raised so that one handler words it)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from bridge.domain.errors import ServiceUnavailable
from bridge.flows.outcomes import Limited, Unavailable
from bridge.i18n import N_, gettext, ngettext
from bridge.web.metrics import metrics_of
from bridge.web.templating import deployment_words, render

LIMITS = {
    "mail.too_soon": N_(
        "Un mail vient de vous être envoyé. Patientez %(wait)s avant d'en "
        "demander un autre, et pensez à vérifier vos courriers indésirables."
    ),
    "mail.daily_limit": N_(
        "Plusieurs mails ont déjà été envoyés aujourd'hui à l'adresse de secours de ce compte : "
        "aucun autre ne partira avant demain. Le lien du dernier mail reçu reste valable "
        "jusqu'à 23h59 ; pensez à vérifier vos courriers indésirables. Sinon, adressez-vous "
        "au personnel de %(desk_name)s ou à votre service de scolarité."
    ),
    "mail.network_limit": N_(
        "Plusieurs mails ont déjà été demandés aujourd'hui pour ce compte depuis votre "
        "connexion : aucun autre ne partira d'ici avant demain. Le lien du dernier mail reçu "
        "reste valable jusqu'à 23h59 ; pensez à vérifier vos courriers indésirables."
    ),
    "mail.day_over": N_(
        "Il est trop tard pour recevoir un lien aujourd'hui : il expire à 23h59. Recommencez "
        "après minuit."
    ),
    "ine.locked": N_(
        "Trop de numéros INE incorrects aujourd'hui depuis votre connexion : cette étape est "
        "bloquée ici jusqu'à demain. Si besoin, contactez votre service de scolarité."
    ),
    "ine.wait": N_(
        "Trop de numéros INE incorrects pour ce compte aujourd'hui. Patientez %(wait)s avant "
        "un nouvel essai."
    ),
    "mail.busy": N_(
        "Le service envoie beaucoup de mails en ce moment. Réessayez dans une minute : rien "
        "n'a été envoyé ni compté."
    ),
    "address": N_("Trop de demandes depuis votre connexion. Réessayez dans quelques minutes."),
}


def _wait(seconds: int) -> str:
    if seconds < 120:
        return ngettext("%(n)d seconde", "%(n)d secondes", seconds) % {"n": seconds}
    minutes = -(-seconds // 60)
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def limit_page(request: Request, limited: Limited, restart_url: str) -> Response:
    metrics_of(request).limited(limited)
    desk_name = deployment_words(request)["desk_name"]
    words = {"wait": _wait(limited.retry_after or 0), "desk_name": desk_name}
    message = gettext(LIMITS[limited.code]) % words
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
