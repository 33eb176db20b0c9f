"""A student whose browser asks for French picks English on Keycloak's login page and stays
in English to the end: the bridge's activation pages, the mail, Keycloak's new-password
page, and the portal (issue 17: "a student who starts in English on Keycloak's login page
stays in English through activation, Keycloak's required actions, the mail, and back")."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.helpers.mailbox import action_link, text_of, wait_for_mails

GOOD_PASSWORD = "Rising-Sun-2026-ok"
ENGLISH_SUBJECT = "Your IT account: link to choose your password"  # email messages_en


def choose_english_on_keycloak(page: Page) -> None:
    """Keycloak's language menu (keycloak.v2: a <select> that navigates with kc_locale);
    a theme that shows links instead gets its "English" link clicked."""
    menu = page.locator("#login-select-toggle")
    if menu.count() and menu.evaluate("e => e.tagName") == "SELECT":
        # Its options' values are the same page with kc_locale=<tag>.
        english = menu.locator("option[value*='kc_locale=en']")
        with page.expect_navigation():
            menu.select_option(value=english.get_attribute("value"))
        return
    if menu.count():
        menu.click()
    page.get_by_role("link", name="English").or_(
        page.get_by_role("menuitem", name="English")
    ).first.click()


def html_lang(page: Page) -> Any:
    return expect(page.locator("html"))


def test_english_from_keycloaks_login_page_to_the_portal(
    bridge: Any, stack: Any, make_user: Any, page: Page, shot: Any
) -> None:
    student = make_user(password=None)

    # The portal, then Keycloak's login page: French, as the browser asks.
    page.goto(f"{bridge.url}/portal")
    html_lang(page).to_have_attribute("lang", "fr")
    expect(page.locator("#um-lang-fr")).to_have_attribute("aria-current", "true")
    shot("portal-fr")
    page.click("#um-portal-login")
    html_lang(page).to_have_attribute("lang", "fr")
    expect(page.locator("#kc-page-title")).to_have_text("Connexion à votre compte informatique")
    shot("keycloak-login-fr")

    # English, picked in Keycloak's own language menu.
    choose_english_on_keycloak(page)
    html_lang(page).to_have_attribute("lang", "en")
    expect(page.locator("#kc-page-title")).to_have_text("Sign in to your IT account")
    activation = page.locator("#um-footer-activation")
    expect(activation).to_have_text("First time: activate my account")
    expect(activation).to_have_attribute("href", f"{bridge.url}/activation?lang=en")
    shot("keycloak-login-en")

    # The bridge's step 1, in English (the browser still asks for French).
    activation.click()
    html_lang(page).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Activate my IT account")
    expect(page.locator("#um-lang-en")).to_have_attribute("aria-current", "true")
    expect(page.locator("#um-lang-fr")).to_have_attribute("hreflang", "fr")
    shot("step1-identifier-en")
    page.fill("#identifier", student["username"])
    page.click("#um-next")

    # The mail-sent page, in English.
    expect(page.locator("#um-mail-sent")).to_be_visible()
    html_lang(page).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Check your personal mailbox")
    shot("step3-mail-sent-en")

    # The mail: the theme's English one, for the account's language is now English.
    [mail] = wait_for_mails(stack.mail_dir, student["email"])
    assert mail["Subject"] == ENGLISH_SUBJECT
    assert "Votre compte" not in text_of(mail)
    link = action_link(mail)

    # Its link: Keycloak's pages in English, to the new password.
    page.goto(link)
    html_lang(page).to_have_attribute("lang", "en")
    shot("link-opened-en")
    page.click("a[href*='login-actions/action-token']")
    html_lang(page).to_have_attribute("lang", "en")
    expect(page.locator("#kc-page-title")).to_contain_text("Choose your personal password")
    shot("new-password-en")
    page.fill("#password-new", GOOD_PASSWORD)
    page.fill("#password-confirm", GOOD_PASSWORD)
    page.click("#kc-submit")
    expect(page.locator("body")).to_contain_text("your password is saved")
    html_lang(page).to_have_attribute("lang", "en")
    shot("account-updated-en")

    # Back to the portal: Keycloak's sign-in, then the portal, in English.
    page.click("text=Sign in to the portal")
    html_lang(page).to_have_attribute("lang", "en")
    expect(page.locator("#kc-page-title")).to_have_text("Sign in to your IT account")
    page.fill("#username", student["username"])
    page.fill("#password", GOOD_PASSWORD)
    page.click("#kc-login")
    expect(page.locator("#um-portal-username")).to_have_text(student["username"])
    html_lang(page).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Portal (ENT)")
    shot("portal-en")
