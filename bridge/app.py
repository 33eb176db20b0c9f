"""The web bridge: student self-service pages, the staff console, the example portal,
probes. create_app() only assembles; each part lives in its own package under web/."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from bridge.domain.deadlines import PARIS
from bridge.domain.errors import ServiceUnavailable
from bridge.flows.counters import MemoryCounters
from bridge.gateway.activity_counts import ActivityCounts
from bridge.gateway.job_runs import JobRecords
from bridge.gateway.keycloak import AuditReader, StaffGateway, StudentsGateway
from bridge.gateway.redis_counters import RedisCounters
from bridge.gateway.smtp import Mailer
from bridge.settings import Settings, SettingsError, SmtpSettings
from bridge.web import background, console, devmail, errors, health, metrics, portal, students
from bridge.web.console.auth import make_oauth as console_oauth
from bridge.web.console.auth import make_sign_in
from bridge.web.console.session import SessionBox
from bridge.web.csrf import csrf_field
from bridge.web.locales import LocaleMiddleware
from bridge.web.security import BodyLimitMiddleware, NoStoreMiddleware, SecurityHeadersMiddleware
from bridge.web.templating import make_templates

MAX_BODY = 64 * 1024  # bytes: the largest form (a staff reason) is a few hundred
# What browsers and proxies may cache: the stylesheet and the probes; every page is no-store.
NOT_PAGES = ("/static", "/healthz", "/readyz", "/metrics")


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    # Mails started off the request path (lost password) end before the process does.
    await background.drain(app.state.background)
    if app.state.activity is not None:  # the dashboard's counts still in memory
        with contextlib.suppress(ServiceUnavailable):
            await app.state.activity.flush()


def create_app(
    settings: Settings | None = None,
    gateway: StudentsGateway | None = None,
    smtp: SmtpSettings | None = None,
) -> Starlette:
    settings = settings or Settings.from_env()
    service_account = (
        settings.keycloak_backchannel_url,
        settings.realm,
        settings.client_id,
        settings.client_secret,
    )
    theme = StaticFiles(directory=settings.theme_dir / "login" / "resources")
    # The jobs' outcomes are read from the store the replicas share (docs/operations.md).
    measures = metrics.Metrics(JobRecords(settings.redis_url) if settings.redis_url else None)
    routes: list[BaseRoute] = [
        *students.routes,
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        # For the internal network's Prometheus: the public proxy refuses the path.
        Route("/metrics", metrics.endpoint),
        # One stylesheet for Keycloak's pages and ours: served from the theme itself.
        Mount("/static/theme", theme, name="theme"),
    ]
    if settings.portal_client_secret:
        routes += portal.routes
    if settings.console_client_secret:
        routes += console.routes
    if settings.dev_mode and settings.mail_dir:
        routes += devmail.routes
    middleware = [
        Middleware(metrics.MetricsMiddleware, metrics=measures, routes=routes),
        Middleware(BodyLimitMiddleware, max_bytes=MAX_BODY),
        Middleware(NoStoreMiddleware, exempt=NOT_PAGES),
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
        # Inside the session: the account's language, once known, is kept there.
        Middleware(LocaleMiddleware, https=settings.https),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=errors.HANDLERS,
        lifespan=lifespan,
    )
    state = app.state
    state.background = set()  # bridge.web.background: tasks kept until they end
    state.settings = settings
    state.metrics = measures
    state.counters = RedisCounters(settings.redis_url) if settings.redis_url else MemoryCounters()
    # Every writer of an account takes turns in the shared store (Gateway.serialize_writes).
    state.gateway = gateway or (
        StudentsGateway.service_account(*service_account)
        .serialize_writes(state.counters)
        .observe(measures.keycloak_call)
    )
    state.mailer = Mailer(smtp or SmtpSettings.from_env())  # notices Keycloak does not send
    state.clock = lambda: dt.datetime.now(PARIS)  # "now" for deadlines and counters; tests set it
    # The staff dashboard's counts, shared by the replicas (docs/dashboard.md).
    state.activity = ActivityCounts(settings.redis_url) if settings.redis_url else None
    if state.activity is not None:
        activity = state.activity
        measures.activity = lambda name, count: activity.add(name, state.clock(), count)
    state.templates = make_templates()
    state.templates.env.globals.update(
        support_url=settings.support_url,
        csrf_field=csrf_field,
        dev_mode=settings.dev_mode,
        portal_enabled=bool(settings.portal_client_secret),
    )
    if settings.portal_client_secret:
        state.oauth = portal.make_oauth(settings)
    if settings.console_client_secret:
        state.console_oauth = console_oauth(settings)
        state.staff_sign_in = make_sign_in(settings)
        if not settings.console_session_secret:
            raise SettingsError("the console needs UM_CONSOLE_SESSION_SECRET (README.md)")
        state.console_box = SessionBox(settings.console_session_secret)
        # The console acts with its own service account, scoped like the bridge's to the
        # members of `students`; a staff member's token carries no administration right.
        console_account = (
            settings.keycloak_backchannel_url,
            settings.realm,
            settings.console_client_id,
            settings.console_client_secret,
        )
        state.staff_gateway = (
            StaffGateway.service_account(*console_account)
            .serialize_writes(state.counters)
            .observe(measures.keycloak_call)
        )
        state.audit = AuditReader.service_account(*console_account).observe(measures.keycloak_call)
    return app
