"""axe-core on every page of every flow, in Chromium: the bridge's pages, Keycloak's themed
pages, the staff console and the mails rendered as HTML; in French and in English (the
browser's Accept-Language: fr-FR or en-GB, which both the bridge and Keycloak negotiate
by), on a 1280 px desktop and a 360 px phone. No serious or critical violation of the
WCAG 2.1 A/AA rules a tool can check (docs/accessibility.md lists what it cannot).

One line per page, language and viewport is printed at the end of the run. The walks
assert on stable ids, never on words: the same test holds while a language is missing
(the page then falls back to French) and once it is there; the printed line gives the
page's own `lang` so that a reader sees which."""

from __future__ import annotations

import dataclasses
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.helpers.axe import Violation, audit, blocking
from tests.helpers.mailbox import action_link, wait_for_mails
from tests.helpers.report import report
from tests.helpers.totp import fresh_code

LOCALES = {"fr": "fr-FR", "en": "en-GB"}
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "mobile": {"width": 360, "height": 740}}
COMBINATIONS = [(lang, viewport) for lang in LOCALES for viewport in VIEWPORTS]
NEW_PASSWORD = "Riviere-Lez-34"


@dataclasses.dataclass
class Audit:
    """The pages of one walk in one language and viewport; failures are kept until the end
    of the walk so that one run lists every page that fails, not only the first."""

    lang: str
    viewport: str
    context: BrowserContext
    page: Page
    failures: list[str] = dataclasses.field(default_factory=list)

    def check(self, name: str, page: Page | None = None) -> list[Violation]:
        page = page or self.page
        page.wait_for_load_state("load")
        found = audit(page)
        serious = blocking(found)
        lang = page.evaluate("document.documentElement.lang") or "?"
        report(
            f"accessibility: {self.lang}/{self.viewport}: {name} (lang={lang}): "
            f"{len(serious)} serious/critical, {len(found)} in all"
        )
        self.failures += [f"{name} ({self.lang}, {self.viewport}): {v}" for v in serious]
        # Every page in the walk's language: the bridge's, Keycloak's and the mails.
        if lang.split("-")[0] != self.lang:
            self.failures.append(f"{name} ({self.lang}, {self.viewport}): lang={lang}")
        # Keycloak's pages titled by their own heading (RGAA 8.6; the theme's template.ftl).
        heading = page.evaluate(
            "(document.getElementById('kc-page-title')?.innerText || '')"
            ".replace(/\\s+/g, ' ').trim()"
        )
        if heading and not page.title().startswith(heading):
            self.failures.append(f"{name}: title {page.title()!r}, heading {heading!r}")
        self.screenshot(name, page)
        return found

    def screenshot(self, name: str, page: Page) -> None:
        """test-artifacts/accessibility/<lang>-<viewport>/NN-<page>.png: each page as the
        audit saw it, in both languages."""
        folder = ARTIFACTS / "accessibility" / f"{self.lang}-{self.viewport}"
        folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
        number = len(list(folder.glob("*.png"))) + 1
        page.screenshot(path=str(folder / f"{number:03d}-{slug}.png"), full_page=True)

    def mail(self, name: str, message: EmailMessage) -> None:
        """The mail's HTML part, as a mail client that renders HTML shows it."""
        part = message.get_body(preferencelist=("html",))
        assert part is not None, "no HTML part"
        page = self.context.new_page()
        try:
            page.set_content(str(part.get_content()))
            self.check(f"mail: {name}", page)
        finally:
            page.close()

    def done(self) -> None:
        assert not self.failures, "\n".join(self.failures)


@pytest.fixture(scope="module", autouse=True)
def duration() -> Iterator[None]:
    """How long the whole audit takes (printed, never asserted); this run's screenshots only."""
    shutil.rmtree(ARTIFACTS / "accessibility", ignore_errors=True)
    started = time.monotonic()
    yield
    report(f"accessibility: the module ran in {time.monotonic() - started:.0f}s")


@pytest.fixture(scope="module", params=COMBINATIONS, ids=[f"{a}-{b}" for a, b in COMBINATIONS])
def combination(request: pytest.FixtureRequest) -> tuple[str, str]:
    # Module scope: pytest runs every walk in one combination before the next.
    lang, viewport = request.param
    return str(lang), str(viewport)


