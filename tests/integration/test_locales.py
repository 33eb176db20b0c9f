"""The reader's language against the real bridge, Keycloak and SMTP sink: ?lang, the
cookie and Accept-Language on the served pages; the account's language adopted once step 1
knows it; the account's `locale` written before Keycloak mails a link, so that the mail
comes in the page's language; the portal's authorization request carrying it to Keycloak.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.helpers.accounts import attribute
from tests.helpers.activation import follow, start
from tests.helpers.browserless import browser
from tests.helpers.lost_password import ask, settle
from tests.helpers.mailbox import wait_for_mails

pytestmark = pytest.mark.anyio

ENGLISH_SUBJECT = "Your IT account: link to choose your password"  # email messages_en
FRENCH_SUBJECT = "Votre compte informatique : lien pour choisir votre mot de passe"


def reader(accept_language: str) -> httpx.Client:
    """A browser whose language settings send this Accept-Language."""
    client = browser()
    client.headers["accept-language"] = accept_language
    return client


def lang(page: httpx.Response) -> str:
    found = re.search(r'<html lang="([^"]*)"', page.text)
    assert found, page.text[:300]
    return found.group(1)


def test_the_served_pages_follow_lang_then_the_cookie_then_the_browser(bridge: Any) -> None:
    with browser() as client:
        french = client.get(f"{bridge.url}/activation", headers={"accept-language": "fr-FR"})
        assert lang(french) == "fr"
        assert "Activer mon compte informatique" in french.text

        browser_english = client.get(f"{bridge.url}/help", headers={"accept-language": "en-US"})
        assert lang(browser_english) == "en"
        assert "Help: your IT account" in browser_english.text
        assert "set-cookie" not in browser_english.headers  # nobody chose anything

        chosen = client.get(f"{bridge.url}/activation?lang=en", headers={"accept-language": "fr"})
        assert lang(chosen) == "en"
        assert "Activate my IT account" in chosen.text
        assert "um_locale=en" in chosen.headers["set-cookie"]
        assert 'id="um-lang-en" href="/activation?lang=en" lang="en" hreflang="en" ' in chosen.text
        assert 'aria-current="true">English</a>' in chosen.text

        # The cookie wins afterwards over a French browser, on the student pages and the
        # portal alike, until the reader switches back.
        for path in ("/help", "/lost-password", "/portal"):
            page = client.get(f"{bridge.url}{path}", headers={"accept-language": "fr"})
            assert lang(page) == "en", path
        back = client.get(f"{bridge.url}/help?lang=fr", headers={"accept-language": "en"})
        assert lang(back) == "fr"
        assert lang(client.get(f"{bridge.url}/help", headers={"accept-language": "en"})) == "fr"


def test_the_account_language_is_adopted_once_step_1_knows_the_account(
    bridge: Any, stack: Any, make_user: Any
) -> None:
    """A French browser, an account whose language is English, no choice made: from step 1
    on the pages are in English, and so is the mail (nothing to write: it already is)."""
    student = make_user(password=None, attributes={"locale": ["en"], "validUntil": ["2099-12-31"]})
    with reader("fr-FR,fr;q=0.9") as client:
        answer = start(client, bridge, student["username"])
        page = follow(client, bridge, answer)
    assert lang(page) == "en"
    assert "Check your personal mailbox" in page.text
    [mail] = wait_for_mails(stack.mail_dir, student["email"])
    assert mail["Subject"] == ENGLISH_SUBJECT


def test_the_page_language_is_written_on_the_account_before_the_mail(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """An account with no language (Keycloak would write French), a student reading in
    English: the account's `locale` becomes "en" before Keycloak mails the link, which
    therefore comes from the theme's English messages."""
    student = make_user(password=None)
    assert attribute(admin, student["id"], "locale") is None
    with browser() as client:
        client.get(f"{bridge.url}/help?lang=en")
        answer = start(client, bridge, student["username"])
        page = follow(client, bridge, answer)
    assert lang(page) == "en"
    assert attribute(admin, student["id"], "locale") == "en"
    [mail] = wait_for_mails(stack.mail_dir, student["email"])
    assert mail["Subject"] == ENGLISH_SUBJECT


def test_an_explicit_choice_beats_the_account_language_and_is_written(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user(password=None, attributes={"locale": ["en"], "validUntil": ["2099-12-31"]})
    with reader("en") as client:
        client.get(f"{bridge.url}/activation?lang=fr")
        answer = start(client, bridge, student["username"])
        page = follow(client, bridge, answer)
    assert lang(page) == "fr"
    assert attribute(admin, student["id"], "locale") == "fr"
    [mail] = wait_for_mails(stack.mail_dir, student["email"])
    assert mail["Subject"] == FRENCH_SUBJECT


def test_lost_password_in_english_writes_the_language_before_the_mail(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user()
    with reader("en-GB,en;q=0.9") as client:
        answer = ask(client, bridge, student["username"])
        page = client.get(bridge.url + answer.headers["Location"])
    assert lang(page) == "en"
    settle(bridge)
    assert attribute(admin, student["id"], "locale") == "en"
    [mail] = wait_for_mails(stack.mail_dir, student["email"])
    assert mail["Subject"] == ENGLISH_SUBJECT


def test_lost_password_asked_in_english_keeps_the_owners_language(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """Anyone may ask for any identifier: a stranger reading in English does not switch the
    language of an account whose owner has one."""
    student = make_user(attributes={"locale": ["fr"], "validUntil": ["2099-12-31"]})
    with reader("en-GB,en;q=0.9") as client:
        answer = ask(client, bridge, student["username"])
        page = client.get(bridge.url + answer.headers["Location"])
    assert lang(page) == "en"
    settle(bridge)
    assert attribute(admin, student["id"], "locale") == "fr"
    [mail] = wait_for_mails(stack.mail_dir, student["email"])
    assert mail["Subject"] == FRENCH_SUBJECT


def test_the_portal_asks_keycloak_for_the_page_language(bridge: Any) -> None:
    """ui_locales on the authorization request: Keycloak's login page comes in English for
    a reader who chose English on the bridge, though the browser asks for French."""
    with reader("fr-FR,fr;q=0.9") as client:
        client.get(f"{bridge.url}/portal?lang=en")
        redirect = client.get(f"{bridge.url}/portal/login")
        assert redirect.status_code in (302, 303, 307)
        location = redirect.headers["Location"]
        assert parse_qs(urlparse(location).query)["ui_locales"] == ["en"]
        login = client.get(location)
        assert '<html class="login-pf" lang="en"' in login.text
        # The theme's links back to the bridge carry the page's language.
        assert re.search(r'id="um-footer-activation" href="[^"]*/activation\?lang=en"', login.text)

    with reader("fr-FR,fr;q=0.9") as client:
        redirect = client.get(f"{bridge.url}/portal/login")
        location = redirect.headers["Location"]
        assert parse_qs(urlparse(location).query)["ui_locales"] == ["fr"]
        login = client.get(location)
        assert '<html class="login-pf" lang="fr"' in login.text
        assert re.search(r'id="um-footer-activation" href="[^"]*/activation\?lang=fr"', login.text)
