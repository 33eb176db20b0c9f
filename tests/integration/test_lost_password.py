"""Lost password (seed 004), activation keys (F2) and password change (F4), against the
real Keycloak and SMTP sink."""

from __future__ import annotations

import datetime as dt
import html
import re
import stat
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.domain.deadlines import PARIS
from bridge.domain.ine import BEA_KEYS
from bridge.gateway.keycloak import ProvisioningGateway
from bridge.jobs.activation_keys import issue_activation_keys
from tests.helpers.accounts import ine_of
from tests.helpers.browserless import browser, submit_login
from tests.helpers.forms import csrf_token
from tests.helpers.keycloak_pages import NEW_PASSWORD, required_actions, signs_in, use_link
from tests.helpers.lost_password import ask, ask_and_read, settle
from tests.helpers.mailbox import LINK, action_link, mails_for, text_of, wait_for_mails
from tests.helpers.pages import text
from tests.helpers.report import report

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
    assert "jusqu'à 23h59" in text(page)
    assert student["email"] not in page.text and "***" not in page.text  # no masked address
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
        answer, body = ask_and_read(client, bridge, student["username"])
    assert answer.status_code == 303
    page = text(httpx.Response(200, text=body))
    assert "salle K103 (1er étage du bâtiment K)" in page
    assert "du lundi au vendredi" in page
    assert 'id="um-support-link"' in body
    # Seed 004's desk, its words, and its rentrée note.
    assert "adressez-vous au personnel de l'espace numérique (K103)" in page
    assert "muni(e) de votre carte étudiant" in page
    assert "Pendant la semaine de rentrée, l'espace numérique (K103) est ouvert" in page
    # Seed 004's path has its own steps: none of the activation wizard's (seed 000) here.
    assert "Étape" not in page
    # Nothing more about the account.
    assert student["username"] not in body
    assert student["lastName"] not in body


def one_of_each(make_user: Any) -> dict[str, str]:
    """What a stranger may type: each kind of account, and nobody's identifier and INE."""
    known = make_user(password=OLD_PASSWORD)
    expired = make_user(password=OLD_PASSWORD, enabled=False)
    no_rescue = make_user(password=OLD_PASSWORD, email=None, emailVerified=False)
    unverified = make_user(password=OLD_PASSWORD, emailVerified=False)
    return {
        "known identifier": known["username"],
        "unknown identifier": "zzpersonne999",
        "known INE": ine_of(make_user(password=OLD_PASSWORD)),
        "unknown INE": "9999999999" + BEA_KEYS[9999999999 % 23],  # nobody's
        "expired": expired["username"],
        "expired, by INE": ine_of(expired),
        "no rescue address": no_rescue["username"],
        "no rescue address, by INE": ine_of(no_rescue),
        "activated, address unverified": unverified["username"],
    }


@pytest.mark.core
async def test_one_answer_whatever_matches(bridge: Any, make_user: Any) -> None:
    """The status, the redirect and the page are the same for every kind of input (the
    CSRF token blanked: it differs per session, not per account)."""
    answers = {}
    for case, login in one_of_each(make_user).items():
        with browser() as client:
            answer, body = ask_and_read(client, bridge, login)
        answers[case] = (answer.status_code, answer.headers.get("Location"), answer.text, body)
    settle(bridge)
    reference = answers["unknown identifier"]
    assert reference[:3] == (303, "/lost-password/mail-sent", "")
    assert {case: a for case, a in answers.items() if a != reference} == {}
    page = text(httpx.Response(200, text=reference[3]))
    assert "Si un compte correspond à ce que vous avez saisi" in page
    assert "courriers indésirables" in page
    assert "jusqu'à 23h59" in page
    assert "salle K103 (1er étage du bâtiment K)" in page
    assert 'id="um-support-link"' in reference[3]
    assert "***" not in page  # no masked address


