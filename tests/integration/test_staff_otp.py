"""The staff's second factor, enforced by Keycloak (docs/security.md, "Staff second
factor"): the realm's browser flow asks the holders of the `staff` role for a one-time
code (TOTP) after their password, and makes one without an authenticator app set one up
first. The console is never reached with a password alone; students see no new step."""

from __future__ import annotations

import html
import re
import time
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from devstack.admin import DevAdmin
from devstack.totp import counter_at, new_secret
from tests.helpers.browserless import browser, is_otp_page, page_text, submit_login, submit_otp
from tests.helpers.console import console_login
from tests.helpers.totp import fresh_code, totp_at_step

STAFF_PASSWORD = "Staff-pass-2026!"
SETUP_FORM = re.compile(r'<form[^>]*id="kc-totp-settings-form"[^>]*>', re.S)


def start_console_login(client: httpx.Client, bridge_url: str, **params: str) -> httpx.Response:
    """The console's login: its redirect to Keycloak, followed; returns Keycloak's page."""
    start = client.get(f"{bridge_url}/console/login")
    assert start.status_code in (302, 303), start.text[:300]
    url = httpx.URL(start.headers["Location"])
    return client.get(url.copy_merge_params(params) if params else url)


def assert_no_console(client: httpx.Client, bridge_url: str) -> None:
    """No console session in this browser: the bridge sends it to the login."""
    assert "um_console" not in client.cookies
    home = client.get(f"{bridge_url}/console")
    assert home.status_code == 303 and home.headers["Location"].startswith("/console/login")


def back_to_console(client: httpx.Client, bridge_url: str, answer: httpx.Response) -> None:
    """Keycloak's redirect to the console's callback, followed: the console opens."""
    assert answer.status_code == 302, page_text(answer.text)[-800:]
    callback = answer.headers["Location"]
    assert callback.startswith(f"{bridge_url}/console/"), callback
    landed = client.get(callback)
    assert landed.status_code == 303 and landed.headers["Location"] == "/console"
    home = client.get(urljoin(bridge_url, "/console"))
    assert home.status_code == 200


def form_action(page: str, form_id: str) -> str:
    match = re.search(rf'<form[^>]*id="{form_id}"[^>]*>', page, re.S)
    assert match, f"no form {form_id}: " + page_text(page)[-800:]
    action = re.search(r'\baction="([^"]+)"', match.group(0))
    assert action
    return html.unescape(action.group(1))


def stale_code(secret: str) -> str:
    """A code of the secret from 10 minutes ago: well-formed, outside the realm's window."""
    return totp_at_step(secret, counter_at() - 20)


def test_the_realm_asks_staff_for_a_code(admin: httpx.Client) -> None:
    """The realm file's flow as Keycloak imported it: bound as the browser flow, and in its
    forms, after the password, the staff's subflow (role condition, OTP form required)."""
    realm = admin.get("").json()
    assert realm["browserFlow"] == "um browser"
    policy = {key: value for key, value in realm.items() if key.startswith("otpPolicy")}
    assert policy == {
        "otpPolicyType": "totp",
        "otpPolicyAlgorithm": "HmacSHA1",
        "otpPolicyInitialCounter": 0,
        "otpPolicyDigits": 6,
        "otpPolicyLookAheadWindow": 1,
        "otpPolicyPeriod": 30,
        "otpPolicyCodeReusable": False,
    }
    executions = admin.get("/authentication/flows/um browser/executions").json()
    staff = next(
        i for i, e in enumerate(executions) if e["displayName"] == "um browser - Staff OTP"
    )
    assert executions[staff]["requirement"] == "CONDITIONAL"
    assert executions[staff - 1]["providerId"] == "auth-username-password-form"
    condition, otp_form = executions[staff + 1], executions[staff + 2]
    assert (condition["providerId"], condition["requirement"]) == (
        "conditional-user-role",
        "REQUIRED",
    )
    config = admin.get(f"/authentication/config/{condition['authenticationConfig']}").json()
    assert config["config"] == {"condUserRole": "staff", "negate": "false"}
    assert (otp_form["providerId"], otp_form["requirement"]) == ("auth-otp-form", "REQUIRED")
    configure = admin.get("/authentication/required-actions/CONFIGURE_TOTP").json()
    assert configure["enabled"] is True


