"""A staff member signs in (password, then one-time code) and resets a student's account
in Debian's Chromium."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.helpers.totp import fresh_code


def test_staff_logs_in_finds_a_student_resets_and_sees_the_history(
    bridge: Any, make_user: Any, page: Page, shot: Any
) -> None:
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    student = make_user()
    page.goto(f"{bridge.url}/console")
    expect(page.locator("#kc-form-login")).to_be_visible()  # Keycloak's themed login
    page.fill("#username", staff["username"])
    page.fill("#password", staff["password"])
    page.click("#kc-login")

    # The second factor (docs/security.md): the code of the staff member's app.
    expect(page.locator("#kc-otp-login-form")).to_be_visible()
    expect(page.locator("label[for=otp]")).to_have_text("Code de l'application d'authentification")
    expect(page.locator("#otp")).to_have_attribute("autocomplete", "one-time-code")
    shot("one-time-code")
    page.fill("#otp", fresh_code(staff["otp_secret"]))
    page.click("#kc-login")

    expect(page.locator("#um-console-staff")).to_have_text(staff["username"])
    page.select_option("#by", "name")
    page.fill("#q", student["username"])
    page.click("#um-console-search-submit")
    shot("search-results")
    page.click(f"text={student['username']}")

    expect(page.locator("#um-console-state")).to_have_attribute("data-state", "active")
    expect(page.locator("#um-console-history-empty")).to_be_visible()
    shot("account")
    page.click("#um-console-action-reset")
    page.fill("#reason", "oubli du mot de passe, vu à l'accueil")
    shot("confirm-reset")
    page.click("#um-console-confirm-submit")

    expect(page.locator("#um-console-notice")).to_contain_text("réinitialisé")
    expect(page.locator("#um-console-state")).to_have_attribute("data-state", "reset")
    entry = page.locator(".um-console-history-entry").first
    expect(entry).to_contain_text("Compte réinitialisé")
    expect(entry).to_contain_text("oubli du mot de passe")
    expect(entry).to_contain_text(staff["username"])
    shot("history")
    page.click("#um-console-logout")
    expect(page.locator("#um-console-logged-out")).to_be_visible()


def test_staff_without_an_app_set_it_up_then_reach_the_console(
    bridge: Any, make_user: Any, page: Page, shot: Any
) -> None:
    """The set-up page as a staff member sees it at their first sign-in: the QR code, the
    key to type instead, then the app's code; the console only after."""
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!", otp=False)
    page.goto(f"{bridge.url}/console")
    page.fill("#username", staff["username"])
    page.fill("#password", staff["password"])
    page.click("#kc-login")

    expect(page.locator("#kc-page-title")).to_have_text(
        "Configurer votre application d'authentification"
    )
    expect(page.locator("#kc-totp-secret-qr-code")).to_be_visible()
    expect(page.locator("label[for=totp]")).to_contain_text("Code affiché par l'application")
    expect(page.locator("#um-footer")).to_have_count(0)
    shot("set-up-qr-code")
    page.click("#mode-manual")
    secret = "".join(page.locator("#kc-totp-secret-key").inner_text().split())
    shot("set-up-key")
    page.fill("#totp", fresh_code(secret))
    page.fill("#userLabel", "Téléphone pro")
    page.click("#saveTOTPBtn")

    expect(page.locator("#um-console-staff")).to_have_text(staff["username"])