async def test_only_the_known_account_gets_a_link(bridge: Any, stack: Any, make_user: Any) -> None:
    known = make_user(password=OLD_PASSWORD)
    expired_unverified = make_user(password=OLD_PASSWORD, enabled=False, emailVerified=False)
    with browser() as client:
        for login in (known["username"], expired_unverified["username"], "zzpersonne999"):
            assert ask(client, bridge, login).status_code == 303
    settle(bridge)
    action_link(wait_for_mails(stack.mail_dir, known["email"])[0])  # sent in the background
    assert mails_for(stack.mail_dir, expired_unverified["email"]) == []


async def test_an_unverified_address_of_an_activated_account_gets_the_desk_notice(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user(password=OLD_PASSWORD, emailVerified=False)
    with browser() as client:
        assert ask(client, bridge, student["username"]).status_code == 303
    (notice,) = wait_for_mails(stack.mail_dir, student["email"])
    body = text_of(notice)
    assert "n'a pas encore été vérifiée" in body
    assert "salle K103" in body and "formulaire d'assistance" in body
    assert not LINK.search(body) and "action-token" not in body
    settle(bridge)
    today = dt.datetime.now(PARIS).date().isoformat()
    assert stack.counter(f"mail:day:{student['id']}:{today}") == 1  # counted like a link


async def test_an_expired_account_gets_the_expiry_notice(
    bridge: Any, stack: Any, make_user: Any
) -> None:
    student = make_user(password=OLD_PASSWORD, enabled=False)
    with browser() as client:
        assert ask(client, bridge, ine_of(student)).status_code == 303
    (notice,) = wait_for_mails(stack.mail_dir, student["email"])
    body = text_of(notice)
    assert "réactivé automatiquement lors de votre réinscription" in body
    assert "action-token" not in body


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
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """The limit applies silently: the same answer, no second mail, one count."""
    student = make_user(password=OLD_PASSWORD)
    with browser() as client:
        assert ask(client, bridge, student["username"]).status_code == 303
        wait_for_mails(stack.mail_dir, student["email"])
        settle(bridge)
        today = dt.datetime.now(PARIS).date().isoformat()
        mails_key = f"mail:day:{student['id']}:{today}"
        assert stack.counter(mails_key) == 1
        again = ask(client, bridge, student["username"])
    assert again.status_code == 303
    assert again.headers["Location"] == "/lost-password/mail-sent"
    settle(bridge)
    assert len(mails_for(stack.mail_dir, student["email"])) == 1
    assert stack.counter(mails_key) == 1


async def test_timing_does_not_tell_known_from_unknown(bridge: Any, make_user: Any) -> None:
    """N posts each for a known and an unknown identifier, alternating: the medians of the
    answer times are close (a generous bound: the machine is shared and noisy)."""
    rounds = 15
    known = make_user(password=OLD_PASSWORD)
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    logins = {"known": known["username"], "unknown": "zzpersonne999"}
    clients = {kind: browser() for kind in logins}
    try:
        tokens = {
            kind: csrf_token(client.get(f"{bridge.url}/lost-password").text)
            for kind, client in clients.items()
        }
        for _ in range(rounds):
            for kind, client in clients.items():
                data = {"csrf_token": tokens[kind], "login": logins[kind]}
                started = time.perf_counter()
                answer = client.post(f"{bridge.url}/lost-password", data=data)
                times[kind].append(time.perf_counter() - started)
                assert answer.status_code == 303
            settle(bridge)  # each round starts with nothing pending
    finally:
        for client in clients.values():
            client.close()
    known_median = statistics.median(times["known"])
    unknown_median = statistics.median(times["unknown"])
    report(
        f"lost password, answer time medians over {rounds} posts: known "
        f"{known_median * 1000:.1f} ms, unknown {unknown_median * 1000:.1f} ms"
    )
    assert known_median < 1.5 * unknown_median + 0.050
    assert unknown_median < 1.5 * known_median + 0.050


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
