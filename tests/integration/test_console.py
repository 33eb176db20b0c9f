"""The staff console against the real Keycloak: who may do what, and what each action
leaves in Keycloak (read back with the admin API)."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from bridge.domain.deadlines import PARIS
from tests.helpers.browserless import browser, submit_login
from tests.helpers.console import console_login, post_action
from tests.helpers.forms import csrf_token
from tests.helpers.keycloak_pages import NEW_PASSWORD, required_actions, signs_in, use_link
from tests.helpers.mailbox import action_link, wait_for_mails


@pytest.fixture
def staff(make_user: Any) -> dict[str, Any]:
    return make_user(groups=("/staff",), password="Staff-pass-2026!")


@pytest.fixture
def console(bridge_url: str, staff: dict[str, Any]) -> Iterator[httpx.Client]:
    with browser() as client:
        landed = console_login(
            client, bridge_url, staff["username"], staff["password"], staff["otp_secret"]
        )
        assert landed.status_code == 303 and landed.headers["Location"] == "/console"
        yield client


def test_anonymous_goes_to_login_and_posts_are_refused(bridge_url: str) -> None:
    with browser() as client:
        home = client.get(f"{bridge_url}/console")
        assert home.status_code == 303
        assert home.headers["Location"] == "/console/login?next=%2Fconsole"
        some_id = str(uuid.uuid4())
        forged = client.post(
            f"{bridge_url}/console/accounts/{some_id}/actions/reset", data={"csrf_token": "x"}
        )
        assert forged.status_code == 303 and "/console/login" in forged.headers["Location"]
        login = client.get(f"{bridge_url}/console/login?next=https://evil.example/")
        assert login.status_code in (302, 303)
        assert "ui_locales=fr" in login.headers["Location"]


def test_keycloaks_pages_follow_the_consoles_language(bridge_url: str) -> None:
    with browser() as client:
        start = client.get(f"{bridge_url}/console/login?lang=en")
        assert start.status_code in (302, 303)
        assert "ui_locales=en" in start.headers["Location"]
        page = client.get(start.headers["Location"])
        assert 'lang="en"' in page.text, page.text[:300]


@pytest.mark.core
def test_a_student_gets_403_and_no_console_session(bridge_url: str, make_user: Any) -> None:
    student = make_user()
    with browser() as client:
        answer = console_login(client, bridge_url, student["username"], student["password"])
        assert answer.status_code == 403
        assert "réservée au service de scolarité" in answer.text
        assert "um_console" not in client.cookies
        assert client.get(f"{bridge_url}/console").status_code == 303


def test_search_by_name_ine_and_number_with_pages(
    console: httpx.Client, bridge_url: str, make_user: Any, staff: dict[str, Any]
) -> None:
    family = "Famille" + uuid.uuid4().hex[:6]
    students = [make_user(lastName=f"{family}{i:02d}") for i in range(23)]
    first = console.get(f"{bridge_url}/console", params={"q": family, "by": "name"})
    assert first.status_code == 200
    assert first.text.count('class="um-console-result"') == 20
    assert 'id="um-console-next"' in first.text
    second = console.get(f"{bridge_url}/console", params={"q": family, "by": "name", "page": 2})
    assert second.text.count('class="um-console-result"') == 3
    one = students[5]
    by_ine = console.get(
        f"{bridge_url}/console", params={"q": one["attributes"]["ine"][0].lower(), "by": "ine"}
    )
    assert f">{one['username']}<" in by_ine.text
    by_number = console.get(
        f"{bridge_url}/console",
        params={"q": one["attributes"]["supannEtuId"][0], "by": "student_number"},
    )
    assert f">{one['username']}<" in by_number.text
    bad = console.get(f"{bridge_url}/console", params={"q": "12", "by": "ine"})
    assert bad.status_code == 400 and "INE" in bad.text
    # Staff accounts are not students: Keycloak does not return them.
    hidden = console.get(f"{bridge_url}/console", params={"q": staff["username"], "by": "name"})
    assert 'id="um-console-no-result"' in hidden.text


def test_account_page_and_the_recorded_reveal(
    console: httpx.Client, bridge_url: str, make_user: Any, staff: dict[str, Any]
) -> None:
    student = make_user()
    page = console.get(f"{bridge_url}/console/accounts/{student['id']}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert 'data-state="active"' in page.text
    assert student["email"] not in page.text  # masked
    assert 'id="um-console-history-empty"' in page.text
    shown = console.post(
        f"{bridge_url}/console/accounts/{student['id']}/show-rescue-email",
        data={"csrf_token": csrf_token(page.text)},
    )
    assert shown.status_code == 200
    assert f'id="um-console-rescue-email-full">{student["email"]}<' in shown.text
    entry = re.search(r'<tr class="um-console-history-entry">(.*?)</tr>', shown.text, re.S)
    assert entry and "Adresse de secours affichée" in entry.group(1)
    assert f"<td>{staff['username']}</td>" in entry.group(1)


@pytest.mark.core
def test_reset_removes_credentials_only_and_the_student_activates_again(
    console: httpx.Client,
    bridge_url: str,
    make_user: Any,
    admin: httpx.Client,
    stack: Any,
    staff: dict[str, Any],
) -> None:
    student = make_user()
    before = admin.get(f"/users/{student['id']}").json()
    groups_before = admin.get(f"/users/{student['id']}/groups").json()
    assert signs_in(bridge_url, student["username"], student["password"])

    done = post_action(console, bridge_url, student["id"], "reset", reason="mot de passe perdu")
    assert done.status_code == 303
    page = console.get(urljoin(bridge_url, done.headers["Location"]))
    assert 'id="um-console-notice"' in page.text
    assert 'data-state="reset"' in page.text
    entry = re.search(r'<tr class="um-console-history-entry">(.*?)</tr>', page.text, re.S)
    assert entry and "Compte réinitialisé" in entry.group(1)
    assert "mot de passe perdu" in entry.group(1) and staff["username"] in entry.group(1)
    assert dt.datetime.now(PARIS).strftime("%d/%m/%Y") in entry.group(1)

    # Read back: the old password fails, nothing else changed.
    assert not signs_in(bridge_url, student["username"], student["password"])
    after = admin.get(f"/users/{student['id']}").json()
    assert admin.get(f"/users/{student['id']}/credentials").json() == []
    assert after["requiredActions"] == []
    for key in ("username", "firstName", "lastName", "email", "emailVerified", "enabled"):
        assert after[key] == before[key], key
    kept = {k: v for k, v in after["attributes"].items() if k != "umStaffAction"}
    assert kept == before["attributes"]
    assert admin.get(f"/users/{student['id']}/groups").json() == groups_before
    # Keycloak's own record: the console's service account acted (a staff token holds no
    # admin right), and the record it wrote names the staff member.
    console_client = admin.get("/clients", params={"clientId": "bridge-console"}).json()[0]
    console_account = admin.get(f"/clients/{console_client['id']}/service-account-user").json()
    events = admin.get(
        "/admin-events", params={"resourcePath": f"users/{student['id']}*", "max": 50}
    ).json()
    by_console = [e for e in events if e["operationType"] != "CREATE"]  # make_user's own
    assert {"UPDATE", "ACTION"} <= {e["operationType"] for e in by_console}
    assert {e["authDetails"]["userId"] for e in by_console} == {console_account["id"]}
    records = [
        json.loads(json.loads(e["representation"])["attributes"]["umStaffAction"][0])
        for e in by_console
        if e["operationType"] == "UPDATE"
    ]
    assert records and all(r["by"] == staff["username"] for r in records)

    # "Aucune information ne sera perdue": the student activates again.
    with browser() as client:
        form = client.get(f"{bridge_url}/activation")
        sent = client.post(
            f"{bridge_url}/activation",
            data={"csrf_token": csrf_token(form.text), "identifier": student["username"]},
        )
        assert sent.headers["Location"] == "/activation/mail-sent", sent.text[:300]
    (mail,) = wait_for_mails(stack.mail_dir, student["email"], 1)
    use_link(action_link(mail))
    assert signs_in(bridge_url, student["username"], NEW_PASSWORD)


def test_staff_cannot_act_on_staff_or_admin_accounts(
    console: httpx.Client, bridge_url: str, make_user: Any, admin: httpx.Client
) -> None:
    colleague = make_user(groups=("/staff",))
    realm_admin = make_user(groups=())
    management = admin.get("/clients", params={"clientId": "realm-management"}).json()[0]
    role = admin.get(f"/clients/{management['id']}/roles/realm-admin").json()
    admin.post(f"/users/{realm_admin['id']}/role-mappings/clients/{management['id']}", json=[role])
    # A staff member who is also in `students`: Keycloak would allow it, the console does not.
    student_worker = make_user(groups=("/students", "/staff"))
    token = csrf_token(console.get(f"{bridge_url}/console").text)
    credentials = {
        target["id"]: admin.get(f"/users/{target['id']}/credentials").json()
        for target in (colleague, realm_admin, student_worker)
    }
    for target in (colleague, realm_admin, student_worker):
        page = console.get(f"{bridge_url}/console/accounts/{target['id']}")
        assert page.status_code == 403, target["username"]
        for action in ("reset", "re-enable", "issue-activation-key"):
            forged = console.post(
                f"{bridge_url}/console/accounts/{target['id']}/actions/{action}",
                data={"csrf_token": token, "reason": "forged"},
            )
            assert forged.status_code == 403, (target["username"], action)
        assert admin.get(f"/users/{target['id']}/credentials").json() == credentials[target["id"]]
        assert "umStaffAction" not in (admin.get(f"/users/{target['id']}").json()["attributes"])


def test_rescue_email_mail_key_and_re_enable(
    console: httpx.Client,
    bridge_url: str,
    make_user: Any,
    admin: httpx.Client,
    stack: Any,
    staff: dict[str, Any],
) -> None:
    student = make_user(email=None, emailVerified=False, password=None)
    address = f"secours.{uuid.uuid4().hex[:6]}@example.org"
    refused = post_action(
        console,
        bridge_url,
        student["id"],
        "set-rescue-email",
        email="x@umontpellier.example",
        email_confirm="x@umontpellier.example",
    )
    assert refused.status_code == 400 and "personnelle" in refused.text
    too_long = post_action(
        console,
        bridge_url,
        student["id"],
        "set-rescue-email",
        email=address,
        email_confirm=address,
        reason="x" * 300,
    )
    assert too_long.status_code == 400
    assert not admin.get(f"/users/{student['id']}").json().get("email")
    done = post_action(
        console, bridge_url, student["id"], "set-rescue-email", email=address, email_confirm=address
    )
    assert done.status_code == 303
    user = admin.get(f"/users/{student['id']}").json()
    assert (user["email"], user["emailVerified"]) == (address, True)

    page = console.get(f"{bridge_url}/console/accounts/{student['id']}").text
    assert 'id="um-console-last-link">aucun' in page
    mailed = post_action(console, bridge_url, student["id"], "send-activation-mail")
    assert mailed.status_code == 303
    (mail,) = wait_for_mails(stack.mail_dir, address, 1)
    # When the link left, from Keycloak's admin event of the send (nothing on the account).
    page = console.get(f"{bridge_url}/console/accounts/{student['id']}").text
    sent_at = dt.datetime.now(PARIS).strftime("%d/%m/%Y")
    assert re.search(rf'id="um-console-last-link">{sent_at} \d\d:\d\d<', page)
    assert (
        "UPDATE_PASSWORD" in admin.get(f"/users/{student['id']}").json()["requiredActions"] or mail
    )

    letter = post_action(console, bridge_url, student["id"], "issue-activation-key")
    assert letter.status_code == 200
    key = re.search(r'id="um-letter-key" class="um-key">([^<]+)<', letter.text)
    assert key and f'id="um-letter-username">{student["username"]}<' in letter.text
    with browser() as client:
        start = client.get(f"{bridge_url}/portal/login")
        answer = submit_login(
            client, client.get(start.headers["Location"]), student["username"], key.group(1)
        )
        final = required_actions(client, answer, NEW_PASSWORD, address)
        assert final.status_code == 302 and "/portal/callback" in final.headers["Location"]

    history = console.get(f"{bridge_url}/console/accounts/{student['id']}").text
    entries = re.findall(r'<tr class="um-console-history-entry">(.*?)</tr>', history, re.S)
    assert [next(w for w in ("Clé", "Mail", "Adresse") if w in entry) for entry in entries] == [
        "Clé",
        "Mail",
        "Adresse",
    ]  # newest first
    assert all(staff["username"] in entry for entry in entries)

    disabled = make_user(enabled=False)
    assert post_action(console, bridge_url, disabled["id"], "re-enable").status_code == 303
    assert admin.get(f"/users/{disabled['id']}").json()["enabled"] is True
    expired = make_user(enabled=False)
    expired["attributes"]["validUntil"] = ["2020-12-31"]
    rep = {k: v for k, v in expired.items() if k not in ("password", "otp_secret")}
    assert admin.put(f"/users/{expired['id']}", json=rep).status_code == 204
    again = post_action(console, bridge_url, expired["id"], "re-enable")
    assert again.status_code == 409
    assert admin.get(f"/users/{expired['id']}").json()["enabled"] is False


def test_csrf_and_logout(
    console: httpx.Client, bridge_url: str, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user()
    no_token = console.post(f"{bridge_url}/console/accounts/{student['id']}/actions/reset")
    assert no_token.status_code == 403
    assert len(admin.get(f"/users/{student['id']}/credentials").json()) == 1
    stolen = console.cookies.get("um_console")
    page = console.get(f"{bridge_url}/console")
    out = console.post(f"{bridge_url}/console/logout", data={"csrf_token": csrf_token(page.text)})
    assert out.status_code == 200 and 'id="um-console-logged-out"' in out.text
    assert console.get(f"{bridge_url}/console").status_code == 303
    # The cookie replayed after logout: Keycloak refuses the token of the ended session.
    with browser() as thief:
        thief.cookies.set("um_console", stolen or "", domain="localhost", path="/console")
        replay = thief.get(f"{bridge_url}/console/accounts/{student['id']}")
        assert replay.status_code in (303, 403), replay.status_code


def test_bad_ids_actions_and_pages_get_clear_answers(
    console: httpx.Client, bridge_url: str, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user()
    for path in (
        "/console/accounts/not-an-id",
        f"/console/accounts/{uuid.uuid4()}",
        f"/console/accounts/{student['id']}/actions/delete",
        f"/console/accounts/{student['id']}/actions/show-rescue-email",
    ):
        answer = console.get(f"{bridge_url}{path}")
        assert answer.status_code == 404, path
        assert 'id="um-console-error-message"' in answer.text
    odd = console.get(f"{bridge_url}/console", params={"q": "x" * 500, "by": "nope", "page": "-3"})
    assert odd.status_code == 200
    token = csrf_token(odd.text)
    forged = console.post(
        f"{bridge_url}/console/accounts/{student['id']}/actions/delete",
        data={"csrf_token": token},
    )
    assert forged.status_code == 404
    assert len(admin.get(f"/users/{student['id']}/credentials").json()) == 1


def test_the_desk_still_works_with_the_counters_down(
    console: httpx.Client, bridge: Any, bridge_url: str, make_user: Any
) -> None:
    """Redis gone: the account page still opens (its mail count says it is unknown) and an
    activation key, which needs no counter, is still issued; a mail, which does, is a 503."""
    from bridge.gateway.redis_counters import RedisCounters
    from devstack.ports import free_ports

    student = make_user(password=None)
    working = bridge.app.state.counters
    bridge.app.state.counters = RedisCounters(f"redis://127.0.0.1:{free_ports(1)[0]}/0")
    try:
        page = console.get(f"{bridge_url}/console/accounts/{student['id']}")
        letter = post_action(console, bridge_url, student["id"], "issue-activation-key")
        mailed = post_action(console, bridge_url, student["id"], "send-activation-mail")
    finally:
        bridge.app.state.counters = working
    assert page.status_code == 200
    assert 'id="um-console-mails-today">inconnu (compteurs indisponibles)<' in page.text
    assert letter.status_code == 200 and 'id="um-letter-key"' in letter.text
    assert mailed.status_code == 503
