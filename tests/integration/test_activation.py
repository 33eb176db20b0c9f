"""Activation, seed 000 steps 1 to 5, against the real Keycloak and SMTP sink."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import html
import json
import re
import secrets
import time
from typing import Any
from urllib.parse import urljoin

import httpx
import itsdangerous
import pytest

from bridge.domain.accounts import mask_email
from bridge.domain.deadlines import PARIS
from bridge.domain.ratelimits import Limits
from bridge.flows.counters import MemoryCounters
from tests.helpers.accounts import attribute, ine_of, last_link_at
from tests.helpers.activation import follow, post, start
from tests.helpers.browserless import browser, submit_login
from tests.helpers.forms import csrf_token
from tests.helpers.keycloak_pages import NEW_PASSWORD, use_link, use_link_in
from tests.helpers.mailbox import action_link, mails_for, text_of, wait_for_mails
from tests.helpers.pages import text

OTHER_STUDENTS_INE = "1234567890V"  # valid BEA key, but not the test student's


# --- helpers ---------------------------------------------------------------------------


def no_rescue_student(make_user: Any) -> dict[str, Any]:
    student = make_user(password=None, email=None, emailVerified=False)
    assert not student.get("email")
    return student


# --- step 1 and 2 ----------------------------------------------------------------------


def test_malformed_identifier_gets_a_clear_400(bridge: Any) -> None:
    with browser() as client:
        answer = start(client, bridge, "j martin<script>")
    assert answer.status_code == 400
    assert "Cet identifiant n'a pas la bonne forme" in text(answer)
    assert "<script>" not in answer.text


def test_unknown_identifier_gets_the_seed_advice(bridge: Any) -> None:
    with browser() as client:
        answer = start(client, bridge, "zzinconnu999")
    assert answer.status_code == 404
    page = text(answer)
    assert "Vérifiez tout d'abord que vous entrez correctement votre identifiant" in page
    assert "au minimum 15 minutes auparavant, contactez votre service de scolarité" in page
    assert 'id="um-support-link"' in answer.text


def test_expired_account_has_its_own_message(bridge: Any, make_user: Any) -> None:
    student = make_user(password=None, enabled=False, attributes={"validUntil": ["2025-12-31"]})
    with browser() as client:
        answer = start(client, bridge, student["username"])
    assert answer.status_code == 403
    page = text(answer)
    assert "Votre compte a expiré le 31/12/2025" in page
    assert "Vos données sont conservées" in page
    assert not mails_for(bridge.app.state.settings.mail_dir, student["email"])


def test_activated_account_is_sent_to_lost_password(bridge: Any, make_user: Any) -> None:
    student = make_user()  # has a password of their own
    with browser() as client:
        answer = start(client, bridge, student["username"].upper())  # case is ignored
        assert answer.status_code == 409
        assert 'href="/lost-password"' in answer.text
        # And the INE path stays closed: there is no wizard state to use it with.
        assert client.get(f"{bridge.url}/activation/ine").status_code == 303


def test_account_activated_meanwhile_is_refused_the_ine_path(
    bridge: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = no_rescue_student(make_user)
    with browser() as client:
        assert start(client, bridge, student["username"]).headers["Location"] == "/activation/ine"
        admin.put(
            f"/users/{student['id']}/reset-password",
            json={"type": "password", "value": "Deja-Active-1", "temporary": False},
        ).raise_for_status()
        answer = post(client, bridge, "/activation/ine", ine=ine_of(student))
    assert answer.status_code == 409


# --- branch "rescue email on file": steps 3, 3-1 ----------------------------------------


@pytest.mark.core
def test_rescue_email_on_file_gets_the_mail(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user(password=None)
    with browser() as client:
        page = follow(client, bridge, start(client, bridge, student["username"]))
    assert page.status_code == 200
    assert "Étape 3 : Envoi du mail d'activation" in text(page)
    masked = re.search(r'id="um-masked-email">([^<]+)<', page.text)
    assert masked and masked.group(1).startswith("r***") and "@e***e.org" in masked.group(1)
    assert student["email"] not in page.text
    assert "jusqu'à 23h59" in text(page)
    assert "courriers indésirables" in text(page)

    [mail] = wait_for_mails(stack.mail_dir, student["email"])
    assert mail["Subject"] == "Votre compte informatique : lien pour choisir votre mot de passe"
    body = text_of(mail)
    assert "valable jusqu'à 23h59 (heure de Paris)" in body
    assert "reprenez la procédure depuis le début" in body
    assert mail.get_body(preferencelist=("html",)) is not None
    today = dt.datetime.now(PARIS).date().isoformat()
    # Counted where every replica counts (Redis); staff read the send in Keycloak's admin
    # events; nothing is written on the account.
    assert stack.counter(f"mail:day:{student['id']}:{today}") == 1
    assert last_link_at(admin, student["id"]) is not None
    assert attribute(admin, student["id"], "umMailsSent") is None  # no counter in Keycloak
    assert attribute(admin, student["id"], "umLastMailAt") is None


def test_resend_waits_for_the_interval_then_sends(
    bridge: Any, stack: Any, make_user: Any, clock: Any
) -> None:
    student = make_user(password=None)
    now = dt.datetime.now(PARIS).replace(hour=10, minute=0, second=0, microsecond=0)
    clock(now)
    with browser() as client:
        follow(client, bridge, start(client, bridge, student["username"]))
        too_soon = post(client, bridge, "/activation/resend")
        assert too_soon.status_code == 429
        assert "Patientez 60 secondes" in text(too_soon)
        assert too_soon.headers["Retry-After"] == "60"
        assert len(wait_for_mails(stack.mail_dir, student["email"])) == 1

        clock(now + dt.timedelta(seconds=61))
        again = post(client, bridge, "/activation/resend")
        assert again.headers["Location"] == "/activation/mail-sent"
        assert "Étape 3-1 : Renvoi du mail d'activation" in text(follow(client, bridge, again))
    assert len(wait_for_mails(stack.mail_dir, student["email"], count=2)) == 2


def test_daily_mail_limit(bridge: Any, stack: Any, make_user: Any, admin: httpx.Client) -> None:
    today = dt.datetime.now(PARIS).date().isoformat()
    student = make_user(password=None)
    stack.set_counter(f"mail:day:{student['id']}:{today}", Limits().mails_per_day)
    with browser() as client:
        answer = start(client, bridge, student["username"])
    assert answer.status_code == 429
    # The student is told that the links already sent still work (no lockout: docs/security.md).
    assert "aucun autre ne partira avant demain" in text(answer)
    assert "Le lien du dernier mail reçu reste valable jusqu'à 23h59" in text(answer)
    time.sleep(1)
    assert not mails_for(stack.mail_dir, student["email"])


def test_yesterdays_count_does_not_limit_today(bridge: Any, stack: Any, make_user: Any) -> None:
    yesterday = (dt.datetime.now(PARIS).date() - dt.timedelta(days=1)).isoformat()
    student = make_user(password=None)
    stack.set_counter(f"mail:day:{student['id']}:{yesterday}", 5)
    with browser() as client:
        assert start(client, bridge, student["username"]).status_code == 303


# --- branch "no rescue email": steps 4, 4-1, 5 ------------------------------------------


@pytest.mark.core
def test_no_rescue_email_goes_through_the_ine(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = no_rescue_student(make_user)
    today = dt.datetime.now(PARIS).date().isoformat()
    with browser() as client:
        answer = start(client, bridge, student["username"])
        assert answer.headers["Location"] == "/activation/ine"
        assert (
            "Étape 4 : Modification de l'adresse mail de secours (Authentification à partir "
            "de l'INE)" in text(follow(client, bridge, answer))
        )
        # The rescue-email step is closed until the INE is proven.
        assert client.get(f"{bridge.url}/activation/rescue-email").status_code == 303

        wrong_key = post(client, bridge, "/activation/ine", ine="0123456789A")
        assert wrong_key.status_code == 400
        assert "vérifiez le dernier caractère" in text(wrong_key)
        malformed = post(client, bridge, "/activation/ine", ine="12345")
        assert malformed.status_code == 400
        assert "n'a pas la bonne forme" in text(malformed)
        failures = f"ine:fail:{student['id']}:{today}"
        assert stack.counter(failures) == 0  # typos don't count

        someone_else = post(client, bridge, "/activation/ine", ine=OTHER_STUDENTS_INE)
        assert someone_else.status_code == 400
        assert "ne correspond pas à votre compte" in text(someone_else)
        assert stack.counter(failures) == 1

        spaced = ine_of(student)
        spaced = f" {spaced[:4]} {spaced[4:8]} {spaced[8:].lower()} "
        right = post(client, bridge, "/activation/ine", ine=spaced)
        assert right.headers["Location"] == "/activation/rescue-email"
        assert "Étape 4-1 : Modification de l'adresse mail de secours" in text(
            follow(client, bridge, right)
        )

        mismatch = post(
            client,
            bridge,
            "/activation/rescue-email",
            email="jeanne@example.org",
            email_confirm="jeanne@example.com",
        )
        assert mismatch.status_code == 400
        assert "Les deux adresses saisies sont différentes" in text(mismatch)
        own_domain = post(
            client,
            bridge,
            "/activation/rescue-email",
            email="j@etu.umontpellier.example",
            email_confirm="j@etu.umontpellier.example",
        )
        assert own_domain.status_code == 400
        assert "adresse personnelle" in text(own_domain)
        assert not admin.get(f"/users/{student['id']}").json().get("email")  # nothing written

        address = f"perso.{student['username']}@example.net"
        done = post(
            client, bridge, "/activation/rescue-email", email=address, email_confirm=address.upper()
        )
        step_5 = text(follow(client, bridge, done))
        assert "Consultez votre messagerie" in step_5
        # Seed 000: the page after step 4-1 is step 5, not step 3.
        assert "Étape 5 : Envoi du mail d'activation sur l'adresse mail de secours" in step_5
        assert "Étape 3" not in step_5
    stored = admin.get(f"/users/{student['id']}").json()
    assert stored["email"] == address
    assert stored["emailVerified"] is False
    wait_for_mails(stack.mail_dir, address)


@pytest.mark.core
def test_no_ine_on_file_sends_the_student_to_the_desk_uncounted(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """Neither an INE nor a rescue address on file: no INE can ever match, so the first
    well-formed one gets the desk in seed 004's words, every time, never counted or locked
    (docs/activation.md, "No INE on file")."""
    student = make_user(password=None, email=None, emailVerified=False, attributes={})
    stored = admin.get(f"/users/{student['id']}").json()
    assert not stored.get("email") and "ine" not in (stored.get("attributes") or {})
    today = dt.datetime.now(PARIS).date().isoformat()
    with browser() as client:
        assert start(client, bridge, student["username"]).headers["Location"] == "/activation/ine"
        typo = post(client, bridge, "/activation/ine", ine="12345")
        assert typo.status_code == 400  # a typo is still told as one
        limit = Limits().ine_failures_per_network
        for _ in range(limit + 2):  # past the day's allowance: still the desk, not a lock
            desk = post(client, bridge, "/activation/ine", ine=OTHER_STUDENTS_INE)
            assert desk.status_code == 409
        page = text(desk)
        assert "ne correspond pas" not in page
        assert "adressez-vous au personnel de l'espace numérique (K103)" in page
        assert "salle K103 (1er étage du bâtiment K)" in page
        assert "muni(e) de votre carte étudiant" in page
        assert (
            "Pendant la semaine de rentrée, l'espace numérique (K103) est ouvert pour "
            "l'activation de votre compte informatique." in page
        )
        assert "Étape 4 : Modification de l'adresse mail de secours" in page
        assert 'id="um-support-link"' in desk.text
        assert 'id="ine"' not in desk.text  # a page of its own, not the form's error
        assert stack.counter(f"ine:fail:{student['id']}:{today}") == 0
        # And the rescue-address step stays closed.
        assert client.get(f"{bridge.url}/activation/rescue-email").status_code == 303
    assert not admin.get(f"/users/{student['id']}").json().get("email")


def test_ine_failures_lock_the_step_here_until_tomorrow(
    bridge: Any, make_user: Any, admin: httpx.Client, clock: Any
) -> None:
    student = no_rescue_student(make_user)
    with browser() as client:
        start(client, bridge, student["username"])
        for _ in range(5):
            assert (
                post(client, bridge, "/activation/ine", ine=OTHER_STUDENTS_INE).status_code == 400
            )
        locked = post(client, bridge, "/activation/ine", ine=ine_of(student))  # even the right one
        assert locked.status_code == 429
        assert "bloquée ici jusqu'à demain" in text(locked)

        clock(dt.datetime.now(PARIS) + dt.timedelta(days=1))
        start(client, bridge, student["username"])
        assert post(client, bridge, "/activation/ine", ine=ine_of(student)).status_code == 303


def test_change_of_rescue_email_after_the_ine(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client, clock: Any
) -> None:
    student = make_user(password=None)
    now = dt.datetime.now(PARIS).replace(hour=9, minute=0, second=0, microsecond=0)
    clock(now)
    with browser() as client:
        page = follow(client, bridge, start(client, bridge, student["username"]))
        assert 'href="/activation/ine"' in page.text  # "Modifier l'adresse mail de secours"
        assert post(client, bridge, "/activation/ine", ine=ine_of(student)).status_code == 303
        clock(now + dt.timedelta(minutes=2))
        address = f"nouvelle.{student['username']}@example.com"
        done = post(
            client, bridge, "/activation/rescue-email", email=address, email_confirm=address
        )
        assert done.headers["Location"] == "/activation/mail-sent"
    assert admin.get(f"/users/{student['id']}").json()["email"] == address
    wait_for_mails(stack.mail_dir, address)


def test_the_previous_address_is_told_of_the_change(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client, clock: Any
) -> None:
    """A short plain-text notice to the address that was on file: no link, the new address
    masked only. The new address gets the activation link as usual."""
    student = make_user(password=None)
    old = student["email"]
    with browser() as client:
        start(client, bridge, student["username"])
        clock(dt.datetime.now(PARIS) + dt.timedelta(minutes=2))  # past the resend interval
        assert post(client, bridge, "/activation/ine", ine=ine_of(student)).status_code == 303
        new = f"Nouvelle.{student['username']}@example.com"
        done = post(client, bridge, "/activation/rescue-email", email=new, email_confirm=new)
        assert done.headers["Location"] == "/activation/mail-sent"
    wait_for_mails(stack.mail_dir, new)
    notices = [m for m in wait_for_mails(stack.mail_dir, old, count=2) if not _is_action(m)]
    assert len(notices) == 1
    [notice] = notices
    assert notice["Subject"] == "Votre compte informatique : adresse mail de secours modifiée"
    assert notice.get_content_type() == "text/plain"
    body = text_of(notice)
    assert student["username"] in body and f"vient d'être remplacée par {mask_email(new)}" in body
    assert new.lower() not in body.lower()
    assert "http" not in body and "www." not in body  # no link to follow
    stored = admin.get(f"/users/{student['id']}").json()
    assert (stored["email"], stored["emailVerified"]) == (new.lower(), False)  # Keycloak lowercases


def _is_action(message: Any) -> bool:
    return "lien pour choisir votre mot de passe" in str(message["Subject"])


def _ine_step_done(client: httpx.Client, bridge: Any, student: dict[str, Any]) -> httpx.Cookies:
    """Steps 1 and 4 for a student without a rescue address; the session cookie as it is
    then, copied (what an attacker who saved it holds)."""
    assert start(client, bridge, student["username"]).headers["Location"] == "/activation/ine"
    assert post(client, bridge, "/activation/ine", ine=ine_of(student)).status_code == 303
    return httpx.Cookies(client.cookies)


def _replay(bridge: Any, cookies: httpx.Cookies, csrf: str, address: str) -> httpx.Response:
    with browser() as thief:
        thief.cookies.update(cookies)
        thief.um_csrf = csrf  # type: ignore[attr-defined]
        return post(thief, bridge, "/activation/rescue-email", email=address, email_confirm=address)


@pytest.mark.core
def test_a_replayed_wizard_cookie_is_refused(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """The INE proof is good for one address write. The proof is a nonce whose digest waits
    in the shared store, under the account, and is spent (compare-and-delete) by the write:
    the cookie saved after step 4, sent again after step 4-1, matches nothing."""
    student = no_rescue_student(make_user)
    with browser() as client:
        saved = _ine_step_done(client, bridge, student)
        assert stack.held(f"ine:proof:{student['id']}")
        address = f"vraie.{student['username']}@example.net"
        done = post(
            client, bridge, "/activation/rescue-email", email=address, email_confirm=address
        )
        assert done.headers["Location"] == "/activation/mail-sent"
        csrf = client.um_csrf  # type: ignore[attr-defined]
        after_step_5 = httpx.Cookies(client.cookies)
    assert stack.held(f"ine:proof:{student['id']}") is None  # spent by the write
    wait_for_mails(stack.mail_dir, address)

    thief = f"voleur.{student['username']}@example.net"
    replayed = _replay(bridge, saved, csrf, thief)
    assert replayed.status_code == 303 and replayed.headers["Location"] == "/activation"
    # And the cookie the wizard left after step 5 no longer opens step 4-1 at all.
    assert _replay(bridge, after_step_5, csrf, thief).headers["Location"] == "/activation"
    stored = admin.get(f"/users/{student['id']}").json()
    assert stored["email"] == address
    time.sleep(1)
    assert not mails_for(stack.mail_dir, thief)
    assert len(mails_for(stack.mail_dir, address)) == 1  # no notice, no second link


def test_a_new_ine_check_retires_the_previous_proof(
    bridge: Any, make_user: Any, admin: httpx.Client
) -> None:
    """Two browsers prove the same INE: only the latest proof can write."""
    student = no_rescue_student(make_user)
    with browser() as first, browser() as second:
        _ine_step_done(first, bridge, student)
        _ine_step_done(second, bridge, student)
        address = f"premier.{student['username']}@example.net"
        stale = post(
            first, bridge, "/activation/rescue-email", email=address, email_confirm=address
        )
        assert stale.headers["Location"] == "/activation"
        assert not admin.get(f"/users/{student['id']}").json().get("email")
        address = f"second.{student['username']}@example.net"
        done = post(
            second, bridge, "/activation/rescue-email", email=address, email_confirm=address
        )
        assert done.headers["Location"] == "/activation/mail-sent"


def _session_cookie(secret: str, session: dict[str, Any]) -> str:
    """What Starlette's SessionMiddleware sets: base64 JSON, signed and timestamped."""
    payload = base64.b64encode(json.dumps(session).encode())
    return itsdangerous.TimestampSigner(secret).sign(payload).decode()


