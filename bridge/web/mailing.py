"""The day-bounded action mail, shared by activation and lost password: the limits, the
send, the counter. Nothing is counted unless Keycloak accepted to send the mail."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from bridge.domain.accounts import Account, mask_email
from bridge.domain.deadlines import PARIS, end_of_day, seconds_until_end_of_day
from bridge.domain.errors import ServiceUnavailable
from bridge.domain.ratelimits import LimitReached, check_mail_allowed
from bridge.gateway.keycloak import KeycloakGateway
from bridge.settings import Settings
from bridge.web.csrf import require_csrf
from bridge.web.templating import render

log = logging.getLogger("bridge.mailing")

LIMITS = {
    "mail.too_soon": "Un mail vient de vous être envoyé. Patientez {retry_after} secondes "
    "avant d'en demander un autre, et pensez à vérifier vos courriers indésirables.",
    "mail.daily_limit": "Vous avez atteint le nombre maximal de mails pour aujourd'hui. "
    "Réessayez demain, ou contactez votre service de scolarité.",
    "mail.day_over": "Il est trop tard pour recevoir un lien aujourd'hui : il expire à 23h59. "
    "Recommencez après minuit.",
    "ine.locked": "Trop de numéros INE incorrects aujourd'hui : cette étape est bloquée "
    "jusqu'à demain. Si besoin, contactez votre service de scolarité.",
    "address": "Trop de demandes depuis votre connexion. Réessayez dans quelques minutes.",
}


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def gateway_of(request: Request) -> KeycloakGateway:
    gateway: KeycloakGateway = request.app.state.gateway
    return gateway


def now_of(request: Request) -> dt.datetime:
    now: dt.datetime = request.app.state.clock()
    return now


def limit_page(
    request: Request, error: LimitReached | str, restart_url: str, status: int = 429
) -> Response:
    code = error if isinstance(error, str) else error.code
    retry_after = None if isinstance(error, str) else error.retry_after
    response = render(
        request,
        "limit.html",
        {
            "message": LIMITS[code].format(retry_after=retry_after),
            "code": code,
            "restart_url": restart_url,
        },
        status_code=status,
    )
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def posted_form(request: Request, restart_url: str) -> FormData | Response:
    """CSRF, then the per-address limit: the form, or the response that refuses it."""
    await require_csrf(request)
    address = request.client.host if request.client else "unknown"
    if not request.app.state.address_limiter.allow(address):
        return limit_page(request, "address", restart_url)
    return await request.form()


def field(form: FormData, name: str, max_length: int = 320) -> str:
    value = form.get(name)
    return value[:max_length] if isinstance(value, str) else ""


def mail_refused(request: Request, account: Account, restart_url: str) -> Response | None:
    """The limit page if no mail may go to this account now, else None."""
    now = now_of(request)
    today = now.astimezone(PARIS).date()
    try:
        check_mail_allowed(
            settings_of(request).limits, account.mails_sent, account.last_mail_at, now, today
        )
    except LimitReached as error:
        return limit_page(request, error, restart_url)
    if seconds_until_end_of_day(now) < 1:
        return limit_page(request, "mail.day_over", restart_url)
    return None


@dataclass(frozen=True)
class MailSent:
    masked: str
    deadline: dt.datetime


async def send_day_bounded_mail(
    request: Request,
    account: Account,
    actions: Sequence[str],
    restart_url: str,
    gateway: KeycloakGateway | None = None,
) -> MailSent | Response:
    """Within the limits, mail a link valid until 23:59:59 Europe/Paris; count it.
    `gateway`: whose authority sends it (the staff console passes the staff member's)."""
    refused = mail_refused(request, account, restart_url)
    if refused:
        return refused
    settings = settings_of(request)
    now = now_of(request)
    gateway = gateway or gateway_of(request)
    await gateway.send_action_mail(
        account,
        actions,
        lifespan=seconds_until_end_of_day(now),
        client_id=settings.action_client_id,
        redirect_uri=settings.action_redirect_uri,
    )
    try:
        await gateway.record_mail_sent(account, now, now.astimezone(PARIS).date())
    except ServiceUnavailable:
        # The mail is gone: say so, and let the counter miss one rather than lie.
        log.warning("action mail sent but its counter could not be written")
    return MailSent(mask_email(account.rescue_email or ""), end_of_day(now))
