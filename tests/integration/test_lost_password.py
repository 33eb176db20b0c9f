"""Lost password (seed 004), activation keys (F2) and password change (F4), against the
real Keycloak and SMTP sink."""

from __future__ import annotations

import html
import re
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.domain.ine import BEA_KEYS
from bridge.gateway.keycloak import ProvisioningGateway
from bridge.jobs.activation_keys import issue_activation_keys
from tests.helpers.browserless import browser, submit_login
from tests.helpers.keycloak_pages import NEW_PASSWORD, required_actions, signs_in, use_link
from tests.helpers.lost_password import ask
from tests.helpers.mailbox import action_link, text_of, wait_for_mails
from tests.helpers.pages import text

pytestmark = pytest.mark.anyio
OLD_PASSWORD = "Ancien-mdp-2025"


@pytest.mark.core
async def test_lost_password_by_identifier(bridge: Any, stack: Any, make_user: Any) -> None:
    student = make_user(password=OLD_PASSWORD)
    with browser() as client:
        answer = ask(client, bridge, student["username"])
        assert answer.headers["Location"] == "/lost-password/mail-sent"
        page = client.get(f"{bridge.url}/lost-password/mail-sent")
    assert "courriers indésirables" in text(page)
    assert re.search(r'id="um-masked-email">r\*\*\*', page.text)
    assert "jusqu'à 23h59" in text(page)
    link = action_link(wait_for_mails(stack.mail_dir, student["email"])[0])
    done = use_link(link)  # new password, then the rescue address shown for checking
    assert "votre mot de passe est enregistré" in text(done)
    assert signs_in(bridge.url, student["username"], NEW_PASSWORD)
    assert not signs_in(bridge.url, student["username"], OLD_PASSWORD)