def test_a_forged_wizard_cookie_is_refused(
    bridge: Any, make_user: Any, admin: httpx.Client
) -> None:
    """A wizard at step 4-1 written by hand: refused with a wrong signature (Starlette drops
    the session), and refused with the right one too (a leaked UM_SESSION_SECRET): the
    proof the account waits for is not in the cookie's gift."""
    student = no_rescue_student(make_user)
    with browser() as client:
        start(client, bridge, student["username"])  # a real wizard, at step 4
        assert post(client, bridge, "/activation/ine", ine=OTHER_STUDENTS_INE).status_code == 400
        genuine = client.cookies["um_session"]
    payload = genuine.split(".")[0]
    session = json.loads(base64.b64decode(payload))
    session["activation"]["ine_proof"] = secrets.token_urlsafe(32)
    address = f"forge.{student['username']}@example.net"
    form = {"csrf_token": session["csrf"], "email": address, "email_confirm": address}
    secret = bridge.app.state.settings.session_secret
    wrong_key = _session_cookie("not-the-bridge-key-" + secrets.token_urlsafe(32), session)
    right_key = _session_cookie(secret, session)
    # The tampered payload under the genuine timestamp and signature.
    tampered = base64.b64encode(json.dumps(session).encode()).decode()
    spliced = ".".join([tampered, *genuine.split(".")[1:]])
    for forged in (wrong_key, spliced, right_key):
        with browser() as forger:
            forger.cookies.set("um_session", forged)
            answer = forger.post(f"{bridge.url}/activation/rescue-email", data=form)
        assert answer.status_code == 303 and answer.headers["Location"] == "/activation"
    assert not admin.get(f"/users/{student['id']}").json().get("email")


