"""A student activates their account in Debian's Chromium, from step 1 to the portal."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.helpers.mailbox import action_link, wait_for_mails

GOOD_PASSWORD = "Soleil-Levant-42"
# Seed 000's steps, word for word.
STEP_1 = "Étape 1 : Saisie de votre identifiant"
STEP_3 = "Étape 3 : Envoi du mail d'activation"
STEP_4 = "Étape 4 : Modification de l'adresse mail de secours (Authentification à partir de l'INE)"
STEP_4_1 = "Étape 4-1 : Modification de l'adresse mail de secours"
STEP_5 = "Étape 5 : Envoi du mail d'activation sur l'adresse mail de secours"


def rule(page: Page, name: str) -> Any:
    return expect(page.locator(f"#um-rule-{name}"))


def test_activation_from_step_1_to_the_portal(
    bridge: Any, stack: Any, make_user: Any, page: Page, shot: Any
) -> None:
    student = make_user(password=None)
    page.goto(f"{bridge.url}/activation")
    expect(page.locator("#um-step")).to_have_text(STEP_1)
    shot("step1-identifier")
    page.fill("#identifier", student["username"])
    page.click("#um-next")

    expect(page.locator("#um-mail-sent")).to_be_visible()
    expect(page.locator("#um-deadline")).to_contain_text("23h59")
    expect(page.locator("#um-step")).to_have_text(STEP_3)
    shot("step3-mail-sent")

    link = action_link(wait_for_mails(stack.mail_dir, student["email"])[0])
    page.goto(link)
    shot("link-opened")
    page.click("a[href*='login-actions/action-token']")  # Keycloak's "continue" link

    expect(page.locator("#kc-page-title")).to_contain_text("Choisissez votre mot de passe")
    shot("password-page")
    page.fill("#password-new", GOOD_PASSWORD)
    page.fill("#password-confirm", GOOD_PASSWORD)
    for name in ("length", "nonalpha", "accents", "refused", "confirm"):
        rule(page, name).to_have_attribute("data-state", "ok")
    expect(page.locator("#um-strength-value")).to_have_text("Fort")
    shot("password-chosen")
    page.click("#kc-submit")

    expect(page.locator("body")).to_contain_text("votre mot de passe est enregistré")
    shot("account-updated")
    page.click("text=Se connecter au portail")
    page.fill("#username", student["username"])
    page.fill("#password", GOOD_PASSWORD)
    page.click("#kc-login")
    expect(page.locator("#um-portal-username")).to_have_text(student["username"])
    shot("portal")


def test_no_rescue_email_path_in_the_browser(
    bridge: Any, stack: Any, make_user: Any, page: Page, shot: Any
) -> None:
    student = make_user(password=None, email=None, emailVerified=False)
    page.goto(f"{bridge.url}/activation")
    page.fill("#identifier", student["username"])
    page.click("#um-next")
    expect(page.locator("#um-step")).to_have_text(STEP_4)
    page.fill("#ine", "0123456789A")
    page.click("#um-next")
    expect(page.locator("#ine-error")).to_contain_text("vérifiez le dernier caractère")
    expect(page.locator("#ine")).to_have_attribute("aria-invalid", "true")
    shot("ine-wrong-key")
    page.fill("#ine", student["attributes"]["ine"][0])
    page.click("#um-next")
    expect(page.locator("#um-step")).to_have_text(STEP_4_1)
    address = f"perso.{student['username']}@example.net"
    page.fill("#email", address)
    page.fill("#email_confirm", address)
    shot("rescue-email")
    page.click("#um-next")
    expect(page.locator("#um-mail-sent")).to_be_visible()
    expect(page.locator("#um-step")).to_have_text(STEP_5)
    shot("step5-mail-sent")
    wait_for_mails(stack.mail_dir, address)
