"""The bridge served for real (uvicorn) against the test Keycloak."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import urljoin

import httpx

from tests.helpers.browserless import browser, submit_login
from tests.helpers.pages import text


def test_healthz(bridge_url: str) -> None:
    response = httpx.get(f"{bridge_url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_pages_carry_security_headers(bridge_url: str) -> None:
    response = httpx.get(f"{bridge_url}/")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_bridge_uses_the_theme_stylesheet(bridge_url: str) -> None:
    page = httpx.get(f"{bridge_url}/").text
    assert 'href="http://localhost' in page and '/static/theme/css/um.css"' in page
    css = httpx.get(f"{bridge_url}/static/theme/css/um.css")
    assert css.status_code == 200
    theme_css = (
        __import__("pathlib").Path(__file__).resolve().parents[2]
        / "themes/um-activation/login/resources/css/um.css"
    ).read_text()
    assert css.text == theme_css


def test_unknown_page_is_a_french_404(bridge_url: str) -> None:
    response = httpx.get(f"{bridge_url}/nope", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "Page introuvable" in response.text


def test_portal_login_through_keycloak(bridge_url: str, make_user: Any) -> None:
    """The example relying app: Authlib (Starlette client) against the themed login."""
    student = make_user()
    with browser() as client:
        start = client.get(f"{bridge_url}/portal/login")
        assert start.status_code == 302
        authorize = start.headers["Location"]
        assert "code_challenge_method=S256" in authorize
        answer = submit_login(
            client, client.get(authorize), student["username"], student["password"]
        )
        assert answer.status_code == 302, answer.text[:300]
        callback = client.get(answer.headers["Location"])
        assert callback.status_code == 303
        portal = client.get(urljoin(bridge_url, callback.headers["Location"]))
    assert portal.status_code == 200
    assert f'id="um-portal-username">{student["username"]}<' in portal.text
    assert student["email"] not in portal.text, "the rescue email must not reach apps"


def test_portal_logout_requires_csrf_token(bridge_url: str) -> None:
    response = httpx.post(f"{bridge_url}/portal/logout", headers={"accept": "text/html"})
    assert response.status_code == 403


def test_dev_mail_page_lists_sink_messages(bridge_url: str, stack: Any) -> None:
    import smtplib
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "test@example.org"
    message["To"] = "someone@example.org"
    message["Subject"] = "Bonjour <b>test</b>"
    message.set_content("Lien : http://example.org/x")
    with smtplib.SMTP("127.0.0.1", stack.smtp_port) as smtp:
        smtp.send_message(message)
    listing = httpx.get(f"{bridge_url}/dev/mail")
    assert listing.status_code == 200
    assert "Bonjour &lt;b&gt;test&lt;/b&gt;" in listing.text
    traversal = httpx.get(f"{bridge_url}/dev/mail/..%2F..%2Fetc%2Fpasswd")
    assert traversal.status_code == 404


def test_help_page_and_every_theme_link_answer(bridge_url: str) -> None:
    help_page = httpx.get(f"{bridge_url}/help")
    assert help_page.status_code == 200
    for words in ("jusqu'au 31 décembre de l'année N+1", "courriers indésirables", "15 minutes"):
        assert words in html.unescape(help_page.text)
    help_text = text(help_page)
    # Seed 004: the desk, its words and the rentrée note; its four lost-password steps;
    # seed 000's way to a new password.
    for words in (
        "adressez-vous au personnel de l'espace numérique (K103)",
        "salle K103 (1er étage du bâtiment K)",
        "muni(e) de votre carte étudiant",
        "Pendant la semaine de rentrée, l'espace numérique (K103) est ouvert pour l'activation "
        "de votre compte informatique.",
        "formulaire d'assistance",
        "Étape 4 : choisissez un nouveau mot de passe, puis vérifiez que l'adresse mail de "
        "secours est inscrite correctement.",
        "cliquez sur « Espace personnel » puis « Compte informatique » et choisissez « Changer "
        "votre mot de passe »",
    ):
        assert words in help_text, words
    # The login page's footer links all lead somewhere.
    for path in ("/activation", "/lost-password", "/help"):
        assert httpx.get(f"{bridge_url}{path}").status_code == 200, path
