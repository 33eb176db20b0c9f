"""Keyboard only, in Chromium (WCAG 2.1.1, 2.1.2, 2.4.3, 2.4.7): activation and lost
password walked with Tab, Shift+Tab, Enter, Space and typing, never a click. On every page
met, each focus stop is visible and shows a focus indicator, the Tab order reaches the
page's main action, and Tab from the last stop leaves the page (no trap). The error
summaries: focused after a wrong submit, their link takes focus to the field.

Navigation by address only where a person would: the first page, and the mailed link."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.helpers.mailbox import action_link, wait_for_mails
from tests.helpers.totp import fresh_code

NEW_PASSWORD = "Garrigue-Pic-61"
MAX_STOPS = 60  # far more than any of these pages has: reaching it means a trap

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return {
    what: `${el.tagName.toLowerCase()}#${el.id} `
      + (el.innerText || el.name || "").trim().slice(0, 30),
    visible: el.checkVisibility({opacityProperty: true, visibilityProperty: true})
      && box.width > 0 && box.height > 0,
    onScreen: box.bottom > 0 && box.right > 0 && box.top < innerHeight && box.left < innerWidth,
    indicator: outline || style.boxShadow !== "none",
  };
}"""


@dataclass(frozen=True)
class Stop:
    what: str
    visible: bool
    onScreen: bool
    indicator: bool


def focused(page: Page) -> Stop | None:
    found = page.evaluate(FOCUSED)
    return Stop(**found) if found else None


def matches(page: Page, selector: str) -> bool:
    return bool(page.evaluate("s => !!document.activeElement?.matches(s)", selector))


def assert_shown(stop: Stop, where: str) -> None:
    assert stop.visible and stop.onScreen, f"{where}: {stop.what} has focus but is not seen"
    assert stop.indicator, f"{where}: {stop.what} has focus and no focus indicator"


def tour(page: Page, main_action: str, where: str) -> list[str]:
    """Tab through the whole page from its start: every stop shown with its indicator, the
    main action among them, and the focus leaves the page after the last one. Shift+Tab
    then comes back to that last stop. Returns the stops."""
    page.evaluate("document.activeElement?.blur()")
    stops: list[str] = []
    reached = False
    for _ in range(MAX_STOPS):
        page.keyboard.press("Tab")
        stop = focused(page)
        if stop is None:
            break  # past the last stop: the focus left the page
        assert_shown(stop, where)
        stops.append(stop.what)
        reached = reached or matches(page, main_action)
    else:
        raise AssertionError(f"{where}: {MAX_STOPS} Tab stops, still on the page: {stops[-5:]}")
    assert stops, f"{where}: nothing takes the focus"
    assert reached, f"{where}: Tab never reaches {main_action} ({stops})"
    page.keyboard.press("Shift+Tab")
    back = focused(page)
    assert back is not None and back.what == stops[-1], f"{where}: Shift+Tab lost the way"
    return stops


def tab_to(page: Page, selector: str, where: str, backwards: bool = False) -> None:
    """Tab (or Shift+Tab) until `selector` has the focus, checking each stop on the way."""
    for _ in range(MAX_STOPS):
        if matches(page, selector):
            stop = focused(page)
            assert stop is not None
            assert_shown(stop, where)
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        stop = focused(page)
        if stop is not None:
            assert_shown(stop, where)
    raise AssertionError(f"{where}: {selector} never takes the focus")


def retype(page: Page, text: str) -> None:
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(text)


def error_summary_takes_the_focus_then_gives_it_to(page: Page, field: str, where: str) -> None:
    """After a wrong submit: the summary has the focus; Tab, Enter on its link: the field."""
    expect(page.locator("#um-error-summary")).to_be_focused()
    stop = focused(page)
    assert stop is not None
    assert_shown(stop, f"{where}: the error summary")
    expect(page.locator(f"#um-error-summary a[href='#{field}']")).to_have_count(1)
    expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
    described = page.locator(f"#{field}").get_attribute("aria-describedby") or ""
    message = page.locator("#um-error-summary a").inner_text()
    assert any(page.locator(f"#{name}").inner_text() == message for name in described.split()), (
        f"{where}: {field}'s aria-describedby ({described}) does not name its message"
    )
    page.keyboard.press("Tab")
    assert matches(page, f"#um-error-summary a[href='#{field}']"), focused(page)
    page.keyboard.press("Enter")
    expect(page.locator(f"#{field}")).to_be_focused()


