"""What every page reads from the request and the application: the settings, "now" (the
app's injectable clock), the gateways, the posted form behind CSRF and the per-address
limit."""

from __future__ import annotations

import datetime as dt

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bridge.domain.deadlines import PARIS
from bridge.flows.action_links import LinkPolicy
from bridge.flows.counters import CounterStore
from bridge.flows.limits import allow_address
from bridge.gateway.keycloak import AuditReader, StudentsGateway
from bridge.gateway.smtp import Mailer
from bridge.settings import Settings
from bridge.web.answers import limit_page
from bridge.web.csrf import require_csrf


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


def link_policy_of(request: Request) -> LinkPolicy:
    """From the settings as they are now (tests change the charter or the limits)."""
    settings = settings_of(request)
    return LinkPolicy(
        limits=settings.limits,
        counters=counters_of(request),
        client_id=settings.action_client_id,
        redirect_uri=settings.action_redirect_uri,
        charter=settings.charter,
        requester=client_address(request),
    )


def client_address(request: Request) -> str:
    """The peer, or the client a trusted proxy names (uvicorn's proxy headers, set from
    UM_TRUSTED_PROXIES only)."""
    return request.client.host if request.client else "unknown"


async def posted_form(request: Request, restart_url: str) -> FormData | Response:
    """CSRF, then the per-address limit: the form, or the response that refuses it."""
    await require_csrf(request)
    address = client_address(request)
    requests, window = settings_of(request).address_limit
    limited = await allow_address(counters_of(request), address, requests, window, now_of(request))
    if limited:
        return limit_page(request, limited, restart_url)
    return await request.form()


def field(form: FormData, name: str, max_length: int = 320) -> str:
    value = form.get(name)
    return value[:max_length] if isinstance(value, str) else ""
