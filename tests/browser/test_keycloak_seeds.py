"""Keycloak's pages with the seeds' words, in Debian's Chromium (issue 17, point 3): the IT
charter shown in full and its version recorded on acceptance; the rescue address shown for
checking with seed 004's sentence, a university address refused there as on the bridge's
pages; the link to the page on choosing a secure password."""

from __future__ import annotations

import asyncio
import concurrent.futures
import html
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from bridge.domain.ratelimits import Limits
from bridge.flows.action_links import LinkPolicy, LinkPurpose
from bridge.flows.counters import MemoryCounters
from bridge.gateway.keycloak import RealmSetup
from bridge.gateway.keycloak.charter import CharterAcceptance, charter_file, charter_version
from bridge.gateway.keycloak.mapping import required_action_names
from bridge.gateway.keycloak.realm_setup import CHARTER_KEY
from bridge.settings import REPO_ROOT
from tests.helpers.axe import audit, blocking
from tests.helpers.mailbox import action_link, wait_for_mails
from tests.helpers.report import report

NEW_PASSWORD = "Riviere-Lez-34"
THEME_DIR = REPO_ROOT / "themes" / "um-activation"
CNIL = (
    "https://www.cnil.fr/fr/mots-de-passe-des-recommandations-de-securite-minimales-pour-"
    "les-entreprises-et-les-particuliers"
)
WORDS = {
    "fr": {
        "charter": "Charte d'usage des ressources informatiques",
        "version": "Version de la charte : ",
        "accept": "J'accepte la charte",
        "password": "Choisissez votre mot de passe",
        "check": "Vérifiez également que l'adresse mail de secours est inscrite correctement.",
        "refused": "L'adresse mail de secours doit être une adresse personnelle, "
        "pas une adresse de l'université.",
        "advice": "Pour générer un mot de passe sécurisé, consultez",
        "done": "votre mot de passe est enregistré",
    },
    "en": {
        "charter": "Charter for the use of IT resources",
        "version": "Charter version: ",
        "accept": "I accept the charter",
        "password": "Choose your personal password",
        "check": "Also check that the rescue email address is entered correctly.",
        "refused": "The rescue email address must be a personal address, not a university one.",
        "advice": "For help choosing a secure password, see",
        "done": "your password is saved",
    },
}
LOCALES = {"fr": "fr-FR", "en": "en-GB"}


@pytest.fixture(params=sorted(LOCALES))
def lang_page(request: pytest.FixtureRequest, chromium: Browser) -> Iterator[tuple[str, Page]]:
    # bypass_csp: Keycloak's CSP (rightly) refuses the injected axe script.
    context = chromium.new_context(
        locale=LOCALES[request.param], viewport={"width": 1280, "height": 900}, bypass_csp=True
    )
    try:
        yield request.param, context.new_page()
    finally:
        context.close()


def send_link(stack: Any, admin: httpx.Client, user: dict[str, Any], purpose: LinkPurpose) -> str:
    """The mail a purpose's link carries (the bridge's own mapping of purposes to
    Keycloak's actions, the charter on), sent by Keycloak; its link."""
    policy = LinkPolicy(Limits(), MemoryCounters(), "portal", stack.portal_redirect_uri, True)
    answer = admin.put(
        f"/users/{user['id']}/execute-actions-email",
        params={"lifespan": 3600, "client_id": "portal", "redirect_uri": stack.portal_redirect_uri},
        json=required_action_names(policy.actions(purpose)),
    )
    assert answer.status_code == 204, answer.text
    return action_link(wait_for_mails(stack.mail_dir, user["email"])[-1])


def charter_acceptance(stack: Any, user_id: str) -> CharterAcceptance | None:
    """The realm set-up's reading, on a thread of its own: Playwright holds this one's loop."""
    setup = RealmSetup.administrator(
        stack.url, "um", stack.keycloak.admin_user, stack.keycloak.admin_password
    )
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, setup.charter_acceptance(user_id)).result()


def charter_headings(lang: str) -> list[str]:
    source = charter_file(THEME_DIR, lang).read_text(encoding="utf-8")
    found = [html.unescape(h) for h in re.findall(r"<h[23]>(.*?)</h[23]>", source)]
    assert len(found) >= 8, found
    return found


