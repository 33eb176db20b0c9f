"""I forgot my identifier (issue 18) in Debian's Chromium, French and English: reached from
Keycloak's login page by keyboard only (Tab, Enter), the form with its error summary, the
one answer; axe-core on each page (no serious or critical violation); the identifier
arrives by mail and is never on screen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_keyboard import error_summary_takes_the_focus_then_gives_it_to, tab_to, tour
from tests.helpers.accounts import ine_of
from tests.helpers.axe import audit, blocking
from tests.helpers.mailbox import text_of, wait_for_mails
from tests.helpers.report import report

LOCALES = {"fr": "fr-FR", "en": "en-GB"}
WORDS = {
    "fr": {
        "footer": "Identifiant oublié ?",
        "h1": "Identifiant oublié ?",
        "error": "vérifiez le dernier caractère",
        "answer": "Si un compte correspond à ce numéro INE",
        "mail": "Votre identifiant de compte informatique est : ",
    },
    "en": {
        "footer": "Forgot your identifier?",
        "h1": "Forgot your identifier?",
        "error": "check the last character",
        "answer": "If an account matches this INE",
        "mail": "Your IT account identifier is: ",
    },
}


@pytest.fixture(params=sorted(LOCALES))
def lang_page(request: pytest.FixtureRequest, chromium: Browser) -> Iterator[tuple[str, Page]]:
    lang = str(request.param)
    # bypass_csp: the pages' CSP (rightly) refuses the injected axe script.
    context = chromium.new_context(
        locale=LOCALES[lang], viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    try:
        yield lang, context.new_page()
    finally:
        context.close()


def check(page: Page, lang: str, name: str) -> None:
    page.wait_for_load_state("load")
    found = audit(page)
    serious = blocking(found)
    page_lang = page.evaluate("document.documentElement.lang") or "?"
    report(
        f"accessibility: {lang}/desktop: {name} (lang={page_lang}): "
        f"{len(serious)} serious/critical, {len(found)} in all"
    )
    folder = ARTIFACTS / "forgot-identifier"
    folder.mkdir(parents=True, exist_ok=True)
    slug = name.replace(",", "").replace(" ", "-")
    page.screenshot(path=str(folder / f"{lang}-{slug}.png"), full_page=True)
    assert serious == [], [str(v) for v in serious]
    assert page_lang.split("-")[0] == lang


def test_forgot_identifier_by_keyboard_with_axe(
    bridge: Any, stack: Any, make_user: Any, lang_page: tuple[str, Page]
) -> None:
    lang, page = lang_page
    words = WORDS[lang]
    student = make_user()

    # Keycloak's login page, in the browser's language: the footer's new item.
    page.goto(f"{bridge.url}/portal/login")
    link = page.locator("#um-footer-forgot-identifier")
    expect(link).to_have_text(words["footer"])
    expect(link).to_have_attribute("href", f"{bridge.url}/forgot-identifier?lang={lang}")
    tab_to(page, "#um-footer-forgot-identifier", "Keycloak login")
    page.keyboard.press("Enter")

    expect(page.locator("h1")).to_have_text(words["h1"])
    expect(page.locator("#ine")).to_be_focused()  # autofocus
    check(page, lang, "forgotten identifier")
    tour(page, "#um-ok", "forgotten identifier")

    # A wrong check key: the summary takes the focus, its link gives it to the field.
    tab_to(page, "#ine", "forgotten identifier", backwards=True)
    page.keyboard.type("0123456789A")
    page.keyboard.press("Enter")
    expect(page.locator("#ine-error")).to_contain_text(words["error"])
    check(page, lang, "forgotten identifier, error")
    error_summary_takes_the_focus_then_gives_it_to(page, "ine", "forgotten identifier")

    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(ine_of(student))
    page.keyboard.press("Enter")
    expect(page.locator("#um-mail-sent")).to_contain_text(words["answer"], timeout=20_000)
    check(page, lang, "forgotten identifier, the one answer")
    tour(page, "a[href='/forgot-identifier']", "forgotten identifier, the one answer")
    expect(page.locator("body")).not_to_contain_text(student["username"])

    (mail,) = wait_for_mails(stack.mail_dir, student["email"])
    # The page's language: the account had none, the page was read in this one.
    assert words["mail"] + student["username"] in text_of(mail)
