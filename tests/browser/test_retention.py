"""A staff administrator anonymises an expired account in Debian's Chromium, in French and
in English: the account page's "Anonymiser", the confirmation (what goes, what stays, the
identifier typed), a wrong identifier, the result; axe on each page (0 serious or
critical)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from bridge.domain.deadlines import PARIS
from tests.helpers.axe import audit, blocking
from tests.helpers.report import report
from tests.helpers.totp import fresh_code

ON_TIME = dt.datetime(2065, 3, 2, 10, 0, tzinfo=PARIS)


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """bypass_csp: the console's CSP (rightly) refuses the injected axe script."""
    context = chromium.new_context(
        locale="fr-FR", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def expired_student(
    make_user: Any, admin: httpx.Client, valid_until: str = "2061-12-31"
) -> dict[str, Any]:
    student = make_user(enabled=False)
    attributes = {
        **student["attributes"],
        "lastEnrollmentYear": [str(int(valid_until[:4]) - 1)],
        "validUntil": [valid_until],
    }
    written = admin.put(
        f"/users/{student['id']}",
        json={
            "attributes": attributes,
            "firstName": student["firstName"],
            "lastName": student["lastName"],
            "email": student["email"],
        },
    )
    assert written.status_code == 204, written.text
    return dict(student)


def administrator(make_user: Any, admin: httpx.Client) -> dict[str, Any]:
    member = make_user(groups=("/staff",), password="Staff-admin-2026!")
    role = admin.get("/roles/staff-admin").json()
    assert admin.post(f"/users/{member['id']}/role-mappings/realm", json=[role]).status_code == 204
    return dict(member)


def checked(page: Page, name: str) -> None:
    found = audit(page)
    serious = blocking(found)
    report(f"accessibility: {name}: {len(serious)} serious/critical, {len(found)} in all")
    assert not serious, "\n".join(str(v) for v in serious)


def sign_in(page: Page, url: str, member: dict[str, Any]) -> None:
    page.goto(url)
    page.fill("#username", member["username"])
    page.fill("#password", member["password"])
    page.click("#kc-login")
    page.fill("#otp", fresh_code(member["otp_secret"]))
    page.click("#kc-login")
    expect(page.locator("#um-console-staff")).to_have_text(member["username"])


def test_an_administrator_anonymises_in_french_and_in_english(
    bridge: Any, make_user: Any, admin: httpx.Client, clock: Any, page: Page, shot: Any
) -> None:
    member = administrator(make_user, admin)
    first, second = expired_student(make_user, admin), expired_student(make_user, admin)
    recent = expired_student(make_user, admin, "2063-12-31")  # expired for one year only
    clock(ON_TIME)
    sign_in(page, f"{bridge.url}/console/accounts/{first['id']}", member)

    # French.
    expect(page.locator("#um-console-state")).to_have_attribute("data-state", "expired")
    page.click("#um-console-action-anonymise")
    expect(page.locator("#um-console-anonymise h1")).to_have_text("Anonymiser le compte ?")
    expect(page.locator("#um-console-anonymise-removed")).to_contain_text("le numéro INE")
    expect(page.locator("#um-console-anonymise-kept")).to_contain_text("jamais supprimé")
    checked(page, "console anonymise confirmation (fr)")
    shot("confirm-fr")
    page.fill("#identifier", "quelquun")
    page.click("#um-console-anonymise-submit")
    expect(page.locator("#um-error-summary")).to_be_visible()
    expect(page.locator("#identifier")).to_have_attribute("aria-invalid", "true")
    checked(page, "console anonymise wrong identifier (fr)")
    shot("wrong-identifier-fr")
    page.fill("#identifier", first["username"])
    page.click("#um-console-anonymise-submit")
    expect(page.locator("#um-console-anonymised-notice")).to_contain_text("a été anonymisé")
    expect(page.locator("#um-console-anonymised-username")).to_have_text(first["username"])
    checked(page, "console anonymised result (fr)")
    shot("result-fr")
    page.click("#um-console-anonymised-back")
    expect(page.locator("#um-console-state")).to_have_attribute("data-state", "anonymised")
    checked(page, "console anonymised account (fr)")

    # English: the language switch's choice, kept in a cookie.
    page.goto(f"{bridge.url}/console/accounts/{second['id']}?lang=en")
    page.click("#um-console-action-anonymise")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#um-console-anonymise h1")).to_have_text("Anonymise the account?")
    checked(page, "console anonymise confirmation (en)")
    shot("confirm-en")
    page.fill("#identifier", "someone")
    page.click("#um-console-anonymise-submit")
    expect(page.locator("#um-error-summary")).to_be_visible()
    checked(page, "console anonymise wrong identifier (en)")
    page.fill("#identifier", second["username"])
    page.click("#um-console-anonymise-submit")
    expect(page.locator("#um-console-anonymised-notice")).to_contain_text("has been anonymised")
    checked(page, "console anonymised result (en)")
    shot("result-en")

    # The refusal of an account not expired long enough (409), in both languages.
    for lang, words in (("en", "at least 3 years"), ("fr", "au moins 3 ans")):
        page.goto(f"{bridge.url}/console/accounts/{recent['id']}/actions/anonymise?lang={lang}")
        expect(page.locator("main")).to_contain_text(words)
        checked(page, f"console anonymise refused, not long enough ({lang})")