def accessible(page: Page, name: str) -> None:
    found = audit(page)
    serious = blocking(found)
    report(f"accessibility: {name} (desktop): {len(serious)} serious/critical, {len(found)} in all")
    assert not serious, "\n".join(str(v) for v in serious)


def choose_password(page: Page, words: dict[str, str]) -> None:
    expect(page.locator("#kc-page-title")).to_contain_text(words["password"])
    page.fill("#password-new", NEW_PASSWORD)
    page.fill("#password-confirm", NEW_PASSWORD)
    page.click("#kc-submit")


def test_the_charter_is_shown_in_full_and_its_version_recorded(
    stack: Any, admin: httpx.Client, make_user: Any, lang_page: tuple[str, Page]
) -> None:
    lang, page = lang_page
    words = WORDS[lang]
    version = charter_version(THEME_DIR)
    student = make_user(password=None)
    page.goto(send_link(stack, admin, student, LinkPurpose.ACTIVATION))
    page.click("a[href*='login-actions/action-token']")

    charter = page.locator("#um-charter")
    expect(charter).to_contain_text(words["charter"])
    for heading in charter_headings(lang):  # every article, to the last one
        expect(charter).to_contain_text(heading)
    expect(charter).to_contain_text(f"Version {version}")
    expect(page.locator("#um-charter-version")).to_have_text(f"{words['version']}{version}")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    assert charter_acceptance(stack, student["id"]) is None
    page.screenshot(path=f"test-artifacts/charter-{lang}.png", full_page=True)
    accessible(page, f"Keycloak: the IT charter ({lang})")
    expect(page.locator("#kc-accept")).to_have_text(words["accept"])
    page.click("#kc-accept")

    choose_password(page, words)
    expect(page.locator("body")).to_contain_text(words["done"])
    accepted = charter_acceptance(stack, student["id"])
    assert accepted is not None
    assert accepted.version == version
    rep = admin.get(f"/users/{student['id']}").json()
    assert rep["attributes"]["terms_and_conditions"] == [str(int(accepted.accepted_at.timestamp()))]
    # The record is Keycloak's alone: an administrator's write does not change it.
    rep["attributes"]["terms_and_conditions"] = ["1"]
    admin.put(f"/users/{student['id']}", json=rep)
    after = admin.get(f"/users/{student['id']}").json()["attributes"]["terms_and_conditions"]
    assert after == [str(int(accepted.accepted_at.timestamp()))]


def test_declining_the_charter_records_nothing(
    stack: Any, bridge: Any, admin: httpx.Client, make_user: Any, page: Page
) -> None:
    student = make_user(password=None)
    page.goto(send_link(stack, admin, student, LinkPurpose.ACTIVATION))
    page.click("a[href*='login-actions/action-token']")
    expect(page.locator("#kc-decline")).to_have_text("Je refuse")
    # Keycloak sends the browser back to the link's application with the refusal.
    with page.expect_request(lambda r: r.url.startswith(stack.portal_redirect_uri)) as sent:
        page.click("#kc-decline")
    assert "error=access_denied&error_description=termsAndConditionsDeclined" in sent.value.url
    # Where a deployment's action links come back (UM_ACTION_REDIRECT_URI, the portal's
    # /login): the refusal in words, not a new sign-in.
    back = sent.value.url.replace(stack.portal_redirect_uri, f"{bridge.url}/portal/login")
    answer = page.goto(back)
    assert answer is not None and answer.status == 403
    expect(page.locator("main")).to_contain_text("Vous avez refusé la charte")
    page.goto(f"{back}&lang=en")
    expect(page.locator("main")).to_contain_text("You declined the")
    assert charter_acceptance(stack, student["id"]) is None
    # The charter comes first: no password was set either.
    assert admin.get(f"/users/{student['id']}/credentials").json() == []