@pytest.mark.core
def test_a_password_alone_never_opens_the_console(bridge_url: str, make_user: Any) -> None:
    """The right password lands on the code page (French, accessible, themed), not on the
    console; a wrong code is refused there; the code of the staff member's app opens it."""
    staff = make_user(groups=("/staff",), password=STAFF_PASSWORD)
    with browser() as client:
        login = start_console_login(client, bridge_url)
        otp_page = submit_login(client, login, staff["username"], staff["password"])
        assert is_otp_page(otp_page), page_text(otp_page.text)[-800:]
        assert '<html class="login-pf" lang="fr"' in otp_page.text
        assert "Code de l'application d'authentification" in page_text(html.unescape(otp_page.text))
        field = re.search(r'<input id="otp"[^>]*>', otp_page.text)
        assert field, otp_page.text[-1500:]
        assert 'autocomplete="one-time-code"' in field.group(0)
        assert 'inputmode="numeric"' in field.group(0)
        assert '<label for="otp"' in otp_page.text
        assert "css/um.css" in otp_page.text
        assert 'id="um-footer"' not in otp_page.text  # the students' links
        assert_no_console(client, bridge_url)

        # One wrong code: two within a second would lock the account for a minute
        # (the realm's quick-login check), which is not what this test is about.
        refused = submit_otp(client, otp_page, stale_code(staff["otp_secret"]))
        assert is_otp_page(refused), page_text(refused.text)[-800:]
        otp_page = refused
        assert "Code incorrect ou expiré" in page_text(html.unescape(refused.text))
        assert 'aria-invalid="true"' in refused.text
        assert_no_console(client, bridge_url)

        # Past the realm's quick-login window (quickLoginCheckMilliSeconds, 1 s) since the
        # wrong code: on a loaded machine the right code once came back refused right after.
        time.sleep(1.2)
        back_to_console(
            client, bridge_url, submit_otp(client, otp_page, fresh_code(staff["otp_secret"]))
        )


def test_a_used_code_is_refused_the_second_time(bridge_url: str, make_user: Any) -> None:
    """`otpPolicyCodeReusable` false: a code seen over a shoulder is worth nothing once the
    staff member has used it."""
    staff = make_user(groups=("/staff",), password=STAFF_PASSWORD)
    code = fresh_code(staff["otp_secret"])
    with browser() as first:
        login = start_console_login(first, bridge_url)
        otp_page = submit_login(first, login, staff["username"], staff["password"])
        back_to_console(first, bridge_url, submit_otp(first, otp_page, code))
    with browser() as second:
        login = start_console_login(second, bridge_url)
        otp_page = submit_login(second, login, staff["username"], staff["password"])
        replayed = submit_otp(second, otp_page, code)
        assert is_otp_page(replayed)
        assert_no_console(second, bridge_url)


def test_wrong_codes_count_as_failed_logins(
    bridge_url: str, make_user: Any, admin: httpx.Client
) -> None:
    """Guessing codes meets the realm's brute-force detection, as wrong passwords do: two
    wrong codes within a second (the quick-login check) lock the account for a minute, and
    then even the right code is refused, with the same words as a wrong one."""
    staff = make_user(groups=("/staff",), password=STAFF_PASSWORD)
    with browser() as client:
        otp_page = submit_login(
            client, start_console_login(client, bridge_url), staff["username"], STAFF_PASSWORD
        )
        for _ in range(2):
            otp_page = submit_otp(client, otp_page, stale_code(staff["otp_secret"]))
            assert is_otp_page(otp_page)
        status = admin.get(f"/attack-detection/brute-force/users/{staff['id']}").json()
        assert status["numFailures"] == 2 and status["disabled"] is True
        locked = submit_otp(client, otp_page, fresh_code(staff["otp_secret"]))
        assert is_otp_page(locked)
        assert "Code incorrect ou expiré" in page_text(html.unescape(locked.text))
        assert_no_console(client, bridge_url)


