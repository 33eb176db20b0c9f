"""The reader's language (bridge.web.locales, bridge.i18n): the order of the rules, the
cookie, the switch's links, hostile values, and the dates and times per language. The app
runs in process on pages that need no Keycloak (help, an unknown path); the real servers
are tests/integration/test_locales.py's."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from itsdangerous import TimestampSigner

from bridge import i18n
from bridge.app import create_app
from bridge.domain.deadlines import PARIS
from bridge.settings import Settings, SmtpSettings
from bridge.web import locales

pytestmark = pytest.mark.anyio

SECRET = "Xq3vT9pL2mK8wR4zN7bH1cF6dJ5gY0aEuIoPsWx"


def app(public_url: str = "http://localhost:8000") -> Any:
    settings = Settings.from_env(
        {
            "UM_BRIDGE_CLIENT_SECRET": "unused",
            "UM_SESSION_SECRET": SECRET,
            "UM_KEYCLOAK_URL": "http://127.0.0.1:9",
            "UM_BRIDGE_URL": public_url,
        }
    )
    return create_app(settings, smtp=SmtpSettings("127.0.0.1", 9, starttls=False))


@pytest.fixture(scope="module")
def bridge() -> Any:
    return app()


@pytest.fixture
def client(bridge: Any) -> Iterator[httpx.AsyncClient]:
    yield httpx.AsyncClient(transport=httpx.ASGITransport(app=bridge), base_url="http://t")


def lang(page: httpx.Response) -> str:
    found = re.search(r'<html lang="([^"]*)"', page.text)
    assert found, page.text[:200]
    return found.group(1)


def session_cookie(data: dict[str, Any]) -> str:
    """Starlette's signed session cookie, as the bridge would have set it."""
    payload = base64.b64encode(json.dumps(data).encode())
    return TimestampSigner(SECRET).sign(payload).decode()


# --- the rules and their order ---------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "cookie", "account", "accept", "expected"),
    [
        ("", None, None, None, "fr"),  # nothing: French
        ("", None, None, "en-GB,en;q=0.9", "en"),  # the browser
        ("", None, None, "de-DE,de;q=0.9,en;q=0.5", "en"),  # the best the bridge has
        ("", None, None, "en;q=0.2,fr;q=0.8", "fr"),  # weights, not order
        ("", None, "en", "fr-FR", "en"),  # the account beats the browser
        ("", "fr", "en", "en", "fr"),  # the reader's choice beats the account
        ("?lang=en", "fr", "fr", "fr", "en"),  # and a new choice beats the old one
        ("?lang=EN-gb", None, None, None, "en"),  # a region is the language's
    ],
)
async def test_the_order_of_the_rules(
    client: httpx.AsyncClient,
    query: str,
    cookie: str | None,
    account: str | None,
    accept: str | None,
    expected: str,
) -> None:
    headers = {"accept-language": accept} if accept else {}
    if cookie:
        client.cookies.set(locales.COOKIE, cookie)
    if account:
        client.cookies.set("um_session", session_cookie({locales.SESSION_KEY: account}))
    page = await client.get(f"/help{query}", headers=headers)
    assert page.status_code == 200
    assert lang(page) == expected


async def test_an_explicit_choice_is_kept_a_year_in_a_cookie(client: httpx.AsyncClient) -> None:
    chosen = await client.get("/help?lang=en")
    cookie = chosen.headers["set-cookie"]
    assert cookie.startswith("um_locale=en;")
    for attribute in ("Max-Age=31536000", "Path=/", "HttpOnly", "SameSite=Lax"):
        assert attribute in cookie
    assert "Secure" not in cookie  # a plain-http development bridge
    # It wins afterwards, over the browser, on every page (an error page too).
    later = await client.get("/help", headers={"accept-language": "fr"})
    assert lang(later) == "en"
    assert "set-cookie" not in later.headers  # nothing to remember again
    missing = await client.get("/nowhere", headers={"accept-language": "fr"})
    assert missing.status_code == 404
    assert lang(missing) == "en"
    assert "Page not found" in missing.text  # the catalogue's English


async def test_the_cookie_is_secure_behind_https() -> None:
    secure = app("https://comptes.umontpellier.example")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=secure), base_url="https://t"
    ) as client:
        chosen = await client.get("/help?lang=en")
    assert "; Secure" in chosen.headers["set-cookie"]