@pytest.mark.core
async def test_lost_password_by_ine_and_rescue_email_corrected(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user(password=OLD_PASSWORD)
    ine = student["attributes"]["ine"][0]
    with browser() as client:
        answer = ask(client, bridge, f" {ine.lower()} ")
    assert answer.headers["Location"] == "/lost-password/mail-sent"
    link = action_link(wait_for_mails(stack.mail_dir, student["email"])[0])
    corrected = f"corrige.{student['username']}@example.net"
    done = use_link(link, new_email=corrected)
    assert "votre mot de passe est enregistré" in text(done)
    assert admin.get(f"/users/{student['id']}").json()["email"] == corrected
    assert signs_in(bridge.url, student["username"], NEW_PASSWORD)


async def test_the_rescue_check_shows_the_address_on_file(
    bridge: Any, stack: Any, make_user: Any
) -> None:
    student = make_user(password=OLD_PASSWORD)
    with browser() as client:
        ask(client, bridge, student["username"])
    link = action_link(wait_for_mails(stack.mail_dir, student["email"])[0])
    with browser() as client:
        page = client.get(link)
        proceed = re.search(r'href="([^"]*login-actions/action-token[^"]*)"', page.text)
        assert proceed
        form = client.get(client.get(html.unescape(proceed.group(1))).headers["Location"])
        action = re.search(r'<form id="kc-passwd-update-form"[^>]*action="([^"]+)"', form.text)
        assert action
        check = client.post(
            html.unescape(action.group(1)),
            data={"password-new": NEW_PASSWORD, "password-confirm": NEW_PASSWORD},
        )
        if check.status_code == 302:
            check = client.get(check.headers["Location"])
    assert "Vérifiez votre adresse mail de secours" in text(check)
    assert f'value="{student["email"]}"' in check.text


async def test_no_rescue_email_sends_to_the_desk(bridge: Any, make_user: Any) -> None:
    student = make_user(password=OLD_PASSWORD, email=None, emailVerified=False)
    with browser() as client:
        answer = ask(client, bridge, student["username"])
    assert answer.status_code == 200
    page = text(answer)
    assert "salle K103 (1er étage du bâtiment K)" in page
    assert "du lundi au vendredi" in page
    assert 'id="um-support-link"' in answer.text
    # Nothing more about the account.
    assert student["username"] not in answer.text
    assert student["lastName"] not in answer.text


async def test_unknown_input(bridge: Any) -> None:
    with browser() as client:
        by_identifier = ask(client, bridge, "zzpersonne999")
        by_ine = ask(client, bridge, "9999999999" + BEA_KEYS[9999999999 % 23])  # nobody's
    for answer in (by_identifier, by_ine):
        assert answer.status_code == 404
        assert "Nous ne trouvons pas de compte" in text(answer)


@pytest.mark.parametrize(
    ("login", "message"),
    [
        ("0123456789A", "vérifiez le dernier caractère"),
        ("0123456789I", "n'a pas la bonne forme"),
        ("j martin", "Ce n'est ni un identifiant"),
        ("", "Saisissez votre identifiant ou votre numéro INE"),
    ],
)
async def test_malformed_input_and_wrong_check_key(bridge: Any, login: str, message: str) -> None:
    with browser() as client:
        answer = ask(client, bridge, login)
    assert answer.status_code == 400
    assert message in text(answer)


@pytest.mark.core
async def test_link_replay_is_refused(bridge: Any, stack: Any, make_user: Any) -> None:
    student = make_user(password=OLD_PASSWORD)
    with browser() as client:
        ask(client, bridge, student["username"])
    link = action_link(wait_for_mails(stack.mail_dir, student["email"])[0])
    assert "votre mot de passe est enregistré" in text(use_link(link))
    replay = use_link(link, "Encore-autre-26")
    assert "expiré ou a déjà servi" in text(replay) or "a expiré" in text(replay)
    assert not signs_in(bridge.url, student["username"], "Encore-autre-26")


async def test_lost_password_mail_counts_against_the_same_limits(
    bridge: Any, stack: Any, make_user: Any
) -> None:
    student = make_user(password=OLD_PASSWORD)
    with browser() as client:
        assert ask(client, bridge, student["username"]).status_code == 303
        again = ask(client, bridge, student["username"])
    assert again.status_code == 429
    assert "Patientez" in text(again)


# --- activation keys (F2) ----------------------------------------------------------------


async def test_activation_key_first_login(
    bridge: Any,
    make_user: Any,
    jobs_gateway: ProvisioningGateway,
    tmp_path: Path,
    admin: httpx.Client,
) -> None:
    student = make_user(password=None)
    activated = make_user()
    out = tmp_path / "cles.csv"
    report = await issue_activation_keys(
        jobs_gateway, out, [student["username"], activated["username"], "zzabsent001"]
    )
    assert report.issued == [student["username"]]
    assert report.skipped_activated == [activated["username"]]
    assert report.unknown == ["zzabsent001"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    lines = out.read_text().splitlines()
    assert lines[0] == "identifiant;prenom;nom;cle_activation"
    username, _, _, key = lines[1].split(";")
    assert username == student["username"]
    assert re.fullmatch(r"[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}", key)
    with pytest.raises(FileExistsError):  # written once
        await issue_activation_keys(jobs_gateway, out, [student["username"]])

    with browser() as client:
        start = client.get(f"{bridge.url}/portal/login")
        login_page = client.get(start.headers["Location"])
        assert "Mot de passe / Clé d'activation" in text(login_page)
        answer = submit_login(client, login_page, student["username"], key)
        while answer.status_code == 302:
            answer = client.get(answer.headers["Location"])
        assert "Choisissez votre mot de passe" in text(answer)
        back = required_actions(client, answer, NEW_PASSWORD)
        callback = client.get(back.headers["Location"])
        portal = client.get(bridge.url + callback.headers["Location"])
    assert f'id="um-portal-username">{student["username"]}<' in portal.text
    user = admin.get(f"/users/{student['id']}").json()
    assert user.get("requiredActions") == []
    assert not signs_in(bridge.url, student["username"], key)  # the key is spent


# --- password change while logged in (F4) -------------------------------------------------


async def test_password_change_from_the_portal(bridge: Any, make_user: Any) -> None:
    student = make_user(password=OLD_PASSWORD)
    with browser() as client:
        start = client.get(f"{bridge.url}/portal/login")
        answer = submit_login(
            client, client.get(start.headers["Location"]), student["username"], OLD_PASSWORD
        )
        client.get(bridge.url + client.get(answer.headers["Location"]).headers["Location"])
        change = client.get(f"{bridge.url}/portal/password")
        assert "kc_action=UPDATE_PASSWORD" in change.headers["Location"]
        form = client.get(change.headers["Location"])
        while form.status_code == 302:
            form = client.get(form.headers["Location"])
        assert "Choisissez votre mot de passe" in text(form)
        assert 'name="logout-sessions"' in form.text  # sign out the other sessions
        back = required_actions(client, form, NEW_PASSWORD)
        assert "kc_action_status=success" in back.headers["Location"]
        callback = client.get(back.headers["Location"])
        portal = client.get(bridge.url + callback.headers["Location"])
    assert "Votre mot de passe a été modifié" in text(portal)
    assert not signs_in(bridge.url, student["username"], OLD_PASSWORD)
    assert signs_in(bridge.url, student["username"], NEW_PASSWORD)


async def test_mail_text_mentions_the_rescue_check(bridge: Any, stack: Any, make_user: Any) -> None:
    student = make_user(password=OLD_PASSWORD)
    with browser() as client:
        ask(client, bridge, student["username"])
    body = text_of(wait_for_mails(stack.mail_dir, student["email"])[0])
    assert "vérifier votre adresse mail de secours" in body
