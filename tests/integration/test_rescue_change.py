"""Changing the rescue address from the account page (issue 18, point 1) against the real
Keycloak, SMTP sink and Redis: the link to the new address, the change only once it is
opened and confirmed, and the ways to abuse it."""

from __future__ import annotations

import datetime as dt
import html
import re
import threading
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from bridge.domain.accounts import mask_email
from bridge.domain.deadlines import PARIS
from bridge.domain.rescue_change import ChangeRequest
from bridge.web.portal.rescue_change import seal, unseal
from tests.helpers.browserless import browser, is_otp_page, submit_login, submit_otp
from tests.helpers.forms import csrf_token
from tests.helpers.hostile import values
from tests.helpers.keycloak_pages import portal_sign_in
from tests.helpers.mailbox import mails_for, text_of, wait_for_mails
from tests.helpers.pages import text
from tests.helpers.totp import fresh_code
from tests.integration.test_account_page import _rp_tokens

ACCOUNT = "/portal/espace-personnel/compte-informatique"
FORM = f"{ACCOUNT}/adresse-de-secours"
CONFIRM = "/portal/adresse-de-secours/confirmer"
LINK = re.compile(r"https?://\S+/portal/adresse-de-secours/confirmer\?\S+")


def _new_address() -> str:
    return f"new.{uuid.uuid4().hex[:8]}@example.net"


def _signed_in(client: httpx.Client, bridge: Any, student: dict[str, Any]) -> None:
    page = portal_sign_in(client, bridge.url, student["username"], student["password"])
    assert f'id="um-portal-username">{student["username"]}<' in page.text, text(page)[:800]


def _ask(client: httpx.Client, bridge: Any, typed: str, lang: str = "fr") -> httpx.Response:
    form = client.get(f"{bridge.url}{FORM}?lang={lang}")
    assert form.status_code == 200, text(form)[:500]
    return client.post(
        f"{bridge.url}{FORM}", data={"csrf_token": csrf_token(form.text), "email": typed}
    )


def _link(stack: Any, address: str, count: int = 1) -> str:
    message = wait_for_mails(stack.mail_dir, address, count)[count - 1]
    match = LINK.search(text_of(message))
    assert match, text_of(message)
    return html.unescape(match.group(0))


def _token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["t"][0]


def _confirm_page(client: httpx.Client, bridge: Any, token: str) -> httpx.Response:
    return client.get(f"{bridge.url}{CONFIRM}", params={"t": token})


def _confirm(client: httpx.Client, bridge: Any, token: str) -> httpx.Response:
    page = _confirm_page(client, bridge, token)
    assert page.status_code == 200, (page.status_code, text(page)[:500])
    return client.post(
        f"{bridge.url}{CONFIRM}", data={"csrf_token": csrf_token(page.text), "t": token}
    )


def _stored(admin: httpx.Client, student: dict[str, Any]) -> dict[str, Any]:
    stored: dict[str, Any] = admin.get(f"/users/{student['id']}").json()
    return stored


