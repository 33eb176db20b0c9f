"""The staff activation dashboard in Debian's Chromium, French and English, desktop and
360 px: a staff member signs in (password and one-time code), opens the dashboard from the
console's navigation, reads the funnel, the daily charts and the day-by-day table; a bad
period gets the error summary. axe on each (0 serious or critical); screenshots under
test-artifacts/dashboard/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.helpers.activation import follow, start
from tests.helpers.axe import audit, blocking
from tests.helpers.browserless import browser
from tests.helpers.mailbox import wait_for_mails
from tests.helpers.report import report
from tests.helpers.totp import fresh_code

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"


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


# What sticks out of a 360 px screen (outside a box that scrolls): tag#id.class and width.
WIDER_THAN_THE_SCREEN = """
[...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.um-scroll') && e.getBoundingClientRect().right > 360)
  .map(e => e.tagName + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))
  .slice(0, 15)
"""


def checked(page: Page, name: str) -> None:
    found = audit(page)
    serious = blocking(found)
    report(f"accessibility: {name}: {len(serious)} serious/critical, {len(found)} in all")
    assert not serious, "\n".join(str(v) for v in serious)


def test_the_dashboard_in_both_languages_and_on_a_phone(
    page: Page, bridge: Any, stack: Any, make_user: Any
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    student = make_user(password=None)  # something to show: a lookup and a mail
    with browser() as client:
        assert follow(client, bridge, start(client, bridge, student["username"])).status_code == 200
    wait_for_mails(stack.mail_dir, student["email"])
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")

    page.goto(f"{bridge.url}/console/login")
    page.fill("#username", staff["username"])
    page.fill("#password", staff["password"])
    page.click("#kc-login")
    page.fill("#otp", fresh_code(staff["otp_secret"]))
    page.click("#kc-login")
    page.click("#um-console-dashboard")
    expect(page.locator("h1")).to_have_text("Tableau de bord des activations")
    page.click("#um-dashboard-preset-7d")
    funnel = page.locator("#um-dashboard-funnel-chart")
    expect(funnel).to_have_attribute("role", "img")
    expect(page.locator("#um-funnel-svg-title")).to_have_text("Parcours d'activation")
    assert int(page.locator("#um-dashboard-total-lookups").inner_text()) >= 1
    assert int(page.locator("#um-dashboard-total-mails_sent").inner_text()) >= 1
    expect(page.locator("#um-dashboard-funnel-table")).to_contain_text("Mails d'activation envoyés")
    csv_link = page.locator("#um-dashboard-csv").get_attribute("href") or ""
    assert csv_link.startswith("/console/tableau-de-bord.csv?from=")
    page.click("#um-dashboard-days summary")  # the day-by-day table, open for axe
    expect(page.locator("#um-dashboard-days-table")).to_be_visible()
    checked(page, "dashboard (fr, desktop)")
    page.screenshot(path=str(SHOTS / "fr.png"), full_page=True)

    page.goto(f"{bridge.url}/console/tableau-de-bord?preset=7d&lang=en")
    expect(page.locator("h1")).to_have_text("Activation dashboard")
    expect(page.locator("#um-funnel-svg-title")).to_have_text("Activation funnel")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click("#um-dashboard-days summary")
    checked(page, "dashboard (en, desktop)")
    page.screenshot(path=str(SHOTS / "en.png"), full_page=True)

    page.set_viewport_size({"width": 360, "height": 800})
    for lang in ("en", "fr"):
        page.goto(f"{bridge.url}/console/tableau-de-bord?preset=30d&lang={lang}")
        page.click("#um-dashboard-days summary")
        # Nothing wider than the phone: the wide table scrolls in its own box.
        wide = page.evaluate(WIDER_THAN_THE_SCREEN)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, wide
        checked(page, f"dashboard ({lang}, 360 px)")
        page.screenshot(path=str(SHOTS / f"mobile-{lang}.png"), full_page=True)

    page.set_viewport_size({"width": 1280, "height": 900})
    for lang, words in (("fr", "date de fin"), ("en", "end date")):
        page.goto(f"{bridge.url}/console/tableau-de-bord?lang={lang}")
        page.fill("#um-dashboard-from", "2026-03-02")
        page.fill("#um-dashboard-to", "2026-03-01")
        page.click("#um-dashboard-submit")
        summary = page.locator("#um-error-summary")
        expect(summary).to_contain_text(words)
        expect(summary).to_be_focused()
        expect(page.locator("#um-dashboard-to")).to_have_attribute("aria-invalid", "true")
        checked(page, f"dashboard, a bad period ({lang})")
        page.screenshot(path=str(SHOTS / f"error-{lang}.png"), full_page=True)
