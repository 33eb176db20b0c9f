"""axe-core on the pages of the activation and lost-password paths, in Chromium, desktop
and a 360 px phone: no serious or critical violation of the WCAG 2.1 A/AA rules a tool can
check (docs/accessibility.md lists what it cannot). The count per page is printed."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.helpers.axe import audit, blocking
from tests.helpers.mailbox import action_link, wait_for_mails
from tests.helpers.report import report

VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "mobile": {"width": 360, "height": 740}}


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport_page(request: pytest.FixtureRequest, chromium: Browser) -> Any:
    # bypass_csp: the pages' CSP (rightly) refuses the injected axe script.
    context = chromium.new_context(
        locale="fr-FR", viewport=VIEWPORTS[request.param], bypass_csp=True
    )
    try:
        yield request.param, context.new_page()
    finally:
        context.close()


def check(page: Page, name: str, viewport: str) -> None:
    found = audit(page)
    serious = blocking(found)
    report(
        f"accessibility: {name} ({viewport}): {len(serious)} serious/critical, {len(found)} in all"
    )
    assert not serious, "\n".join(str(v) for v in serious)


def test_the_activation_path(bridge: Any, stack: Any, make_user: Any, viewport_page: Any) -> None:
    viewport, page = viewport_page
    student = make_user(password=None)
    page.goto(f"{bridge.url}/")
    check(page, "home", viewport)
    page.goto(f"{bridge.url}/activation")
    check(page, "activation step 1", viewport)
    page.fill("#identifier", "x")
    page.click("#um-next")
    check(page, "activation step 1 with an error", viewport)
    page.goto(f"{bridge.url}/activation")
    page.fill("#identifier", student["username"])
    page.click("#um-next")
    expect(page.locator("#um-mail-sent")).to_be_visible()
    check(page, "activation mail sent", viewport)
    page.goto(action_link(wait_for_mails(stack.mail_dir, student["email"])[0]))
    check(page, "Keycloak: the link's page", viewport)
    page.click("a[href*='login-actions/action-token']")
    expect(page.locator("#kc-page-title")).to_contain_text("Choisissez votre mot de passe")
    check(page, "Keycloak: new password", viewport)


def test_the_ine_and_lost_password_pages(bridge: Any, make_user: Any, viewport_page: Any) -> None:
    viewport, page = viewport_page
    student = make_user(password=None, email=None, emailVerified=False)
    page.goto(f"{bridge.url}/activation")
    page.fill("#identifier", student["username"])
    page.click("#um-next")
    expect(page.locator("#um-step")).to_contain_text("Étape 4")
    check(page, "activation INE", viewport)
    page.goto(f"{bridge.url}/lost-password")
    check(page, "lost password", viewport)
    page.goto(f"{bridge.url}/help")
    check(page, "help", viewport)
    page.goto(f"{bridge.url}/no-such-page")
    check(page, "error 404", viewport)
    page.goto(f"{bridge.url}/portal/login")
    expect(page.locator("#kc-form-login")).to_be_visible()
    check(page, "Keycloak: login", viewport)


def test_the_audit_finds_what_it_should(viewport_page: Any) -> None:
    """So that a clean report means clean pages: a field without a label, an image
    without text and grey on grey are found, and count as blocking."""
    _, page = viewport_page
    page.set_content(
        '<html lang="fr"><head><title>t</title></head><body><main>'
        '<input type="text"><img src="x.png">'
        '<p style="color:#aaa;background:#bbb">illisible</p></main></body></html>'
    )
    rules = {v.rule for v in blocking(audit(page))}
    assert {"label", "image-alt", "color-contrast"} <= rules, rules
