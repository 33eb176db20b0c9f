"""Changing the rescue address from the account page, in Chromium, French and English: the
form (and its error summary), the page that says the link left, the link read from the SMTP
sink, its confirmation page, the done page, the account page with the new masked address,
the notice to the previous address, and the refusal when the link is opened again. Each
page checked with axe (no serious or critical violation) and saved as a screenshot under
test-artifacts/rescue-change/."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from bridge.domain.accounts import mask_email
from tests.browser.conftest import ARTIFACTS
from tests.helpers.axe import audit, blocking
from tests.helpers.mailbox import text_of, wait_for_mails
from tests.helpers.report import report

ACCOUNT = "/portal/espace-personnel/compte-informatique"
LINK = re.compile(r"https?://\S+/portal/adresse-de-secours/confirmer\?\S+")
FOLDER = ARTIFACTS / "rescue-change"

WORDS = {
    "fr": {
        "locale": "fr-FR",
        "h1_form": "Changer l'adresse mail de secours",
        "required": "Saisissez votre nouvelle adresse mail de secours.",
        "h1_sent": "Vérifiez votre nouvelle adresse",
        "h1_confirm": "Confirmer la nouvelle adresse mail de secours",
        "h1_done": "Adresse mail de secours modifiée",
        "h1_account": "Compte informatique",
        "used": "Ce lien a déjà servi",
        "subject": "confirmez votre nouvelle adresse",
    },
    "en": {
        "locale": "en-GB",
        "h1_form": "Change the rescue email address",
        "required": "Enter your new rescue email address.",
        "h1_sent": "Check your new address",
        "h1_confirm": "Confirm the new rescue email address",
        "h1_done": "Rescue email address changed",
        "h1_account": "IT account",
        "used": "This link has already been used",
        "subject": "confirm your new rescue email address",
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


def checked(page: Page, lang: str, name: str) -> None:
    """axe on the page as it is, then its screenshot."""
    found = audit(page)
    serious = blocking(found)
    report(
        f"accessibility: {lang}: rescue change, {name} (desktop): {len(serious)} "
        f"serious/critical, {len(found)} in all"
    )
    assert not serious, "\n".join(str(v) for v in serious)
    FOLDER.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(FOLDER / f"{name}-{lang}.png"), full_page=True)


def test_changing_the_rescue_address_in_chromium(
    bridge: Any, stack: Any, make_user: Any, reader: Page, lang: str
) -> None:
    page, words = reader, WORDS[lang]
    student = make_user()
    old, new = student["email"], f"new.{uuid.uuid4().hex[:8]}@example.net"
    page.goto(f"{bridge.url}{ACCOUNT}?lang={lang}")
    page.fill("#username", student["username"])
    page.fill("#password", student["password"])
    page.click("#kc-login")
    expect(page.locator("h1")).to_have_text(words["h1_account"])

    page.click("#um-rescue-change")
    expect(page.locator("h1")).to_have_text(words["h1_form"])
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("#um-rescue-new")).to_be_focused()
    checked(page, lang, "form")

    page.click("#um-rescue-submit")  # empty: the error summary, focused
    expect(page.locator("#um-error-summary")).to_be_focused()
    expect(page.locator("#um-rescue-new-error")).to_have_text(words["required"])
    expect(page.locator("#um-rescue-new")).to_have_attribute("aria-invalid", "true")
    checked(page, lang, "form-error")

    page.fill("#um-rescue-new", new)
    page.click("#um-rescue-submit")
    expect(page.locator("h1")).to_have_text(words["h1_sent"])
    expect(page.locator("#um-rescue-sent")).to_contain_text(mask_email(new))
    checked(page, lang, "sent")

    (mail,) = wait_for_mails(stack.mail_dir, new)
    assert words["subject"] in str(mail["Subject"])
    match = LINK.search(text_of(mail))
    assert match, text_of(mail)
    link = html.unescape(match.group(0))

    page.goto(link)
    expect(page.locator("h1")).to_have_text(words["h1_confirm"])
    expect(page.locator("html")).to_have_attribute("lang", lang)
    checked(page, lang, "confirm")
    page.click("#um-rescue-confirm")
    expect(page.locator("h1")).to_have_text(words["h1_done"])
    expect(page.locator("#um-rescue-done")).to_contain_text(mask_email(new))
    checked(page, lang, "done")

    page.click("#um-rescue-account")
    expect(page.locator("h1")).to_have_text(words["h1_account"])
    expect(page.locator("#um-it-account-rescue-email")).to_have_text(mask_email(new))
    assert new not in page.content()
    (notice,) = wait_for_mails(stack.mail_dir, old)
    assert "http" not in text_of(notice)

    page.goto(link)  # opened again: refused, in words
    expect(page.locator("#um-rescue-refused")).to_contain_text(words["used"])
    checked(page, lang, "refused")