def test_a_charter_version_not_recorded_cannot_be_accepted(
    stack: Any, admin: httpx.Client, make_user: Any, page: Page
) -> None:
    """A charter file replaced without `bridge realm setup`: acceptance would be recorded
    under the previous version's name, so the page does not offer it."""
    version = charter_version(THEME_DIR)
    student = make_user(password=None)
    link = send_link(stack, admin, student, LinkPurpose.ACTIVATION)
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    admin.put(f"/localization/fr/{CHARTER_KEY}", content="2025-01", headers=headers)
    try:
        page.goto(link)
        page.click("a[href*='login-actions/action-token']")
        expect(page.locator("#um-charter")).to_contain_text("Article 7")
        expect(page.locator("#um-charter-unavailable")).to_contain_text("en cours de mise à jour")
        expect(page.locator("#kc-accept")).to_have_count(0)
    finally:
        restored = admin.put(f"/localization/fr/{CHARTER_KEY}", content=version, headers=headers)
        assert restored.status_code in (200, 204), restored.text
    page.reload()
    expect(page.locator("#kc-accept")).to_be_visible()


def test_lost_password_shows_the_rescue_address_and_refuses_a_university_one(
    stack: Any, admin: httpx.Client, make_user: Any, lang_page: tuple[str, Page]
) -> None:
    lang, page = lang_page
    words = WORDS[lang]
    student = make_user(password="Ancien-mdp-2025")
    page.goto(send_link(stack, admin, student, LinkPurpose.LOST_PASSWORD))
    page.click("a[href*='login-actions/action-token']")

    # Seed 004: the page on choosing a secure password, beside the rules.
    expect(page.locator("#um-password-advice")).to_contain_text(words["advice"])
    advice = page.locator("#um-password-advice-link")
    expect(advice).to_have_attribute("href", CNIL)
    expect(advice).to_contain_text("CNIL")
    choose_password(page, words)

    expect(page.locator("#um-update-email-intro")).to_contain_text(words["check"])
    expect(page.get_by_text(words["check"])).to_have_count(1)  # said once, not in a banner too
    expect(page.locator("#email")).to_have_value(student["email"])
    page.screenshot(path=f"test-artifacts/rescue-email-check-{lang}.png", full_page=True)
    accessible(page, f"Keycloak: the rescue-address check ({lang})")
    page.fill("#email", "jeanne.martin@etu.UMontpellier.fr")
    page.click("#kc-submit")
    expect(page.locator("#input-error-email")).to_contain_text(words["refused"])
    expect(page.locator("#um-update-email-intro")).to_contain_text(words["check"])
    accessible(page, f"Keycloak: a university rescue address refused ({lang})")
    assert admin.get(f"/users/{student['id']}").json()["email"] == student["email"]

    page.fill("#email", f"perso.{student['username']}@example.net")
    page.click("#kc-submit")
    expect(page.locator("body")).to_contain_text(words["done"])
    assert admin.get(f"/users/{student['id']}").json()["email"] == (
        f"perso.{student['username']}@example.net"
    )


def test_the_activation_key_path_shows_the_rescue_address(
    bridge: Any, make_user: Any, admin: httpx.Client, page: Page
) -> None:
    """The first sign-in with an activation key (a temporary password and UPDATE_EMAIL, as
    `bridge activation-keys` sets them): the same check, the same rule."""
    student = make_user(password=None, requiredActions=["UPDATE_PASSWORD", "UPDATE_EMAIL"])
    key = "K7PX-M9QA-R4TD"
    admin.put(
        f"/users/{student['id']}/reset-password",
        json={"type": "password", "value": key, "temporary": True},
    ).raise_for_status()
    page.goto(f"{bridge.url}/portal/login")
    page.fill("#username", student["username"])
    page.fill("#password", key)
    page.click("#kc-login")
    choose_password(page, WORDS["fr"])
    expect(page.locator("#um-update-email-intro")).to_contain_text(WORDS["fr"]["check"])
    expect(page.locator("#email")).to_have_value(student["email"])
    page.fill("#email", "x@umontpellier.example")
    page.click("#kc-submit")
    expect(page.locator("#input-error-email")).to_contain_text(WORDS["fr"]["refused"])
    page.fill("#email", student["email"])
    page.click("#kc-submit")
    expect(page.locator("#um-portal-username")).to_have_text(student["username"])