@pytest.fixture
def walk(chromium: Browser, combination: tuple[str, str]) -> Iterator[Audit]:
    lang, viewport = combination
    # bypass_csp: the pages' CSP (rightly) refuses the injected axe script. A fresh context
    # per walk: a Keycloak session of one walk would otherwise sign the next one in.
    context = chromium.new_context(
        locale=LOCALES[lang], viewport=VIEWPORTS[viewport], bypass_csp=True
    )
    try:
        yield Audit(lang, viewport, context, context.new_page())
    finally:
        context.close()


@pytest.fixture
def settings_as(bridge: Any) -> Iterator[Any]:
    """settings_as(**changes): the bridge's settings changed until the end of the test."""
    real = bridge.app.state.settings

    def change(**changes: Any) -> None:
        bridge.app.state.settings = dataclasses.replace(real, **changes)

    try:
        yield change
    finally:
        bridge.app.state.settings = real


def in_language(admin: Any, user: dict[str, Any], lang: str) -> None:
    """The account's Keycloak locale: the mails Keycloak sends follow it, not the browser."""
    rep = admin.get(f"/users/{user['id']}").json()
    rep["attributes"] = {**rep.get("attributes", {}), "locale": [lang]}
    admin.put(f"/users/{user['id']}", json=rep).raise_for_status()


def keycloak_lang(page: Page, lang: str) -> None:
    """Keycloak has both languages: its pages are in the browser's (or account's)."""
    expect(page.locator("html")).to_have_attribute("lang", lang)


def submit(page: Page, field: str, value: str, button: str = "#um-next") -> None:
    page.fill(field, value)
    page.click(button)
    page.wait_for_load_state("load")


def test_activation_with_the_charter_then_the_portal(
    bridge: Any, stack: Any, admin: Any, make_user: Any, settings_as: Any, walk: Audit
) -> None:
    page, url = walk.page, bridge.url
    settings_as(charter=True)
    student = make_user(password=None)
    in_language(admin, student, walk.lang)

    page.goto(f"{url}/")
    walk.check("home")
    page.goto(f"{url}/activation")
    walk.check("activation step 1")
    submit(page, "#identifier", "x y")
    expect(page.locator("#identifier")).to_have_attribute("aria-invalid", "true")
    walk.check("activation step 1, error")
    submit(page, "#identifier", student["username"])
    expect(page.locator("#um-mail-sent")).to_be_visible(timeout=20_000)
    walk.check("activation mail sent")

    [mail] = wait_for_mails(stack.mail_dir, student["email"])
    walk.mail("activation", mail)
    link = action_link(mail)
    page.goto(link)
    expect(page.locator("a[href*='login-actions/action-token']")).to_be_visible()
    keycloak_lang(page, walk.lang)
    walk.check("Keycloak: the link's page")
    page.click("a[href*='login-actions/action-token']")
    # The realm's order of required actions: the charter first, then the password.
    expect(page.locator("#kc-accept")).to_be_visible()
    walk.check("Keycloak: charter")
    page.click("#kc-accept")
    expect(page.locator("#kc-passwd-update-form")).to_be_visible()
    walk.check("Keycloak: new password")
    page.fill("#password-new", "court")
    page.fill("#password-confirm", "court")
    page.click("#kc-submit")
    # Keycloak says it in the page's alert (a global message), not under the field.
    expect(page.locator(".kc-feedback-text")).to_be_visible()
    walk.check("Keycloak: new password, error")
    page.fill("#password-new", NEW_PASSWORD)
    page.fill("#password-confirm", NEW_PASSWORD)
    page.click("#kc-submit")
    expect(page.locator("#kc-info-message")).to_be_visible()
    walk.check("Keycloak: info after the actions")

    page.goto(link)  # spent: Keycloak's error page
    expect(page.locator("#kc-error-message")).to_be_visible()
    walk.check("Keycloak: error (link already used)")

    page.goto(f"{url}/portal")
    walk.check("portal, signed out")
    page.goto(f"{url}/portal/login")
    expect(page.locator("#kc-form-login")).to_be_visible()
    keycloak_lang(page, walk.lang)
    walk.check("Keycloak: login")
    page.fill("#username", student["username"])
    page.fill("#password", "not-the-password")
    page.click("#kc-login")
    expect(page.locator("#input-error-username")).to_be_visible()
    walk.check("Keycloak: login, error")
    page.fill("#password", NEW_PASSWORD)
    page.click("#kc-login")
    expect(page.locator("#um-portal-username")).to_have_text(student["username"])
    walk.check("portal, signed in")
    page.click("#um-portal-change-password")  # Keycloak's page, as an app-initiated action
    expect(page.locator("#kc-cancel")).to_be_visible()
    walk.check("Keycloak: new password, from the portal")
    page.click("#kc-cancel")
    expect(page.locator("#um-portal")).to_be_visible()

    # The same identifier again, from a signed-in browser: the account is active now.
    page.goto(f"{url}/activation")
    submit(page, "#identifier", student["username"])
    expect(page.locator("#um-activation-already-active")).to_be_visible()
    walk.check("activation: already active")
    walk.done()


