"""What every page reads from the request and the application: the settings, "now" (the
app's injectable clock), the gateways, the posted form behind CSRF, the per-address limit
and, past its threshold, the proof of work (bridge.web.challenge)."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bridge.domain.deadlines import PARIS
from bridge.domain.errors import ServiceUnavailable
from bridge.flows.action_links import LinkPolicy
from bridge.flows.challenge_policy import proof_needed
from bridge.flows.counters import CounterStore
from bridge.flows.limits import allow_address
from bridge.gateway.keycloak import AuditReader, StudentsGateway
from bridge.gateway.smtp import Mailer
from bridge.i18n import current_locale
from bridge.settings import Settings
from bridge.web import challenge
from bridge.web.answers import limit_page
from bridge.web.csrf import require_csrf
from bridge.web.metrics import metrics_of
from bridge.web.templating import render


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def now_of(request: Request) -> dt.datetime:
    now: dt.datetime = request.app.state.clock()
    return now


def today_of(request: Request) -> dt.date:
    return now_of(request).astimezone(PARIS).date()


def students_of(request: Request) -> StudentsGateway:
    gateway: StudentsGateway = request.app.state.gateway
    return gateway


def audit_of(request: Request) -> AuditReader:
    audit: AuditReader = request.app.state.audit
    return audit


def counters_of(request: Request) -> CounterStore:
    counters: CounterStore = request.app.state.counters
    return counters


def mailer_of(request: Request) -> Mailer:
    mailer: Mailer = request.app.state.mailer
    return mailer


def link_policy_of(request: Request, *, reader_locale: bool = True) -> LinkPolicy:
    """From the settings as they are now (tests change the charter or the limits).
    `reader_locale`: the mail follows the page's language (a student's own request); the
    console passes False (the staff member's language is not the student's)."""
    settings = settings_of(request)
    return LinkPolicy(
        limits=settings.limits,
        counters=counters_of(request),
        client_id=settings.action_client_id,
        redirect_uri=settings.action_redirect_uri,
        charter=settings.charter,
        requester=client_address(request),
        locale=current_locale() if reader_locale else None,
    )


def client_address(request: Request) -> str:
    """The peer, or the client a trusted proxy names (uvicorn's proxy headers, set from
    UM_TRUSTED_PROXIES only)."""
    return request.client.host if request.client else "unknown"


async def posted_form(
    request: Request, restart_url: str, form_url: str | None = None
) -> FormData | Response:
    """CSRF, then the per-address limit, then past its threshold a solved challenge: the
    form, or the response that refuses it. `form_url`: the page the form is on (the
    posted path by default), where a refused challenge sends the student back."""
    await require_csrf(request)
    address = client_address(request)
    settings = settings_of(request)
    requests, window = settings.address_limit
    now = now_of(request)
    limited = await allow_address(counters_of(request), address, requests, window, now)
    if limited:
        return limit_page(request, limited, restart_url)
    form = await request.form()
    counters = counters_of(request)
    if await proof_needed(counters, address, window, settings.challenge_after, now, counted=True):
        payload = form.get(challenge.FIELD)
        keys = challenge.ChallengeKeys.from_secret(settings.session_secret)
        challenges = metrics_of(request).challenges
        if not isinstance(payload, str) or not payload:
            challenges.labels("missing").inc()
            return challenge.refusal(request, "challenge.missing", form_url or request.url.path)
        if not await challenge.spend(payload, keys, counters):
            challenges.labels("refused").inc()
            return challenge.refusal(request, "challenge.refused", form_url or request.url.path)
        challenges.labels("passed").inc()
    return form


async def render_form(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> Response:
    """A page with a student form: the proof-of-work widget goes in the form when the
    client's network is at the threshold (counter read, not taken). Counters that do not
    answer leave it out: the post will meet them anyway (503)."""
    settings = settings_of(request)
    window, now = settings.address_limit[1], now_of(request)
    needed = False
    with contextlib.suppress(ServiceUnavailable):
        needed = await proof_needed(
            counters_of(request),
            client_address(request),
            window,
            settings.challenge_after,
            now,
            counted=False,
        )
    # When the window ends (and the count starts again): what a browser without JavaScript
    # is told to wait for.
    ends = dt.datetime.fromtimestamp((int(now.timestamp()) // window + 1) * window, PARIS)
    extra = {"challenge": needed, "challenge_until": ends}
    return render(request, name, {**(context or {}), **extra}, status_code)


def field(form: FormData, name: str, max_length: int = 320) -> str:
    value = form.get(name)
    return value[:max_length] if isinstance(value, str) else ""