@pytest.mark.parametrize(
    "value",
    [
        "../../x",
        "<script>alert(1)</script>",
        "en\r\nSet-Cookie: x=1",
        "x" * 5000,
        "de",
        "",
    ],
)
async def test_a_hostile_or_unknown_language_is_ignored_never_reflected(
    client: httpx.AsyncClient, value: str
) -> None:
    page = await client.get("/help", params={"lang": value})
    assert page.status_code == 200
    assert lang(page) == "fr"
    assert "set-cookie" not in page.headers
    if len(value) > 2:  # "de" is a French word too
        assert value not in page.text
    client.cookies.set(locales.COOKIE, value.replace("\r\n", ""))
    again = await client.get("/help")
    assert lang(again) == "fr"


async def test_a_huge_or_malformed_accept_language_is_ignored(client: httpx.AsyncClient) -> None:
    huge = "en;q=1.0," + "xx-YY;q=0.1," * 2000
    page = await client.get("/help", headers={"accept-language": huge})
    assert lang(page) == "fr"
    assert "xx-YY" not in page.text
    for header in ("en;q=abc", "<en>", "en;q=2", "*"):
        assert lang(await client.get("/help", headers={"accept-language": header})) == "fr"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", "fr"),
        ("en-US,en;q=0.9", "en"),
        ("EN", "en"),
        ("es, en;q=0.1", "en"),
        ("fr;q=0, en", "en"),
        ("es", None),
        ("", None),
        (None, None),
    ],
)
def test_negotiate(header: str | None, expected: str | None) -> None:
    assert i18n.negotiate(header) == expected


# --- the switch --------------------------------------------------------------------------


async def test_the_switch_links_the_same_page_in_each_language(client: httpx.AsyncClient) -> None:
    page = await client.get("/help", headers={"accept-language": "en"})
    nav = re.search(r'<nav class="um-languages".*?</nav>', page.text, re.S)
    assert nav, page.text
    html = nav.group(0)
    assert 'aria-label="' in html
    assert re.search(
        r'<a id="um-lang-fr" href="/help\?lang=fr" lang="fr" hreflang="fr">Français</a>', html
    )
    assert re.search(
        r'<a id="um-lang-en" href="/help\?lang=en" lang="en" hreflang="en" '
        r'aria-current="true">English</a>',
        html,
    )


async def test_the_switch_keeps_only_safe_query_parameters(client: httpx.AsyncClient) -> None:
    page = await client.get(
        "/nowhere", params={"q": "martin <b>", "code": "secret-code", "state": "s", "lang": "x"}
    )
    links = re.findall(r'id="um-lang-(\w+)" href="([^"]*)"', page.text)
    assert dict(links) == {
        "fr": "/nowhere?q=martin+%3Cb%3E&amp;lang=fr",
        "en": "/nowhere?q=martin+%3Cb%3E&amp;lang=en",
    }


async def test_the_switch_never_links_to_another_site(client: httpx.AsyncClient) -> None:
    for path in ("//evil.example/x", "///evil.example", "/\\evil.example"):
        page = await client.get(f"http://t{path}")
        links = dict(re.findall(r'id="um-lang-(\w+)" href="([^"]*)"', page.text))
        assert links, page.text[:300]
        for href in links.values():
            assert href.startswith("/") and not href.startswith(("//", "/\\")), (path, href)


# --- dates and times -----------------------------------------------------------------------

LAST_MINUTE = dt.datetime(2026, 12, 31, 22, 59, 30, tzinfo=dt.UTC)  # 23:59:30 in Paris


@pytest.mark.parametrize(
    ("locale", "date", "time", "table", "seconds"),
    [
        ("fr", "31/12/2026", "23h59", "31/12/2026 23:59", "31/12/2026 23:59:30"),
        (
            "en",
            "December 31, 2026",
            "11:59\N{NARROW NO-BREAK SPACE}PM",
            "Dec 31, 2026, 11:59 PM",
            "Dec 31, 2026, 11:59:30 PM",
        ),
    ],
)
def test_dates_and_times_per_language_in_paris(
    locale: str, date: str, time: str, table: str, seconds: str
) -> None:
    with i18n.use_locale(locale):
        assert i18n.format_date(LAST_MINUTE) == date
        assert i18n.format_date(LAST_MINUTE.date()) == date
        assert i18n.format_time(LAST_MINUTE) == time
        assert i18n.format_time(LAST_MINUTE.astimezone(PARIS)) == time
        assert i18n.format_datetime(LAST_MINUTE) == table
        assert i18n.format_datetime(LAST_MINUTE, seconds=True) == seconds


def test_summer_time_is_paris_too() -> None:
    with i18n.use_locale("fr"):
        assert i18n.format_time(dt.datetime(2026, 7, 1, 21, 59, tzinfo=dt.UTC)) == "23h59"
