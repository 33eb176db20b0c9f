"""The web bridge: student self-service pages, the example portal, probes."""

from __future__ import annotations

import datetime as dt
import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bridge.domain.deadlines import PARIS
from bridge.domain.errors import ServiceUnavailable
from bridge.gateway.keycloak import KeycloakGateway
from bridge.settings import Settings
from bridge.web import activation, console, devmail, health, lost_password, pages, portal
from bridge.web.console_session import SessionBox
from bridge.web.csrf import csrf_field
from bridge.web.ratelimit import AddressLimiter
from bridge.web.security import (
    BodyLimitMiddleware,
    NoStoreMiddleware,
    RequestTooLarge,
    SecurityHeadersMiddleware,
    security_headers,
)
from bridge.web.templating import make_templates, render

log = logging.getLogger("bridge")

ERROR_TITLES = {
    400: "Requête invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    413: "Requête trop volumineuse",
}
MAX_BODY = 64 * 1024  # bytes: the largest form (a staff reason) is a few hundred


def create_app(
    settings: Settings | None = None, gateway: KeycloakGateway | None = None
) -> Starlette:
    settings = settings or Settings.from_env()
    gateway = gateway or KeycloakGateway.for_client(
        settings.keycloak_url, settings.realm, settings.client_id, settings.client_secret
    )

    routes = [
        Route("/", pages.home, name="home"),
        Route("/help", pages.help_page, name="help"),
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/activation", activation.identifier, methods=["GET", "POST"], name="activation"),
        Route("/activation/mail-sent", activation.mail_sent),
        Route("/activation/resend", activation.resend, methods=["POST"]),
        Route("/activation/ine", activation.ine, methods=["GET", "POST"]),
        Route("/activation/rescue-email", activation.rescue_email, methods=["GET", "POST"]),
        Route("/lost-password", lost_password.lost_password, methods=["GET", "POST"]),
        Route("/lost-password/mail-sent", lost_password.mail_sent),
        # One stylesheet for Keycloak's pages and ours: served from the theme itself.
        Mount(
            "/static/theme",
            StaticFiles(directory=settings.theme_dir / "login" / "resources"),
            name="theme",
        ),
    ]
    if settings.portal_client_secret:
        routes += [
            Route("/portal", portal.portal, name="portal"),
            Route("/portal/login", portal.login),
            Route("/portal/callback", portal.callback),
            Route("/portal/password", portal.change_password),
            Route("/portal/logout", portal.logout, methods=["POST"]),
        ]
    if settings.console_client_secret:
        routes += [
            Route("/console", console.search, name="console"),
            Route("/console/login", console.login),
            Route("/console/callback", console.callback),
            Route("/console/logout", console.logout, methods=["POST"]),
            Route("/console/accounts/{user_id}", console.account),
            Route(
                "/console/accounts/{user_id}/show-rescue-email",
                console.show_rescue_email,
                methods=["POST"],
            ),
            Route("/console/accounts/{user_id}/actions/{action}", console.confirm),
            Route(
                "/console/accounts/{user_id}/actions/{action}", console.perform, methods=["POST"]
            ),
        ]
    if settings.dev_mode and settings.mail_dir:
        routes += [
            Route("/dev/mail", devmail.mail_list, name="dev_mail"),
            Route("/dev/mail/{name}", devmail.mail_detail),
        ]

    middleware = [
        Middleware(BodyLimitMiddleware, max_bytes=MAX_BODY),
        Middleware(NoStoreMiddleware, prefix="/console"),
        Middleware(
            SecurityHeadersMiddleware, hsts=settings.https, form_targets=(settings.keycloak_url,)
        ),
        Middleware(
            SessionMiddleware,
            secret_key=settings.session_secret,
            session_cookie="um_session",
            https_only=settings.https,
            same_site="lax",
            max_age=4 * 3600,
        ),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return render_error(
            request, exc.status_code, ERROR_TITLES.get(exc.status_code, "Erreur"), ""
        )

    async def too_large(request: Request, exc: Exception) -> Response:
        return render_error(request, 413, ERROR_TITLES[413], "Le formulaire envoyé est trop long.")

    async def service_unavailable(request: Request, exc: Exception) -> Response:
        log.warning("service unavailable: %s", exc)
        return render_error(
            request,
            503,
            "Service momentanément indisponible",
            "Le service des comptes ne répond pas pour le moment. Rien n'a été modifié : "
            "réessayez dans quelques minutes.",
        )

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        response = render_error(
            request,
            500,
            "Erreur interne",
            "Une erreur inattendue s'est produite. Réessayez plus tard.",
        )
        # Starlette answers a 500 outside the middleware stack: the headers are added here.
        for name, value in security_headers(
            hsts=settings.https, form_targets=(settings.keycloak_url,)
        ):
            response.headers[name.decode()] = value.decode()
        return response

    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers={
            HTTPException: http_error,
            RequestTooLarge: too_large,
            ServiceUnavailable: service_unavailable,
            Exception: server_error,
        },
    )
    app.state.settings = settings
    app.state.gateway = gateway
    # "Now" for every deadline and daily counter; tests replace it.
    app.state.clock = lambda: dt.datetime.now(PARIS)
    app.state.address_limiter = AddressLimiter(*settings.address_limit)
    app.state.templates = make_templates()
    app.state.templates.env.globals.update(
        university_name=settings.university_name,
        support_url=settings.support_url,
        desk_room=settings.desk_room,
        desk_hours=settings.desk_hours,
        csrf_field=csrf_field,
        dev_mode=settings.dev_mode,
        portal_enabled=bool(settings.portal_client_secret),
    )
    if settings.portal_client_secret:
        app.state.oauth = portal.make_oauth(settings)
    if settings.console_client_secret:
        app.state.console_oauth = console.make_oauth(settings)
        app.state.console_box = SessionBox(settings.session_secret)
    return app


def render_error(request: Request, status: int, title: str, message: str) -> Response:
    accept = request.headers.get("accept", "")
    if "application/json" in accept and "text/html" not in accept:
        return JSONResponse({"error": title}, status_code=status)
    return render(request, "error.html", {"title": title, "message": message}, status_code=status)
