"""The bridge's error pages: the same answer for the same failure wherever it happens, in
the reader's language, with the security headers, and never a trace."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bridge.domain.errors import ServiceUnavailable
from bridge.i18n import N_, gettext
from bridge.web.requests import settings_of
from bridge.web.security import RequestTooLarge, security_headers
from bridge.web.templating import render

log = logging.getLogger("bridge")

TITLES = {
    400: N_("Requête invalide"),
    403: N_("Accès refusé"),
    404: N_("Page introuvable"),
    405: N_("Méthode non autorisée"),
    413: N_("Requête trop volumineuse"),
    500: N_("Erreur interne"),
    503: N_("Service momentanément indisponible"),
}
MESSAGES = {
    413: N_("Le formulaire envoyé est trop long."),
    500: N_("Une erreur inattendue s'est produite. Réessayez plus tard."),
    503: N_(
        "Le service des comptes ne répond pas pour le moment. Rien n'a été modifié : "
        "réessayez dans quelques minutes."
    ),
}


def render_error(request: Request, status: int) -> Response:
    title = gettext(TITLES.get(status, N_("Erreur")))
    message = gettext(MESSAGES[status]) if status in MESSAGES else ""
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return JSONResponse({"error": title}, status_code=status)
    return render(request, "error.html", {"title": title, "message": message}, status_code=status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return render_error(request, exc.status_code)


async def too_large(request: Request, exc: Exception) -> Response:
    return render_error(request, 413)


async def service_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("service unavailable: %s", exc)
    return render_error(request, 503)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    response = render_error(request, 500)
    # Starlette answers a 500 outside the middleware stack: the headers are added here.
    settings = settings_of(request)
    for name, value in security_headers(hsts=settings.https, form_targets=(settings.keycloak_url,)):
        response.headers[name.decode()] = value.decode()
    return response


HANDLERS = {
    HTTPException: http_error,
    RequestTooLarge: too_large,
    ServiceUnavailable: service_unavailable,
    Exception: server_error,
}