def test_activation_by_the_ine_and_the_refusals(
    bridge: Any, stack: Any, make_user: Any, settings_as: Any, walk: Audit
) -> None:
    page, url = walk.page, bridge.url
    student = make_user(password=None, email=None, emailVerified=False)
    page.goto(f"{url}/activation")
    submit(page, "#identifier", student["username"])
    expect(page.locator("#ine")).to_be_visible()
    walk.check("activation INE")
    submit(page, "#ine", "0123456789A")
    expect(page.locator("#ine")).to_have_attribute("aria-invalid", "true")
    walk.check("activation INE, error")
    submit(page, "#ine", student["attributes"]["ine"][0])
    expect(page.locator("#email_confirm")).to_be_visible()
    walk.check("activation rescue email")
    page.fill("#email", f"perso.{student['username']}@example.net")
    submit(page, "#email_confirm", f"autre.{student['username']}@example.net")
    expect(page.locator("#email_confirm")).to_have_attribute("aria-invalid", "true")
    walk.check("activation rescue email, error")
    address = f"perso.{student['username']}@example.net"
    page.fill("#email", address)
    submit(page, "#email_confirm", address)
    expect(page.locator("#um-mail-sent")).to_be_visible(timeout=20_000)
    walk.check("activation mail sent (step 5)")

    page.goto(f"{url}/activation")
    submit(page, "#identifier", f"z{uuid.uuid4().hex[:8]}")
    expect(page.locator("#um-activation-unknown")).to_be_visible()
    walk.check("activation: unknown account")
    expired = make_user(password=None, enabled=False)
    page.goto(f"{url}/activation")
    submit(page, "#identifier", expired["username"])
    expect(page.locator("#um-account-expired")).to_be_visible()
    walk.check("activation: expired account")

    # Past the network's threshold the form carries the proof-of-work widget; posted
    # without it (as a browser without JavaScript would), the page that says why.
    settings_as(challenge_after=0)
    page.goto(f"{url}/activation")
    expect(page.locator("#um-altcha")).to_be_attached()
    walk.check("activation step 1 with the challenge")
    page.fill("#identifier", student["username"])
    page.eval_on_selector("#um-activation-identifier form", "form => form.submit()")
    expect(page.locator("#um-challenge-required")).to_be_visible()
    walk.check("challenge required")
    # The per-network limit: one post per window, already spent by the posts above.
    settings_as(address_limit=(1, 600))
    page.goto(f"{url}/activation")
    for _ in range(3):
        submit(page, "#identifier", student["username"])
        if page.locator("#um-limit").count():
            break
        page.goto(f"{url}/activation")
    expect(page.locator("#um-limit")).to_be_visible()
    walk.check("limit")
    walk.done()


def test_lost_password_and_the_other_pages(
    bridge: Any, stack: Any, admin: Any, make_user: Any, walk: Audit
) -> None:
    page, url = walk.page, bridge.url
    student = make_user(password="Ancien-mdp-2025")
    in_language(admin, student, walk.lang)
    page.goto(f"{url}/lost-password")
    walk.check("lost password")
    submit(page, "#login", "?", "#um-ok")
    expect(page.locator("#login")).to_have_attribute("aria-invalid", "true")
    walk.check("lost password, error")
    submit(page, "#login", student["username"], "#um-ok")
    expect(page.locator("#um-mail-sent")).to_be_visible(timeout=20_000)
    walk.check("lost password mail sent")

    [mail] = wait_for_mails(stack.mail_dir, student["email"])
    walk.mail("lost password", mail)
    page.goto(action_link(mail))
    page.click("a[href*='login-actions/action-token']")
    page.fill("#password-new", NEW_PASSWORD)
    page.fill("#password-confirm", NEW_PASSWORD)
    page.click("#kc-submit")
    expect(page.locator("#kc-update-email-form")).to_be_visible()
    keycloak_lang(page, walk.lang)
    walk.check("Keycloak: update email (rescue address check)")
    page.fill("#email", "pas-une-adresse")
    page.click("#kc-submit")
    expect(page.locator("#email[aria-invalid=true]")).to_be_visible()
    walk.check("Keycloak: update email, error")
    page.fill("#email", student["email"])
    page.click("#kc-submit")
    expect(page.locator("#kc-info-message")).to_be_visible()
    walk.check("Keycloak: info after the actions (lost password)")

    page.goto(f"{url}/help")
    walk.check("help")
    page.goto(f"{url}/no-such-page")
    expect(page.locator("#um-error")).to_be_visible()
    walk.check("error 404")
    walk.done()