def test_staff_without_an_app_set_one_up_before_the_console(
    bridge_url: str, make_user: Any, admin: httpx.Client
) -> None:
    """A staff member with no authenticator app yet: after the password, Keycloak's set-up
    page (CONFIGURE_TOTP, themed), never the console; a wrong code does not enrol; the code
    of the key shown on the page does, and opens the console. Next time, the code page."""
    staff = make_user(groups=("/staff",), password=STAFF_PASSWORD, otp=False)
    assert staff["otp_secret"] is None
    with browser() as client:
        login = start_console_login(client, bridge_url)
        answer = submit_login(client, login, staff["username"], staff["password"])
        assert answer.status_code == 302 and "/login-actions/" in answer.headers["Location"]
        setup = client.get(answer.headers["Location"])
        assert setup.status_code == 200 and SETUP_FORM.search(setup.text), page_text(setup.text)
        text = page_text(html.unescape(setup.text))
        assert "Configurer votre application d'authentification" in text
        assert "Les comptes du personnel se connectent avec un deuxième facteur" in text
        assert 'id="kc-totp-secret-qr-code"' in setup.text
        assert 'alt="QR code à scanner' in html.unescape(setup.text)
        assert 'id="um-footer"' not in setup.text
        # Each label names its input (the stock page's did not).
        for name in ("totp", "userLabel"):
            assert f'<label for="{name}"' in setup.text and f'id="{name}"' in setup.text
        code_field = re.search(r'<input id="totp"[^>]*>', setup.text)
        assert code_field and 'autocomplete="one-time-code"' in code_field.group(0)
        assert 'inputmode="numeric"' in code_field.group(0)
        assert_no_console(client, bridge_url)

        # "Cannot scan?": the key to type, as an app takes it (base32, in groups).
        manual_link = re.search(r'<a href="([^"]+)" id="mode-manual"', setup.text)
        assert manual_link
        manual = client.get(urljoin(str(setup.url), html.unescape(manual_link.group(1))))
        key = re.search(r'<code id="kc-totp-secret-key">([^<]+)</code>', manual.text)
        assert key, page_text(manual.text)[-800:]
        secret = "".join(key.group(1).split())
        assert re.fullmatch(r"[A-Z2-7]{32,}", secret), secret
        assert "Période (secondes) : 30" in page_text(manual.text)

        def post_setup(page: httpx.Response, code: str) -> httpx.Response:
            fields = dict(
                re.findall(
                    r'<input type="hidden" id="[^"]+" name="([^"]+)" value="([^"]*)"', page.text
                )
            )
            assert "totpSecret" in fields, page.text[-1500:]
            return client.post(
                form_action(page.text, "kc-totp-settings-form"),
                data={**fields, "totp": code, "userLabel": "Téléphone pro"},
            )

        refused = post_setup(manual, stale_code(secret))
        assert refused.status_code == 200 and SETUP_FORM.search(refused.text)
        assert "Code incorrect ou expiré" in page_text(html.unescape(refused.text))
        assert not [
            c for c in admin.get(f"/users/{staff['id']}/credentials").json() if c["type"] == "otp"
        ]
        assert_no_console(client, bridge_url)

        back_to_console(client, bridge_url, post_setup(refused, fresh_code(secret)))
    (enrolled,) = [
        c for c in admin.get(f"/users/{staff['id']}/credentials").json() if c["type"] == "otp"
    ]
    assert enrolled["userLabel"] == "Téléphone pro"

    # The next sign-in asks for the code of that app.
    with browser() as client:
        answer = console_login(client, bridge_url, staff["username"], staff["password"], secret)
        assert answer.status_code == 303 and answer.headers["Location"] == "/console"