@pytest.fixture(params=["desktop", "mobile"])
def keyboard_page(request: pytest.FixtureRequest, chromium: Browser) -> Iterator[Page]:
    viewport = {"desktop": (1280, 900), "mobile": (360, 740)}[request.param]
    context = chromium.new_context(
        locale="fr-FR", viewport={"width": viewport[0], "height": viewport[1]}
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def new_password_by_keyboard(page: Page, link: str) -> None:
    """From the mailed link to Keycloak's new-password page, and through it."""
    page.goto(link)
    tab_to(page, "a[href*='login-actions/action-token']", "Keycloak: the link's page")
    page.keyboard.press("Enter")
    expect(page.locator("#kc-passwd-update-form")).to_be_visible()
    tour(page, "#kc-submit", "Keycloak: new password")
    tab_to(page, "#password-new", "Keycloak: new password")
    page.keyboard.type(NEW_PASSWORD)
    tab_to(page, "#password-confirm", "Keycloak: new password")
    page.keyboard.type(NEW_PASSWORD)
    expect(page.locator("#um-rule-confirm")).to_have_attribute("data-state", "ok")
    tab_to(page, "#kc-submit", "Keycloak: new password")
    page.keyboard.press("Space")


def test_activation_by_keyboard(
    bridge: Any, stack: Any, make_user: Any, keyboard_page: Page
) -> None:
    page = keyboard_page
    student = make_user(password=None)
    page.goto(f"{bridge.url}/")
    tour(page, "a[href$='/activation']", "home")
    tab_to(page, "main a[href$='/activation']", "home")
    page.keyboard.press("Enter")

    expect(page.locator("#identifier")).to_be_focused()  # autofocus
    tour(page, "#um-next", "activation step 1")
    tab_to(page, "#identifier", "activation step 1", backwards=True)
    page.keyboard.type("pas un identifiant")
    page.keyboard.press("Enter")
    error_summary_takes_the_focus_then_gives_it_to(page, "identifier", "activation step 1")
    tour(page, "#um-next", "activation step 1, error")
    tab_to(page, "#identifier", "activation step 1, error", backwards=True)
    retype(page, student["username"])
    tab_to(page, "#um-next", "activation step 1")
    page.keyboard.press("Enter")

    expect(page.locator("#um-mail-sent")).to_be_visible(timeout=20_000)
    tour(page, "#um-resend", "activation mail sent")
    new_password_by_keyboard(page, action_link(wait_for_mails(stack.mail_dir, student["email"])[0]))
    expect(page.locator("#kc-info-message")).to_be_visible()
    tour(page, "#kc-info-message a", "Keycloak: info after the actions")


def test_lost_password_by_keyboard(
    bridge: Any, stack: Any, make_user: Any, keyboard_page: Page
) -> None:
    page = keyboard_page
    student = make_user(password="Ancien-mdp-2025")
    page.goto(f"{bridge.url}/")
    tab_to(page, "main a[href$='/lost-password']", "home")
    page.keyboard.press("Enter")

    expect(page.locator("#login")).to_be_focused()
    tour(page, "#um-ok", "lost password")
    tab_to(page, "#login", "lost password", backwards=True)
    page.keyboard.type("?")
    page.keyboard.press("Enter")
    error_summary_takes_the_focus_then_gives_it_to(page, "login", "lost password")
    retype(page, student["username"])
    page.keyboard.press("Enter")

    expect(page.locator("#um-mail-sent")).to_be_visible(timeout=20_000)
    tour(page, "#um-support-link", "lost password mail sent")
    new_password_by_keyboard(page, action_link(wait_for_mails(stack.mail_dir, student["email"])[0]))
    expect(page.locator("#kc-update-email-form")).to_be_visible()
    tour(page, "#kc-submit", "Keycloak: rescue address check")
    tab_to(page, "#kc-submit", "Keycloak: rescue address check")
    page.keyboard.press("Enter")
    expect(page.locator("#kc-info-message")).to_be_visible()


def test_the_other_error_summaries(bridge: Any, make_user: Any, keyboard_page: Page) -> None:
    """The INE and rescue-address steps: the same summary, linked to the field at fault."""
    page = keyboard_page
    student = make_user(password=None, email=None, emailVerified=False)
    page.goto(f"{bridge.url}/activation")
    expect(page.locator("#identifier")).to_be_focused()
    page.keyboard.type(student["username"])
    page.keyboard.press("Enter")
    expect(page.locator("#ine")).to_be_focused(timeout=20_000)
    page.keyboard.type("0123456789A")
    page.keyboard.press("Enter")
    error_summary_takes_the_focus_then_gives_it_to(page, "ine", "activation INE")
    retype(page, student["attributes"]["ine"][0])
    page.keyboard.press("Enter")
    expect(page.locator("#email")).to_be_focused(timeout=20_000)
    page.keyboard.type("perso@example.net")
    page.keyboard.press("Tab")
    page.keyboard.type("autre@example.net")
    page.keyboard.press("Enter")
    error_summary_takes_the_focus_then_gives_it_to(page, "email_confirm", "rescue email")
    page.keyboard.press("Shift+Tab")
    retype(page, "perso@umontpellier.fr")  # a university address: the address's fault
    page.keyboard.press("Tab")
    retype(page, "perso@umontpellier.fr")
    page.keyboard.press("Enter")
    error_summary_takes_the_focus_then_gives_it_to(page, "email", "rescue email")


def test_the_console_error_summaries(bridge: Any, make_user: Any, keyboard_page: Page) -> None:
    """The staff console's forms: the search, and an action's confirmation."""
    page = keyboard_page
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    student = make_user()
    page.goto(f"{bridge.url}/console")
    page.fill("#username", staff["username"])
    page.fill("#password", staff["password"])
    page.click("#kc-login")
    page.fill("#otp", fresh_code(staff["otp_secret"]))
    page.click("#kc-login")
    expect(page.locator("#q")).to_be_focused()
    page.select_option("#by", "ine")
    page.locator("#q").focus()
    page.keyboard.type("pas-un-ine")
    page.keyboard.press("Enter")
    error_summary_takes_the_focus_then_gives_it_to(page, "q", "console search")

    page.goto(f"{bridge.url}/console/accounts/{student['id']}/actions/set-rescue-email")
    tab_to(page, "#email", "console confirm")
    page.keyboard.type("perso@example.net")
    page.keyboard.press("Tab")
    page.keyboard.type("autre@example.net")
    page.keyboard.press("Enter")
    error_summary_takes_the_focus_then_gives_it_to(page, "email_confirm", "console confirm")


def test_the_checks_find_what_they_should(chromium: Browser) -> None:
    """So that a passing walk means something: a focus ring taken away, and a field that
    keeps the focus on Tab, both fail the checks."""
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_content(
            '<html lang="fr"><body><a href="#x" id="a">lien</a>'
            '<button id="b" style="outline:none;box-shadow:none">OK</button></body></html>'
        )
        with pytest.raises(AssertionError, match="no focus indicator"):
            tour(page, "#b", "no ring")
        page.set_content(
            '<html lang="fr"><body><input id="trap"><button id="b">OK</button>'
            "<script>document.getElementById('trap').addEventListener('keydown', e => {"
            " if (e.key === 'Tab') e.preventDefault(); });</script></body></html>"
        )
        page.focus("#trap")
        with pytest.raises(AssertionError, match="never takes the focus"):
            tab_to(page, "#b", "trap")
    finally:
        context.close()