def test_the_console(bridge: Any, make_user: Any, walk: Audit) -> None:
    page, url = walk.page, bridge.url
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    student = make_user()
    page.goto(f"{url}/console")
    expect(page.locator("#kc-form-login")).to_be_visible()
    walk.check("console: Keycloak login")
    page.fill("#username", staff["username"])
    page.fill("#password", staff["password"])
    page.click("#kc-login")
    expect(page.locator("#kc-otp-login-form")).to_be_visible()
    walk.check("console: Keycloak one-time code")
    page.fill("#otp", "000000")
    page.click("#kc-login")
    expect(page.locator("#otp[aria-invalid=true]")).to_be_visible()
    walk.check("console: Keycloak one-time code, error")
    page.fill("#otp", fresh_code(staff["otp_secret"]))
    page.click("#kc-login")

    expect(page.locator("#um-console-staff")).to_have_text(staff["username"])
    walk.check("console: search")
    page.select_option("#by", "ine")
    submit(page, "#q", "pas-un-ine", "#um-console-search-submit")
    expect(page.locator("#q")).to_have_attribute("aria-invalid", "true")
    walk.check("console: search, error")
    page.select_option("#by", "name")
    submit(page, "#q", student["username"], "#um-console-search-submit")
    expect(page.locator("#um-console-results")).to_be_visible()
    walk.check("console: search results")
    page.click(".um-console-result")
    expect(page.locator("#um-console-state")).to_be_visible()
    walk.check("console: account")
    page.click("#um-console-action-set-rescue-email")
    expect(page.locator("#um-console-confirm")).to_be_visible()
    walk.check("console: confirm")
    page.fill("#email", "a@example.net")
    submit(page, "#email_confirm", "b@example.net", "#um-console-confirm-submit")
    expect(page.locator("#email_confirm")).to_have_attribute("aria-invalid", "true")
    walk.check("console: confirm, error")
    page.goto(f"{url}/console/accounts/{student['id']}/actions/issue-activation-key")
    page.click("#um-console-confirm-submit")
    expect(page.locator("#um-letter-key")).to_be_visible()
    walk.check("console: letter")
    page.goto(f"{url}/console/accounts/{uuid.uuid4()}")
    expect(page.locator("#um-console-error")).to_be_visible()
    walk.check("console: error")
    page.click("#um-console-logout")
    expect(page.locator("#um-console-logged-out")).to_be_visible()
    walk.check("console: logged out")

    # A staff member without an app: Keycloak's set-up page at their first sign-in.
    newcomer = make_user(groups=("/staff",), password="Staff-pass-2026!", otp=False)
    page.goto(f"{url}/console/login")
    page.fill("#username", newcomer["username"])
    page.fill("#password", newcomer["password"])
    page.click("#kc-login")
    expect(page.locator("#kc-totp-secret-qr-code")).to_be_visible()
    walk.check("console: Keycloak one-time code set-up")
    walk.done()


def test_the_audit_finds_what_it_should(chromium: Browser) -> None:
    """So that a clean report means clean pages: a field without a label, an image
    without text and grey on grey are found, and count as blocking."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_content(
            '<html lang="fr"><head><title>t</title></head><body><main>'
            '<input type="text"><img src="x.png">'
            '<p style="color:#aaa;background:#bbb">illisible</p></main></body></html>'
        )
        rules = {v.rule for v in blocking(audit(page))}
    finally:
        context.close()
    assert {"label", "image-alt", "color-contrast"} <= rules, rules