# --- after the link ----------------------------------------------------------------------


@pytest.mark.core
def test_link_sets_the_password_and_the_student_signs_in_to_the_portal(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user(password=None, emailVerified=False)
    with browser() as client:
        start(client, bridge, student["username"])
    link = action_link(wait_for_mails(stack.mail_dir, student["email"])[0])

    with browser() as client:
        done = use_link_in(client, link, NEW_PASSWORD)
        assert done.status_code == 200
        assert "votre mot de passe est enregistré" in text(done)
        back = re.search(r'href="([^"]+)"[^>]*>\s*» Se connecter au portail', done.text)
        assert back, done.text[-1500:]
        # "Se connecter au portail": the portal's login, then Keycloak's form.
        portal_login = client.get(html.unescape(back.group(1)))
        authorize = client.get(portal_login.headers["Location"])
        answer = submit_login(client, authorize, student["username"], NEW_PASSWORD)
        callback = client.get(answer.headers["Location"])
        portal = client.get(urljoin(bridge.url, callback.headers["Location"]))
    assert f'id="um-portal-username">{student["username"]}<' in portal.text
    user = admin.get(f"/users/{student['id']}").json()
    assert user["emailVerified"] is True  # opening the link proved the rescue address
    assert "UPDATE_PASSWORD" not in user.get("requiredActions", [])


@pytest.mark.core
def test_link_works_only_once(bridge: Any, stack: Any, make_user: Any) -> None:
    student = make_user(password=None)
    with browser() as client:
        start(client, bridge, student["username"])
    link = action_link(wait_for_mails(stack.mail_dir, student["email"])[0])
    assert "votre mot de passe est enregistré" in text(use_link(link))
    second = use_link(link, "Autre-mdp-2026")
    assert "votre mot de passe est enregistré" not in text(second)
    assert "expiré ou a déjà servi" in text(second) or "a expiré" in text(second)


def test_mail_scanner_fetches_do_not_consume_the_link(
    bridge: Any, stack: Any, make_user: Any
) -> None:
    """A mail gateway opens links before the student does, without cookies, sometimes
    twice, sometimes following the page's own links. Keycloak answers the link with a page
    and a "continue" link; the token is spent only when the required actions are completed
    (UPDATE_PASSWORD is a one-time action: Keycloak invalidates the token at the end of the
    flow, not on a GET)."""
    student = make_user(password=None)
    with browser() as client:
        start(client, bridge, student["username"])
    link = action_link(wait_for_mails(stack.mail_dir, student["email"])[0])
    for _ in range(2):
        with browser() as scanner:
            assert scanner.head(link).status_code < 500
            page = scanner.get(link)
            assert page.status_code == 200
            proceed = re.search(r'href="([^"]*login-actions/action-token[^"]*)"', page.text)
            assert proceed, page.text[:500]
            followed = scanner.get(html.unescape(proceed.group(1)))
            assert followed.status_code in (200, 302, 303)
    done = use_link(link)
    assert "votre mot de passe est enregistré" in text(done)


def test_link_is_refused_after_its_deadline(
    bridge: Any, stack: Any, make_user: Any, clock: Any
) -> None:
    """23:59:57 on the bridge's clock: Keycloak gets a 2-second lifespan."""
    student = make_user(password=None)
    clock(dt.datetime.now(PARIS).replace(hour=23, minute=59, second=57, microsecond=0))
    with browser() as client:
        page = follow(client, bridge, start(client, bridge, student["username"]))
        assert "Il ne reste que 0 minute(s)" in text(page)
    link = action_link(wait_for_mails(stack.mail_dir, student["email"])[0])
    time.sleep(3)
    expired = use_link(link)
    assert "votre mot de passe est enregistré" not in text(expired)
    assert "a expiré" in text(expired)


def test_charter_is_accepted_on_the_same_path(bridge: Any, stack: Any, make_user: Any) -> None:
    settings = bridge.app.state.settings
    bridge.app.state.settings = dataclasses.replace(settings, charter=True)
    try:
        student = make_user(password=None)
        with browser() as client:
            start(client, bridge, student["username"])
    finally:
        bridge.app.state.settings = settings
    link = action_link(wait_for_mails(stack.mail_dir, student["email"])[0])
    seen: list[str] = []
    with browser() as client:
        original_post = client.post

        def recording_post(url: str, **kwargs: Any) -> httpx.Response:
            seen.append(re.sub(r".*execution=([A-Z_]+).*", r"\1", url))
            return original_post(url, **kwargs)

        client.post = recording_post  # type: ignore[method-assign]
        done = use_link_in(client, link, NEW_PASSWORD)
    assert sorted(seen) == ["TERMS_AND_CONDITIONS", "UPDATE_PASSWORD"]
    assert "votre mot de passe est enregistré" in text(done)


def test_english_student_gets_the_mail_in_english(bridge: Any, stack: Any, make_user: Any) -> None:
    student = make_user(password=None)
    student_attributes = student["attributes"]
    student_attributes["locale"] = ["en"]
    with stack.admin() as admin:
        rep = admin.get(f"/users/{student['id']}").json()
        rep["attributes"] = {**rep.get("attributes", {}), "locale": ["en"]}
        admin.put(f"/users/{student['id']}", json=rep).raise_for_status()
    with browser() as client:
        start(client, bridge, student["username"])
    [mail] = wait_for_mails(stack.mail_dir, student["email"])
    assert mail["Subject"] == "Your IT account: link to choose your password"
    assert "this link is valid until 23:59 (Paris time)" in text_of(mail)


# --- failures and per-address limit ------------------------------------------------------


def test_smtp_down_gives_a_clear_page_and_consumes_nothing(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user(password=None)
    stack.stop_smtp()
    try:
        with browser() as client:
            answer = start(client, bridge, student["username"])
    finally:
        stack.start_smtp()
    assert answer.status_code == 503
    assert "Rien n'a été modifié" in text(answer)
    today = dt.datetime.now(PARIS).date().isoformat()
    assert stack.counter(f"mail:day:{student['id']}:{today}") == 0  # given back
    assert last_link_at(admin, student["id"]) is None
    with browser() as client:  # and it works once the mail server is back
        assert start(client, bridge, student["username"]).status_code == 303
    wait_for_mails(stack.mail_dir, student["email"])


def _rescue_email_with_smtp_down(
    client: httpx.Client, bridge: Any, stack: Any, address: str
) -> httpx.Response:
    """Step 4-1 posted while the mail sink is stopped (started again whatever happens)."""
    stack.stop_smtp()
    try:
        form = {"email": address, "email_confirm": address}
        return post(client, bridge, "/activation/rescue-email", **form)
    finally:
        stack.start_smtp()


def test_smtp_down_at_step_4_1_puts_the_previous_address_back(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client, clock: Any
) -> None:
    """Keycloak mails the link to the address on file, so the new address is written first;
    when the mail cannot leave, the previous address and its verified flag are put back
    before the 503, so that "Rien n'a été modifié" is true. The proof is spent all the same."""
    student = make_user(password=None)  # a verified address on file
    old = student["email"]
    new = f"panne.{student['username']}@example.net"
    with browser() as client:
        start(client, bridge, student["username"])
        wait_for_mails(stack.mail_dir, old)  # step 3's mail, before the sink stops
        clock(dt.datetime.now(PARIS) + dt.timedelta(minutes=2))
        assert post(client, bridge, "/activation/ine", ine=ine_of(student)).status_code == 303
        with_proof = httpx.Cookies(client.cookies)
        today = dt.datetime.now(PARIS).date().isoformat()
        mails_key = f"mail:day:{student['id']}:{today}"
        last_mail = last_link_at(admin, student["id"])
        assert stack.counter(mails_key) == 1 and last_mail  # step 3's mail
        answer = _rescue_email_with_smtp_down(client, bridge, stack, new)
        assert answer.status_code == 503
        assert "Rien n'a été modifié" in text(answer)
        csrf = client.um_csrf  # type: ignore[attr-defined]
    stored = admin.get(f"/users/{student['id']}").json()
    assert (stored["email"], stored["emailVerified"]) == (old, True)
    assert stack.counter(mails_key) == 1  # the failed send was given back
    assert last_link_at(admin, student["id"]) == last_mail
    assert stack.held(f"ine:proof:{student['id']}") is None  # the attempt spent it
    # The sink is back: the same cookie cannot try again without the INE.
    assert _replay(bridge, with_proof, csrf, new).headers["Location"] == "/activation"
    time.sleep(1)
    assert not mails_for(stack.mail_dir, new) and len(mails_for(stack.mail_dir, old)) == 1


def test_smtp_down_at_step_4_1_leaves_no_address_where_there_was_none(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = no_rescue_student(make_user)
    with browser() as client:
        _ine_step_done(client, bridge, student)
        new = f"panne.{student['username']}@example.net"
        answer = _rescue_email_with_smtp_down(client, bridge, stack, new)
    assert answer.status_code == 503
    stored = admin.get(f"/users/{student['id']}").json()
    assert not stored.get("email") and stored["emailVerified"] is False
    today = dt.datetime.now(PARIS).date().isoformat()
    assert stack.counter(f"mail:day:{student['id']}:{today}") == 0  # given back
    with browser() as client:  # and the whole path works once the mail server is back
        _ine_step_done(client, bridge, student)
        done = post(client, bridge, "/activation/rescue-email", email=new, email_confirm=new)
        assert done.headers["Location"] == "/activation/mail-sent"
    wait_for_mails(stack.mail_dir, new)


def test_per_address_limit(bridge: Any, make_user: Any) -> None:
    settings, counters = bridge.app.state.settings, bridge.app.state.counters
    # Fresh counters: the session's other tests posted from this address too.
    bridge.app.state.settings = dataclasses.replace(settings, address_limit=(2, 600))
    bridge.app.state.counters = MemoryCounters()
    try:
        with browser() as client:
            assert start(client, bridge, "zzinconnu001").status_code == 404
            assert start(client, bridge, "zzinconnu002").status_code == 404
            third = start(client, bridge, "zzinconnu003")
    finally:
        bridge.app.state.settings, bridge.app.state.counters = settings, counters
    assert third.status_code == 429
    assert "Trop de demandes depuis votre connexion" in text(third)


def test_posting_without_the_csrf_token_is_refused(bridge: Any, make_user: Any) -> None:
    student = make_user(password=None)
    answer = httpx.post(
        f"{bridge.url}/activation",
        data={"identifier": student["username"]},
        headers={"accept": "text/html"},
    )
    assert answer.status_code == 403


@pytest.mark.parametrize("path", ["/activation/mail-sent", "/activation/rescue-email"])
def test_later_steps_without_a_wizard_go_back_to_step_1(bridge: Any, path: str) -> None:
    answer = httpx.get(f"{bridge.url}{path}")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/activation"


@pytest.mark.anyio
async def test_keycloak_down_gives_a_clear_503_page(free_port_url: str) -> None:
    """The bridge pointed at a port where no Keycloak answers."""
    from bridge.app import create_app
    from bridge.settings import Settings

    settings = Settings.from_env(
        {
            "UM_KEYCLOAK_URL": free_port_url,
            "UM_BRIDGE_CLIENT_SECRET": "x",
            "UM_SESSION_SECRET": secrets.token_urlsafe(32),
        }
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as client:
        page = await client.get("/activation")
        answer = await client.post(
            "/activation",
            data={"csrf_token": csrf_token(page.text), "identifier": "jmartin001"},
            headers={"accept": "text/html"},
        )
    assert answer.status_code == 503
    assert "Service momentanément indisponible" in answer.text
    assert "Rien n'a été modifié" in html.unescape(answer.text)
