"""Which language each page is read in: one place, for every page of the bridge (student
pages, help, errors, console, portal). docs/i18n.md, "Choosing the reader's language".

In this order:
1. an explicit choice: `?lang=fr|en` on any URL (the switch on every page, the links from
   Keycloak's pages), kept in the `um_locale` cookie, which wins from then on;
2. the account's own language (its Keycloak `locale`), once a flow knows the account
   (`adopt_account_locale`, activation's step 1), kept in the session;
3. the browser's Accept-Language;
4. French.

A value that is not one of bridge.i18n.LOCALES is dropped wherever it comes from: it is
never reflected into a page, a cookie or a link.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge import i18n

COOKIE = "um_locale"
QUERY = "lang"
SESSION_KEY = "account_locale"
COOKIE_MAX_AGE = 365 * 24 * 3600  # a year: a student's choice outlasts a semester
# Each language named in itself: the switch is for a reader who does not read the page's
# current language, so these are never translated (Keycloak's menu does the same).
NAMES = {"fr": "Français", "en": "English"}
# Query parameters a switch link carries over: the console's search (its text is
# re-encoded, never written raw). Nothing else: an OAuth callback's code and state, a
# form's values, must not travel or be replayed.
KEPT_QUERY = ("q", "by", "page")


@dataclass(frozen=True)
class Choice:
    """What the middleware decided, kept in the request's state."""

    locale: str
    explicit: str | None  # the reader's own choice (?lang= or the cookie), if any
    browser: str  # what the browser asks for (Accept-Language), else French


class LocaleMiddleware:
    """Runs each request in its reader's language (bridge.i18n.use_locale). Inside the
    session middleware: it reads the account's language from the session."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        asked = i18n.supported(connection.query_params.get(QUERY))
        kept = i18n.supported(connection.cookies.get(COOKIE))
        explicit = asked or kept
        account = i18n.supported(scope.get("session", {}).get(SESSION_KEY))
        browser = i18n.negotiate(connection.headers.get("accept-language")) or i18n.SOURCE_LOCALE
        locale = explicit or account or browser
        scope.setdefault("state", {})["locale"] = Choice(locale, explicit, browser)

        async def remember(message: Message) -> None:
            if message["type"] == "http.response.start" and asked and asked != kept:
                MutableHeaders(scope=message).append("set-cookie", self._cookie(asked))
            await send(message)

        token = i18n.switch_locale(locale)
        try:
            await self.app(scope, receive, remember)
        except BaseException:
            # Left set: Starlette's 500 page is rendered outside this middleware, in this
            # same task, and is then in the reader's language too.
            raise
        i18n.restore_locale(token)

    def _cookie(self, locale: str) -> str:
        secure = "; Secure" if self.https else ""
        return (
            f"{COOKIE}={locale}; Max-Age={COOKIE_MAX_AGE}; Path=/; HttpOnly; SameSite=Lax{secure}"
        )


def choice_of(request: HTTPConnection) -> Choice:
    found = getattr(request.state, "locale", None)
    if isinstance(found, Choice):
        return found
    return Choice(i18n.current_locale(), None, i18n.current_locale())


def adopt_account_locale(request: Request, stored: str | None) -> None:
    """The flow now knows the account: its Keycloak language becomes the pages' language
    for this session, unless the reader chose one. An account without one changes nothing
    (the browser's language stands)."""
    locale = i18n.supported(stored)
    if locale is None:
        return
    request.session[SESSION_KEY] = locale
    _follow(request, locale)


def _follow(request: Request, locale: str) -> None:
    """The rest of this request in `locale`, unless the reader chose one."""
    choice = choice_of(request)
    if choice.explicit is None:
        i18n.switch_locale(locale)
        request.state.locale = Choice(locale, None, choice.browser)


def forget_account_locale(request: Request) -> None:
    """A flow starts again (step 1): the previous account's language no longer applies
    (a shared computer's next student)."""
    request.session.pop(SESSION_KEY, None)
    _follow(request, choice_of(request).browser)


def explicit_locale(request: HTTPConnection) -> str | None:
    """The reader's own choice, if they made one (what Keycloak may keep as theirs)."""
    return choice_of(request).explicit


def switch_links(request: Request) -> list[dict[str, Any]]:
    """The language switch: the same page in each language. A page answering a form (a
    POST) links to the form's page, which is the same path whenever the route shows it on
    GET; otherwise to the home page (a link never posts a form again)."""
    # One leading slash: a path such as "//evil.example/" or "/\\evil.example" (browsers
    # read both as another site) on a 404 page, which shows the switch too.
    path = "/" + request.url.path.lstrip("/\\") if _shown_on_get(request) else "/"
    kept = [(k, v[:100]) for k, v in request.query_params.multi_items() if k in KEPT_QUERY]
    current = i18n.current_locale()
    return [
        {
            "code": code,
            "name": NAMES[code],
            "href": f"{path}?{urlencode([*kept, (QUERY, code)])}",
            "current": code == current,
        }
        for code in i18n.LOCALES
    ]


def _shown_on_get(request: Request) -> bool:
    if request.method in ("GET", "HEAD"):
        return True
    route = request.scope.get("route")
    methods = getattr(route, "methods", None)
    return bool(methods and "GET" in methods)
