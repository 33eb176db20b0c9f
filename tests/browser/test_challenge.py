"""The proof-of-work widget (ALTCHA) in Debian's Chromium: past the threshold it appears in
the form, in the page's language, is solved by its checkbox (with the mouse, or the
keyboard), and the form then goes through; the strict CSP reports nothing. The default cost
(UM_CHALLENGE_COST=5000): the solving times are printed at the end of the run."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import ConsoleMessage, Page, expect

from bridge.app import create_app
from bridge.i18n import use_locale
from bridge.settings import SmtpSettings
from devstack.ports import free_ports
from tests.helpers.mailbox import wait_for_mails
from tests.helpers.report import report

LABELS = {"fr": ("Je ne suis pas un robot", "Vérifié"), "en": ("I'm not a robot", "Verified")}
# Every violation of the page's CSP, and any script error, as Chromium reports them.
WATCH = """
document.addEventListener("securitypolicyviolation", (event) => {
  (window.__violations = window.__violations || []).push(
    `${event.violatedDirective} ${event.blockedURI}`);
});
"""


class InLocale:
    """The bridge's pages in one language by default (bridge.i18n.use_locale around each
    request); the reader's own choice (bridge.web.locales) still wins."""

    def __init__(self, app: Any, locale: str) -> None:
        self.app, self.locale = app, locale

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        with use_locale(self.locale):
            await self.app(scope, receive, send)


@pytest.fixture
def challenged(bridge: Any) -> Iterator[None]:
    """Every post of this test's network past the threshold (0: all of them)."""
    real = bridge.app.state.settings
    bridge.app.state.settings = dataclasses.replace(real, challenge_after=0)
    try:
        yield
    finally:
        bridge.app.state.settings = real


@pytest.fixture
def english_bridge(bridge: Any, stack: Any) -> Iterator[str]:
    """A second bridge on the session's Keycloak, Redis and SMTP sink, answering in English,
    every post challenged."""
    port = free_ports(1)[0]
    settings = dataclasses.replace(
        bridge.app.state.settings, challenge_after=0, public_url=f"http://localhost:{port}"
    )
    app = create_app(settings, smtp=SmtpSettings("127.0.0.1", stack.smtp_port, starttls=False))
    # log_config=None: leave the session's logging as it is (test_log_leaks reads the access
    # log; uvicorn's own config would turn its propagation off).
    config = uvicorn.Config(InLocale(app, "en"), host="127.0.0.1", port=port, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the bridge did not start"
        time.sleep(0.05)
    try:
        yield f"http://localhost:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def watch(page: Page) -> list[str]:
    """What the console says about the CSP, and the page's errors, from now on."""
    seen: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            seen.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    page.add_init_script(WATCH)
    return seen


def solve(page: Page, locale: str, how: str) -> float:
    """Tick the widget's checkbox (`how`: mouse or keyboard) and wait until it is verified;
    the seconds it took."""
    label, verified = LABELS[locale]
    checkbox = page.get_by_role("checkbox", name=label)  # labelled, in the page's language
    expect(checkbox).to_be_visible()
    started = time.monotonic()
    if how == "mouse":
        # Where a person clicks: the middle of the box (the widget's own check mark lies over
        # the input there, and the widget takes the click from it).
        box = checkbox.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    else:
        # From the identifier field, Tab reaches the box after the field's own links (the
        # "forgot your identifier?" help), a few stops at most.
        for _ in range(4):
            page.keyboard.press("Tab")
            if checkbox.evaluate("box => box === document.activeElement"):
                break
        expect(checkbox).to_be_focused()
        page.keyboard.press("Space")
    expect(page.locator("#um-altcha")).to_contain_text(verified, timeout=120_000)
    elapsed = time.monotonic() - started
    expect(page.locator("input[name=altcha]")).not_to_have_value("")
    return elapsed


def test_the_widget_in_french_with_the_mouse(
    bridge: Any, stack: Any, make_user: Any, page: Page, shot: Any, challenged: None
) -> None:
    student = make_user(password=None)
    problems = watch(page)
    page.goto(f"{bridge.url}/activation")
    expect(page.locator("#um-challenge-hint")).to_contain_text("Beaucoup de demandes")
    expect(page.locator("#um-altcha")).to_contain_text("Je ne suis pas un robot")
    page.fill("#identifier", student["username"])
    shot("widget-fr")
    seconds = solve(page, "fr", "mouse")
    shot("widget-fr-verified")
    page.click("#um-next")
    expect(page.locator("#um-mail-sent")).to_be_visible()
    wait_for_mails(stack.mail_dir, student["email"])
    assert page.evaluate("window.__violations || []") == []
    assert problems == []
    report(f"proof of work: Chromium solved a cost-5000 challenge in {seconds:.1f} s (fr, mouse)")


def test_the_widget_in_english_with_the_keyboard(
    english_bridge: str, stack: Any, make_user: Any, page: Page, shot: Any
) -> None:
    student = make_user(password=None)
    problems = watch(page)
    page.goto(f"{english_bridge}/activation?lang=en")  # the switch's choice, kept in a cookie
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#um-challenge-hint")).to_contain_text("Many requests are coming")
    expect(page.locator("#um-altcha")).to_contain_text("I'm not a robot")
    page.fill("#identifier", student["username"])
    seconds = solve(page, "en", "keyboard")
    shot("widget-en-verified")
    page.click("#um-next")
    expect(page.locator("#um-mail-sent")).to_be_visible()
    wait_for_mails(stack.mail_dir, student["email"])
    assert page.evaluate("window.__violations || []") == []
    assert problems == []
    report(
        f"proof of work: Chromium solved a cost-5000 challenge in {seconds:.1f} s (en, keyboard)"
    )


def test_without_the_challenge_the_page_has_no_widget(bridge: Any, page: Page) -> None:
    """Under the threshold (the session's is out of reach): no widget, no script."""
    page.goto(f"{bridge.url}/activation")
    expect(page.locator("#identifier")).to_be_visible()
    assert page.locator("altcha-widget").count() == 0
    assert page.locator("script").count() == 0
