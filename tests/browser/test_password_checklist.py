"""The new-password page's checklist reacts as the student types, names the refused
character, and Keycloak's own refusal says the same."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.helpers.mailbox import action_link, wait_for_mails


def rule(page: Page, name: str) -> Any:
    return expect(page.locator(f"#um-rule-{name}"))


def open_password_page(bridge: Any, stack: Any, make_user: Any, page: Page) -> None:
    student = make_user(password=None)
    page.goto(f"{bridge.url}/activation")
    page.fill("#identifier", student["username"])
    page.click("#um-next")
    expect(page.locator("#um-mail-sent")).to_be_visible()
    page.goto(action_link(wait_for_mails(stack.mail_dir, student["email"])[0]))
    page.click("a[href*='login-actions/action-token']")
    expect(page.locator("#kc-page-title")).to_contain_text("Choisissez votre mot de passe")


def test_checklist_reacts_as_you_type(
    bridge: Any, stack: Any, make_user: Any, page: Page, shot: Any
) -> None:
    open_password_page(bridge, stack, make_user, page)
    for name in ("length", "nonalpha", "accents", "refused", "confirm"):
        rule(page, name).to_have_attribute("data-state", "todo")
    password = page.locator("#password-new")

    status = page.locator("#um-checklist-status")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status).to_have_text("")
    password.fill("abcdefghi")  # too short (9)
    rule(page, "length").to_have_attribute("data-state", "ko")
    # Announced to screen readers: how many rules hold (accents and refused characters).
    expect(status).to_have_text("Règles respectées : 2 sur 5.")
    expect(page.locator("#um-strength-value")).to_have_text("Faible")
    password.fill("abcdefghij1")  # long enough, one digit only
    rule(page, "length").to_have_attribute("data-state", "ok")
    rule(page, "nonalpha").to_have_attribute("data-state", "ko")
    shot("one-digit-only")
    password.fill("abcdéfghij12")  # an accented letter, named
    rule(page, "nonalpha").to_have_attribute("data-state", "ok")
    rule(page, "accents").to_have_attribute("data-state", "ko")
    expect(page.locator("#um-refused-detail")).to_have_text(
        "« é » est un caractère accentué : il est refusé."
    )
    shot("accented")
    password.fill("abcd efghij12")  # a refused character, named
    rule(page, "accents").to_have_attribute("data-state", "ok")
    rule(page, "refused").to_have_attribute("data-state", "ko")
    expect(page.locator("#um-refused-detail")).to_have_text("Caractère refusé : espace.")
    for typed, named in (
        ('abcdefghij"12', '« " » guillemet'),
        ("abcdefghij\\12", "« \\ » barre oblique inversée"),
        ("abcdefghij`12", "« ` » accent grave"),
        ("abcdefghij'12", "« ' » apostrophe"),
    ):
        password.fill(typed)
        expect(page.locator("#um-refused-detail")).to_have_text(f"Caractère refusé : {named}.")
    shot("refused-character")

    password.fill("Soleil-Levant-42")
    page.fill("#password-confirm", "Soleil-Levant-4")
    rule(page, "confirm").to_have_attribute("data-state", "ko")
    page.fill("#password-confirm", "Soleil-Levant-42")
    for name in ("length", "nonalpha", "accents", "refused", "confirm"):
        rule(page, name).to_have_attribute("data-state", "ok")
    expect(page.locator("#um-strength-value")).to_have_text("Fort")
    expect(status).to_have_text("Règles respectées : 5 sur 5.")
    expect(page.locator("#um-refused-detail")).to_have_text("")
    shot("all-green")


def test_server_refusal_says_the_same(
    bridge: Any, stack: Any, make_user: Any, page: Page, shot: Any
) -> None:
    open_password_page(bridge, stack, make_user, page)
    for typed in ("abcdefghij1", "abcd efghij12"):  # ignore the checklist and submit
        page.fill("#password-new", typed)
        page.fill("#password-confirm", typed)
        page.click("#kc-submit")
        expect(page.locator(".kc-feedback-text")).to_have_text(
            "Mot de passe refusé : il doit comporter au moins deux caractères non alphabétiques "
            "(chiffres ou signes de ponctuation) et aucun caractère accentué, espace, guillemet, "
            "apostrophe, barre oblique inversée (\\) ni accent grave (`)."
        )
    page.fill("#password-new", "abcdefg12")
    page.fill("#password-confirm", "abcdefg12")
    page.click("#kc-submit")
    expect(page.locator(".kc-feedback-text")).to_contain_text("au moins 10 caractères")
    shot("server-refusal")
