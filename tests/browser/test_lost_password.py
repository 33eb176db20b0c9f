"""Lost password, the full path in Debian's Chromium: identifier, mail, link, new
password, rescue-email check, sign-in to the portal."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.helpers.mailbox import action_link, wait_for_mails

NEW_PASSWORD = "Riviere-Lez-34"


def test_lost_password_end_to_end(
    bridge: Any, stack: Any, make_user: Any, page: Page, shot: Any
) -> None:
    student = make_user(password="Ancien-mdp-2025")
    page.goto(f"{bridge.url}/portal/login")
    expect(page.locator("label[for=password]")).to_contain_text("Mot de passe / Clé d'activation")
    page.click("#um-footer-lost-password")  # the login page's "Mot de passe oublié ?"
    expect(page.locator("h1")).to_have_text("Mot de passe oublié ?")
    shot("lost-password")
    page.fill("#login", student["username"])
    page.click("#um-ok")
    expect(page.locator("#um-mail-sent")).to_be_visible()
    shot("mail-sent")

    page.goto(action_link(wait_for_mails(stack.mail_dir, student["email"])[0]))
    page.click("a[href*='login-actions/action-token']")
    expect(page.locator("#kc-page-title")).to_contain_text("Choisissez votre mot de passe")
    page.fill("#password-new", NEW_PASSWORD)
    page.fill("#password-confirm", NEW_PASSWORD)
    expect(page.locator("#um-rule-confirm")).to_have_attribute("data-state", "ok")
    shot("new-password")
    page.click("#kc-submit")

    expect(page.locator("#kc-page-title")).to_contain_text("Vérifiez votre adresse mail de secours")
    expect(page.locator("#email")).to_have_value(student["email"])
    shot("rescue-email-check")
    page.click("#kc-submit")

    expect(page.locator("body")).to_contain_text("votre mot de passe est enregistré")
    page.click("text=Se connecter au portail")
    page.fill("#username", student["username"])
    page.fill("#password", NEW_PASSWORD)
    page.click("#kc-login")
    expect(page.locator("#um-portal-username")).to_have_text(student["username"])
    shot("portal")
