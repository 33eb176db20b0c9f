"""The student's account page in Chromium, French and English: signed in through Keycloak,
checked with axe (no serious or critical violation), saved as a screenshot
(test-artifacts/account-page/<lang>.png), then "sign out everywhere"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from bridge.domain.accounts import mask_email
from tests.browser.conftest import ARTIFACTS
from tests.helpers.axe import audit, blocking
from tests.helpers.report import report

PAGE = "/portal/espace-personnel/compte-informatique"

WORDS = {
    "fr": {
        "locale": "fr-FR",
        "h1": "Compte informatique",
        "active": "Votre compte est actif.",
        "valid": "Il est valable jusqu'au 31/12/2099.",
        "current": "(cette session)",
        "signed_out": "Déconnecté(e) partout",
    },
    "en": {
        "locale": "en-GB",
        "h1": "IT account",
        "active": "Your account is active.",
        "valid": "It is valid until December 31, 2099.",
        "current": "(this session)",
        "signed_out": "Signed out everywhere",
    },
}


@pytest.fixture(params=["fr", "en"])
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def reader(chromium: Browser, lang: str) -> Iterator[Page]:
    # bypass_csp: the pages' CSP (rightly) refuses the injected axe script.
    context = chromium.new_context(
        locale=WORDS[lang]["locale"], viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def accessible(page: Page, name: str) -> None:
    found = audit(page)
    serious = blocking(found)
    report(f"accessibility: {name} (desktop): {len(serious)} serious/critical, {len(found)} in all")
    assert not serious, "\n".join(str(v) for v in serious)


def test_the_account_page_in_chromium(bridge: Any, make_user: Any, reader: Page, lang: str) -> None:
    page, words = reader, WORDS[lang]
    student = make_user()
    # Not signed in: Keycloak's form in the page's language, then back to the account page.
    page.goto(f"{bridge.url}{PAGE}?lang={lang}")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.fill("#username", student["username"])
    page.fill("#password", student["password"])
    page.click("#kc-login")

    expect(page.locator("h1")).to_have_text(words["h1"])
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("#um-it-account-username")).to_have_text(student["username"])
    expect(page.locator("#um-it-account-last-name")).to_have_text(student["lastName"])
    expect(page.locator("#um-it-account-rescue-email")).to_have_text(mask_email(student["email"]))
    expect(page.locator("#um-it-account-active")).to_have_text(words["active"])
    expect(page.locator("#um-it-account-valid-until")).to_have_text(words["valid"])
    expect(page.locator(".um-session-current")).to_contain_text(words["current"])
    expect(page.locator("#um-rescue-change")).to_be_visible()
    content = page.content()
    assert student["email"] not in content
    assert student["attributes"]["ine"][0] not in content
    accessible(page, f"{lang}: account page")
    folder = ARTIFACTS / "account-page"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{lang}.png"), full_page=True)

    page.click("#um-it-account-sign-out-everywhere")
    expect(page.locator("h1")).to_have_text(words["signed_out"])
    accessible(page, f"{lang}: signed out everywhere")
    # Keycloak's session is over too: the account page asks for the password again.
    page.goto(f"{bridge.url}{PAGE}")
    expect(page.locator("#kc-login")).to_be_visible()