@pytest.mark.parametrize("how", ["ui_locales", "cookie"])
def test_the_code_page_speaks_english_when_asked(bridge_url: str, make_user: Any, how: str) -> None:
    """French by default (above); English with `ui_locales=en` from the application, or
    once the language menu of the login page set Keycloak's locale cookie."""
    staff = make_user(groups=("/staff",), password=STAFF_PASSWORD)
    with browser() as client:
        if how == "ui_locales":
            login = start_console_login(client, bridge_url, ui_locales="en")
        else:
            french = start_console_login(client, bridge_url)
            english = re.search(
                r'<option\s+value="([^"]+)"[^>]*>[^<]*\(English\)\s*</option>', french.text
            )
            assert english, french.text[-2000:]
            login = client.get(urljoin(str(french.url), html.unescape(english.group(1))))
            assert "KEYCLOAK_LOCALE" in client.cookies
        assert '<html class="login-pf" lang="en"' in login.text
        otp_page = submit_login(client, login, staff["username"], staff["password"])
        assert is_otp_page(otp_page)
        assert '<html class="login-pf" lang="en"' in otp_page.text
        assert "Code from your authenticator app" in otp_page.text
        refused = submit_otp(client, otp_page, stale_code(staff["otp_secret"]))
        assert "Wrong or expired code" in page_text(refused.text)
        back_to_console(
            client, bridge_url, submit_otp(client, refused, fresh_code(staff["otp_secret"]))
        )


def test_a_student_sees_no_code_page(bridge_url: str, make_user: Any, admin: httpx.Client) -> None:
    """Students are untouched: even one who set up an app (the account console lets anyone)
    is asked for its code by the stock conditional step, and one without gets no set-up
    page and no new required action: the password's answer is the portal's redirect."""
    student = make_user()
    with browser() as client:
        start = client.get(f"{bridge_url}/portal/login")
        answer = submit_login(
            client, client.get(start.headers["Location"]), student["username"], student["password"]
        )
    assert answer.status_code == 302 and answer.headers["Location"].startswith(
        f"{bridge_url}/portal/"
    )
    assert admin.get(f"/users/{student['id']}").json()["requiredActions"] == []

    with_app = make_user(otp=True)
    with browser() as client:
        start = client.get(f"{bridge_url}/portal/login")
        otp_page = submit_login(
            client,
            client.get(start.headers["Location"]),
            with_app["username"],
            with_app["password"],
        )
        assert is_otp_page(otp_page)
        answer = submit_otp(client, otp_page, fresh_code(with_app["otp_secret"]))
    assert answer.status_code == 302 and answer.headers["Location"].startswith(
        f"{bridge_url}/portal/"
    )


@pytest.mark.anyio
async def test_the_dev_stack_enrols_its_staff_member(
    stack: Any, bridge_url: str, make_user: Any, admin: httpx.Client
) -> None:
    """`make dev`'s enrolment (devstack.admin.DevAdmin.enroll_totp, with the bootstrap
    administrator): an OTP credential written through `PUT /users/{id}`, once per key, the
    account otherwise untouched; the code of that key opens the console."""
    staff = make_user(groups=("/staff",), password=STAFF_PASSWORD, otp=False)
    before = admin.get(f"/users/{staff['id']}").json()
    dev = DevAdmin.administrator(
        stack.url, "um", stack.keycloak.admin_user, stack.keycloak.admin_password
    )
    first, second = new_secret(), new_secret()
    assert await dev.enroll_totp(staff["id"], first) is True
    assert await dev.enroll_totp(staff["id"], first) is False  # restarts change nothing
    assert await dev.enroll_totp(staff["id"], second) is True  # a new key replaces the old
    otps = [c for c in admin.get(f"/users/{staff['id']}/credentials").json() if c["type"] == "otp"]
    assert len(otps) == 1 and otps[0]["userLabel"].startswith("make dev ")
    after = admin.get(f"/users/{staff['id']}").json()
    assert {k: v for k, v in after.items() if k != "totp"} == {
        k: v for k, v in before.items() if k != "totp"
    }
    with browser() as client:
        landed = console_login(client, bridge_url, staff["username"], STAFF_PASSWORD, second)
        assert landed.status_code == 303 and landed.headers["Location"] == "/console"