def test_the_students_own_token_cannot_change_the_rescue_address(
    stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """The Account API with the portal's token: Keycloak's user profile keeps `email`
    read-only there (the UPDATE_EMAIL required action is enabled), so the bridge's link
    is the only way to change it from the account page; the realm needs no change."""
    student = make_user()
    token = _rp_tokens(stack, student)["access_token"]
    bearer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    account = f"{stack.realm_url}/account/"
    own = httpx.get(account, headers=bearer).json()
    assert own["email"] == student["email"]
    for payload in ({**own, "email": "hijacked@example.net"}, {"email": "hijacked@example.net"}):
        answer = httpx.post(account, headers=bearer, json=payload)
        assert answer.status_code == 400, answer.text
        assert "error-user-attribute-read-only" in answer.text
    stored = _stored(admin, student)
    assert stored["email"] == student["email"] and stored["emailVerified"] is True


def test_the_change_is_made_only_once_the_link_is_confirmed(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user()
    old, new = student["email"], _new_address()
    with browser() as client:
        _signed_in(client, bridge, student)
        page = client.get(f"{bridge.url}{ACCOUNT}")
        assert f'id="um-rescue-change" href="{FORM}"' in page.text
        asked = _ask(client, bridge, new)
        assert asked.status_code == 303 and asked.headers["Location"] == f"{FORM}/envoye"
        sent = client.get(f"{bridge.url}{FORM}/envoye")
        assert mask_email(new) in sent.text and new not in sent.text
        assert "valable aujourd'hui jusqu'à 23h59" in text(sent)
    # The mail: to the new address only, in French, a link that names no address.
    (mail,) = wait_for_mails(stack.mail_dir, new)
    assert "confirmez votre nouvelle adresse" in str(mail["Subject"])
    body = text_of(mail)
    assert student["username"] not in body and old not in body
    link = _link(stack, new)
    assert new not in link and old not in link and "lang=fr" in link
    assert _stored(admin, student)["email"] == old  # nothing yet

    # Opened on another device, not signed in: the GET only shows the button.
    with browser() as phone:
        page = _confirm_page(phone, bridge, _token(link))
        assert page.status_code == 200 and 'id="um-rescue-confirm"' in page.text
        assert mask_email(new) in page.text
        assert _stored(admin, student)["email"] == old
        done = _confirm(phone, bridge, _token(link))
        assert done.status_code == 200, text(done)[:500]
        assert 'id="um-rescue-done"' in done.text and mask_email(new) in done.text
    stored = _stored(admin, student)
    assert stored["email"] == new and stored["emailVerified"] is True
    # The previous address got a notice, without a link.
    (notice,) = wait_for_mails(stack.mail_dir, old)
    assert "http" not in text_of(notice) and mask_email(new) in text_of(notice)
    # The account page shows the new address, masked.
    with browser() as client:
        _signed_in(client, bridge, student)
        page = client.get(f"{bridge.url}{ACCOUNT}")
        assert f'id="um-it-account-rescue-email">{mask_email(new)}<' in page.text


def test_a_link_used_twice_is_refused_the_second_time(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user()
    new = _new_address()
    with browser() as client:
        _signed_in(client, bridge, student)
        assert _ask(client, bridge, new).status_code == 303
    token = _token(_link(stack, new))
    with browser() as first:
        page = _confirm_page(first, bridge, token)
        form = {"csrf_token": csrf_token(page.text), "t": token}
        assert first.post(f"{bridge.url}{CONFIRM}", data=form).status_code == 200
        # The same POST again (a double click, a replay): refused, in words.
        again = first.post(f"{bridge.url}{CONFIRM}", data=form)
        assert again.status_code == 410 and "Ce lien a déjà servi" in text(again)
    # Forwarded, leaked: opened elsewhere, it says so too.
    with browser() as other:
        page = _confirm_page(other, bridge, token)
        assert page.status_code == 410 and "Ce lien a déjà servi" in text(page)
        english = other.get(f"{bridge.url}{CONFIRM}", params={"t": token, "lang": "en"})
        assert "This link has already been used" in text(english)
    assert _stored(admin, student)["email"] == new
    assert len(mails_for(stack.mail_dir, student["email"])) == 1  # one notice only


def test_two_parallel_confirmations_apply_once(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user()
    new = _new_address()
    with browser() as client:
        _signed_in(client, bridge, student)
        assert _ask(client, bridge, new).status_code == 303
    token = _token(_link(stack, new))
    clients = [browser() for _ in range(4)]
    forms = [_confirm_page(c, bridge, token) for c in clients]
    answers: list[int] = []
    start = threading.Barrier(len(clients))

    def post(c: httpx.Client, form: httpx.Response) -> None:
        start.wait()
        answer = c.post(
            f"{bridge.url}{CONFIRM}", data={"csrf_token": csrf_token(form.text), "t": token}
        )
        answers.append(answer.status_code)

    threads = [
        threading.Thread(target=post, args=pair) for pair in zip(clients, forms, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for c in clients:
        c.close()
    assert sorted(answers) == [200, 410, 410, 410], answers
    assert _stored(admin, student)["email"] == new
    assert len(wait_for_mails(stack.mail_dir, student["email"])) == 1


def test_a_tampered_or_forged_link_changes_nothing(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user()
    new = _new_address()
    with browser() as client:
        _signed_in(client, bridge, student)
        assert _ask(client, bridge, new).status_code == 303
    token = _token(_link(stack, new))
    flipped = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    secret = bridge.app.state.settings.session_secret
    change = unseal(secret, token)
    assert change is not None
    # Sealed with another key: an attacker's own link to their own address.
    foreign = seal(
        "not-the-secret", ChangeRequest(**{**change.__dict__, "new_address": "x@evil.example"})
    )
    with browser() as other:
        for bad in (flipped, foreign, "", "garbage", token + "x", "A" * 5000):
            page = _confirm_page(other, bridge, bad)
            assert page.status_code == 400, (bad[:20], page.status_code)
            assert "Ce lien n'est pas valide" in text(page)
    assert _stored(admin, student)["email"] == student["email"]
    # The genuine link still works afterwards.
    with browser() as owner:
        assert _confirm(owner, bridge, token).status_code == 200


def test_an_expired_link_is_refused(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client, clock: Any
) -> None:
    student = make_user()
    new = _new_address()
    with browser() as client:
        _signed_in(client, bridge, student)
        assert _ask(client, bridge, new).status_code == 303
    token = _token(_link(stack, new))
    change = unseal(bridge.app.state.settings.session_secret, token)
    assert change is not None
    # Past 23:59:59 Paris of its day: the bridge's clock moved to the next morning.
    deadline = dt.datetime.fromtimestamp(change.deadline, PARIS)
    clock(deadline + dt.timedelta(hours=8))
    with browser() as other:
        page = _confirm_page(other, bridge, token)
        assert page.status_code == 410 and "Ce lien a expiré" in text(page)
    clock(None)
    # A link sealed with the app's own key but an earlier deadline (a forged old link).
    secret = bridge.app.state.settings.session_secret
    old = seal(secret, ChangeRequest(**{**change.__dict__, "deadline": change.deadline - 86400}))
    with browser() as other:
        page = _confirm_page(other, bridge, old)
        assert page.status_code == 410
        english = other.get(f"{bridge.url}{CONFIRM}", params={"t": old, "lang": "en"})
        assert "This link has expired" in text(english)
    assert _stored(admin, student)["email"] == student["email"]


def test_a_link_made_before_another_change_cannot_undo_it(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user()
    new, meanwhile = _new_address(), _new_address()
    with browser() as client:
        _signed_in(client, bridge, student)
        assert _ask(client, bridge, new).status_code == 303
    token = _token(_link(stack, new))
    # Staff (or the activation wizard) set another address meanwhile.
    rep = _stored(admin, student)
    assert admin.put(f"/users/{student['id']}", json={**rep, "email": meanwhile}).status_code == 204
    with browser() as other:
        page = _confirm_page(other, bridge, token)
        assert page.status_code == 409 and "a changé depuis" in text(page)
    assert _stored(admin, student)["email"] == meanwhile


@pytest.mark.parametrize(
    ("typed", "lang", "message"),
    [
        ("jeanne@umontpellier.fr", "fr", "pas une adresse de l'université"),
        ("jeanne@etu.umontpellier.example", "en", "not a university one"),
        ("pas une adresse", "fr", "Cette adresse mail n'est pas valide"),
        ("garbage", "en", "This email address is not valid"),
        ("x" * 400 + "@example.net", "fr", "Cette adresse mail n'est pas valide"),
        ("a@example.net\r\nBcc: victim@example.org", "fr", "Cette adresse mail n'est pas valide"),
        ("a@example.net\nSubject: hi", "en", "This email address is not valid"),
        ("", "fr", "Saisissez votre nouvelle adresse mail de secours"),
    ],
)
def test_hostile_input_is_refused_in_the_readers_language(
    bridge: Any,
    stack: Any,
    make_user: Any,
    admin: httpx.Client,
    typed: str,
    lang: str,
    message: str,
) -> None:
    student = make_user()
    with browser() as client:
        _signed_in(client, bridge, student)
        answer = _ask(client, bridge, typed, lang)
    assert answer.status_code == 400, (answer.status_code, text(answer)[:500])
    assert message in text(answer) and 'id="um-error-summary"' in answer.text
    assert "victim@example.org" not in answer.text
    assert _stored(admin, student)["email"] == student["email"]
    assert mails_for(stack.mail_dir, "victim@example.org") == []


def test_the_same_address_and_the_limits(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user()
    with browser() as client:
        _signed_in(client, bridge, student)
        same = _ask(client, bridge, student["email"].upper())
        assert same.status_code == 400 and "C'est déjà l'adresse" in text(same)
        first, second = _new_address(), _new_address()
        assert _ask(client, bridge, first).status_code == 303
        # The per-account interval between two mails, as every mail of the account.
        limited = _ask(client, bridge, second)
        assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert mails_for(stack.mail_dir, second) == []


def test_asking_needs_a_signed_in_student_and_the_csrf_token(bridge: Any, make_user: Any) -> None:
    with browser() as anonymous:
        answer = anonymous.get(f"{bridge.url}{FORM}")
        assert answer.status_code == 303 and answer.headers["Location"] == "/portal/login"
    student = make_user()
    with browser() as client:
        _signed_in(client, bridge, student)
        refused = client.post(f"{bridge.url}{FORM}", data={"email": _new_address()})
        assert refused.status_code == 403
        confirm = client.post(f"{bridge.url}{CONFIRM}", data={"t": "x"})
        assert confirm.status_code == 403


@settings(deadline=None, database=None, suppress_health_check=list(HealthCheck), max_examples=60)
@given(typed=values(), token=values())
def test_drawn_hostile_values_never_break_or_write(
    bridge: Any, stack: Any, signed_in_form: tuple[httpx.Client, str], typed: str, token: str
) -> None:
    """Whatever is typed in the form or put in the link: a worded answer below 500, and no
    mail to an address that was not a plain one."""
    client, form_token = signed_in_form
    answer = client.post(f"{bridge.url}{FORM}", data={"csrf_token": form_token, "email": typed})
    assert answer.status_code < 500 and "Traceback" not in answer.text, answer.text[:300]
    assert answer.status_code in (303, 400, 429), answer.status_code
    page = client.get(f"{bridge.url}{CONFIRM}", params={"t": token})
    assert page.status_code == 400, page.status_code
    posted = client.post(f"{bridge.url}{CONFIRM}", data={"csrf_token": form_token, "t": token})
    assert posted.status_code == 400, posted.status_code


@pytest.fixture(scope="module")
def signed_in_form(bridge: Any, stack: Any) -> Iterator[tuple[httpx.Client, str]]:
    """One signed-in student for every drawn case (its mails are limited, as they should)."""
    with stack.admin() as admin:
        suffix = uuid.uuid4().hex[:8]
        rep = {
            "username": f"t{suffix}",
            "enabled": True,
            "firstName": "Jeanne",
            "lastName": f"Test{suffix}",
            "email": f"rescue.{suffix}@example.org",
            "emailVerified": True,
            "groups": ["/students"],
            "credentials": [{"type": "password", "value": "Test-pass-2026!", "temporary": False}],
        }
        assert admin.post("/users", json=rep).status_code == 201
    with browser() as client:
        page = portal_sign_in(client, bridge.url, rep["username"], "Test-pass-2026!")
        assert f'id="um-portal-username">{rep["username"]}<' in page.text, text(page)[:500]
        form = client.get(f"{bridge.url}{FORM}")
        yield client, csrf_token(form.text)


def test_a_staff_member_cannot_change_their_address_here(
    bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """The bridge's credential does not reach a member of staff (docs/security.md): the
    change is refused in words, nothing sent."""
    staff = make_user(groups=("/staff",))
    new = _new_address()
    with browser() as client:
        start = client.get(f"{bridge.url}/portal/login")
        otp_page = submit_login(
            client, client.get(start.headers["Location"]), staff["username"], staff["password"]
        )
        assert is_otp_page(otp_page), text(otp_page)[:300]
        answer = submit_otp(client, otp_page, fresh_code(staff["otp_secret"]))
        assert answer.status_code == 302, text(answer)[:300]
        callback = client.get(answer.headers["Location"])
        client.get(urljoin(bridge.url, callback.headers["Location"]))
        refused = _ask(client, bridge, new)
    assert refused.status_code == 403, (refused.status_code, text(refused)[:300])
    assert "ne se change pas ici" in text(refused)
    assert mails_for(stack.mail_dir, new) == []
    assert _stored(admin, staff)["email"] == staff["email"]
