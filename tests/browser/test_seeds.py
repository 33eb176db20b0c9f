"""The seeds' words and paths in Debian's Chromium (issue 17, point 3): a student with no
INE on file sent to the desk (seed 004's wording), and seed 000's "Espace personnel >
Compte informatique > Changer votre mot de passe" in the example portal, through
Keycloak's application-initiated UPDATE_PASSWORD and back; axe-core on the new pages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_activation import STEP_4
from tests.helpers.axe import audit, blocking
from tests.helpers.report import report

NEW_PASSWORD = "Garrigue-Sud-58"


@pytest.fixture
def audited(chromium: Browser) -> Iterator[Page]:
    # bypass_csp: the pages' CSP (rightly) refuses the injected axe script.
    context = chromium.new_context(
        locale="fr-FR", viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def no_serious_violation(page: Page, name: str) -> None:
    found = audit(page)
    serious = blocking(found)
    report(f"accessibility: {name}: {len(serious)} serious/critical, {len(found)} in all")
    assert not serious, "\n".join(str(v) for v in serious)


def test_no_ine_on_file_is_sent_to_the_desk(bridge: Any, make_user: Any, audited: Page) -> None:
    page = audited
    student = make_user(password=None, email=None, emailVerified=False, attributes={})
    page.goto(f"{bridge.url}/activation")
    page.fill("#identifier", student["username"])
    page.click("#um-next")
    expect(page.locator("#um-step")).to_have_text(STEP_4)
    page.fill("#ine", "1234567890V")  # well formed; nothing on file to compare it with
    page.click("#um-next")
    expect(page.locator("#um-desk-message")).to_contain_text(
        "adressez-vous au personnel de l'espace numérique (K103)"
    )
    expect(page.locator("#um-desk-room")).to_have_text("salle K103 (1er étage du bâtiment K)")
    expect(page.locator("#um-desk-note")).to_have_text(
        "Pendant la semaine de rentrée, l'espace numérique (K103) est ouvert pour "
        "l'activation de votre compte informatique."
    )
    expect(page.locator("#um-step")).to_have_text(STEP_4)
    expect(page.locator("#ine")).to_have_count(0)  # its own page, not the field's error
    no_serious_violation(page, "activation: the desk (no INE on file)")


def breadcrumb(page: Page, *labels: str) -> None:
    """A nav landmark named "Fil d'Ariane", the labels in order, the last one the current
    page (aria-current, not a link)."""
    nav = page.get_by_role("navigation", name="Fil d'Ariane")
    expect(nav.locator("li")).to_have_text(list(labels))
    expect(nav.locator("[aria-current=page]")).to_have_text(labels[-1])
    expect(nav.locator("a")).to_have_count(len(labels) - 1)


def test_espace_personnel_compte_informatique_changer_votre_mot_de_passe(
    bridge: Any, make_user: Any, audited: Page, shot: Any
) -> None:
    page = audited
    student = make_user(password="Ancien-mdp-2025")
    # Not signed in: the personal space asks for a sign-in, then comes back.
    page.goto(f"{bridge.url}/portal/espace-personnel")
    page.fill("#username", student["username"])
    page.fill("#password", student["password"])
    page.click("#kc-login")
    expect(page.locator("h1")).to_have_text("Espace personnel")
    breadcrumb(page, "Portail", "Espace personnel")
    no_serious_violation(page, "portal: Espace personnel")

    page.click("#um-portal-it-account")
    expect(page.locator("h1")).to_have_text("Compte informatique")
    breadcrumb(page, "Portail", "Espace personnel", "Compte informatique")
    expect(page.locator("#um-it-account-username")).to_have_text(student["username"])
    no_serious_violation(page, "portal: Compte informatique")

    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.click("#um-it-account-change-password")
    # Keycloak's application-initiated action, themed.
    expect(page.locator("#kc-page-title")).to_contain_text("Choisissez votre mot de passe")
    assert any("openid-connect/auth" in u and "kc_action=UPDATE_PASSWORD" in u for u in asked)
    page.fill("#password-new", NEW_PASSWORD)
    page.fill("#password-confirm", NEW_PASSWORD)
    page.click("#kc-submit")

    # Back where the student asked, told that it took effect.
    expect(page.locator("h1")).to_have_text("Compte informatique")
    expect(page.locator("#um-portal-notice")).to_contain_text("Votre mot de passe a été modifié")
    shot("password-changed")

    # Signed out, the new password signs in; the old one no longer does.
    page.goto(f"{bridge.url}/portal")
    page.click("#um-portal-logout")
    page.click("#um-portal-login")
    page.fill("#username", student["username"])
    page.fill("#password", student["password"])
    page.click("#kc-login")
    expect(page.locator("#input-error-username")).to_contain_text(
        "Identifiant ou mot de passe incorrect"
    )
    page.fill("#password", NEW_PASSWORD)
    page.click("#kc-login")
    expect(page.locator("#um-portal-username")).to_have_text(student["username"])
