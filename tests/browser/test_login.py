"""A student signs in to the example portal in a real browser through the themed page."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect


def test_student_signs_in_to_the_portal_and_out(
    bridge_url: str, make_user: Any, page: Page, shot: Any
) -> None:
    student = make_user()
    page.goto(f"{bridge_url}/portal")
    shot("portal")
    page.click("#um-portal-login")

    expect(page.locator("#kc-page-title")).to_have_text("Connexion à votre compte informatique")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("label[for=username]")).to_have_text("Identifiant")
    expect(page.locator("#um-footer-activation")).to_have_attribute(
        "href", f"{bridge_url}/activation?lang=fr"
    )
    # The university's colours come from um.css, not PatternFly's default blue.
    background = page.locator("#kc-login").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(0, 56, 107)"
    shot("login")

    page.fill("#username", student["username"])
    page.fill("#password", "wrong-password-1")
    page.click("#kc-login")
    expect(page.locator("#input-error-username")).to_contain_text(
        "Identifiant ou mot de passe incorrect"
    )
    shot("wrong-password")

    page.fill("#password", student["password"])
    page.click("#kc-login")
    expect(page.locator("#um-portal-username")).to_have_text(student["username"])
    expect(page.locator("#um-portal-claims")).not_to_contain_text(student["email"])
    shot("signed-in")

    page.click("#um-portal-logout")
    expect(page.locator("#um-portal-login")).to_be_visible()
    shot("signed-out")
