"""A refused rescue address in Chromium: step 1 says so and offers the INE form (French and
English, axe), and the staff console's account page shows when it was refused."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from bridge.domain.accounts import mask_email
from tests.helpers.axe import audit, blocking
from tests.helpers.report import report
from tests.helpers.totp import fresh_code

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "bounces"
BOUNCED_AT = "2026-11-20T09:30:00+00:00"

WORDS = {
    "fr": "a été refusé : changez l'adresse de secours.",
    "en": "was refused: change your rescue email address.",
}


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    # bypass_csp: the pages' CSP (rightly) refuses the injected axe script.
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def accessible(page: Page, name: str) -> None:
    found = audit(page)
    serious = blocking(found)
    report(f"accessibility: bounces: {name}: {len(serious)} serious/critical, {len(found)} in all")
    assert not serious, "\n".join(str(v) for v in serious)


def bounced_student(make_user: Any, admin: httpx.Client) -> dict[str, Any]:
    """A student whose rescue address `bridge bounces` flagged (its own test:
    tests/integration/test_bounces.py); written here as the job writes it."""
    student = make_user(password=None, email=f"gone.{uuid.uuid4().hex[:8]}@bounce.test")
    rep = admin.get(f"/users/{student['id']}").json()
    rep["attributes"]["umRescueBounced"] = [BOUNCED_AT]
    assert admin.put(f"/users/{student['id']}", json=rep).status_code == 204
    return student


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_step_1_tells_the_refused_address_and_offers_the_ine(
    bridge: Any, make_user: Any, admin: httpx.Client, page: Page, lang: str
) -> None:
    student = bounced_student(make_user, admin)
    page.goto(f"{bridge.url}/activation?lang={lang}")
    page.fill("#identifier", student["username"])
    page.click("#um-next")
    message = page.locator("#um-bounced-message")
    expect(message).to_contain_text(WORDS[lang])
    expect(message).to_contain_text(mask_email(student["email"]))
    expect(message).to_have_attribute("role", "alert")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("#ine")).to_be_visible()  # the way to a new address
    screenshot(page, f"step-1-refused-address-{lang}")
    accessible(page, f"step 1, refused address ({lang})")


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_console_shows_when_the_address_was_refused(
    bridge: Any, make_user: Any, admin: httpx.Client, page: Page, lang: str
) -> None:
    student = bounced_student(make_user, admin)
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    page.goto(f"{bridge.url}/console?lang={lang}")
    page.fill("#username", staff["username"])
    page.fill("#password", staff["password"])
    page.click("#kc-login")
    page.fill("#otp", fresh_code(staff["otp_secret"]))
    page.click("#kc-login")
    expect(page.locator("#um-console-staff")).to_have_text(staff["username"])
    page.goto(f"{bridge.url}/console/accounts/{student['id']}?lang={lang}")
    flag = page.locator("#um-console-rescue-bounced")
    words = {"fr": "Adresse de secours refusée le", "en": "Rescue email address refused on"}
    expect(flag).to_contain_text(words[lang])
    expect(flag).to_contain_text("2026")
    screenshot(page, f"console-account-refused-address-{lang}")
    accessible(page, f"console account page, refused address ({lang})")

    # A student whose address was never refused shows no such line.
    other = make_user()
    page.goto(f"{bridge.url}/console/accounts/{other['id']}")
    expect(page.locator("#um-console-state")).to_be_visible()
    expect(page.locator("#um-console-rescue-bounced")).to_have_count(0)
