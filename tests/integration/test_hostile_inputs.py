"""Hostile input against every student form and every console form of the real bridge, with
the real Keycloak behind it: hypothesis draws the requests (tests/helpers/hostile.py) from a curated
corpus and generated text. No answer may be a 5xx or show a trace, and the accounts behind
the forms come out whole: same identity, no new account, a rescue address that is either
the old one or a valid one."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.domain.errors import InvalidInput
from bridge.domain.ratelimits import Limits
from bridge.domain.rescue_email import validate_rescue_email
from tests.helpers.browserless import browser
from tests.helpers.console import console_login
from tests.helpers.forms import csrf_token
from tests.helpers.hostile import (
    HostileRequest,
    form_requests,
    path_segments,
    query_strings,
    send,
)
from tests.helpers.report import report

STUDENT_CASES = 600
CONSOLE_CASES = 420
HYPOTHESIS = settings(
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def acceptable(answer: httpx.Response, where: str) -> None:
    assert answer.status_code < 500, f"{where}: {answer.status_code} {answer.text[:300]}"
    assert "Traceback" not in answer.text, where


def cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


@pytest.fixture
def lenient(bridge: Any) -> Iterator[None]:
    """Per-account limits out of the way, so that every drawn request reaches the code
    behind the limits (the limits have their own tests)."""
    real = bridge.app.state.settings
    bridge.app.state.settings = dataclasses.replace(
        real,
        limits=Limits(
            mails_per_network=1_000_000,
            mails_per_day=1_000_000,
            resend_interval=dt.timedelta(0),
            ine_failures_per_network=1_000_000,
            ine_backoff=dt.timedelta(0),
            lookups_per_hour=1_000_000,
        ),
    )
    try:
        yield
    finally:
        bridge.app.state.settings = real


def snapshot(client: httpx.Client, page: httpx.Response) -> tuple[str, str]:
    """The session as it stands (cookies) and its CSRF token."""
    return cookie_header(client), csrf_token(page.text)


def identity(admin: httpx.Client, user_id: str) -> dict[str, Any]:
    rep = admin.get(f"/users/{user_id}").json()
    attributes = rep.get("attributes", {})
    groups = [g["path"] for g in admin.get(f"/users/{user_id}/groups").json()]
    return {
        "username": rep["username"],
        "firstName": rep.get("firstName"),
        "lastName": rep.get("lastName"),
        "ine": attributes.get("ine"),
        "supannEtuId": attributes.get("supannEtuId"),
        "institutionalEmail": attributes.get("institutionalEmail"),
        "groups": groups,
    }


def whole(admin: httpx.Client, user: dict[str, Any], before: dict[str, Any]) -> None:
    assert identity(admin, user["id"]) == before
    email = admin.get(f"/users/{user['id']}").json().get("email")
    if email and email != user.get("email"):
        try:
            validate_rescue_email(email, email, ["umontpellier.fr", "umontpellier.example"])
        except InvalidInput as error:  # pragma: no cover - the failure message says it
            raise AssertionError(f"{user['username']}: stored rescue email {email!r}") from error


# Hundreds of requests: well under a minute or two here, but the default 300 s per test
# is too tight for a machine twice as slow.
@pytest.mark.timeout(1200)
@pytest.mark.usefixtures("lenient")
def test_student_forms_survive_hostile_input(
    bridge: Any, admin: httpx.Client, make_user: Callable[..., dict[str, Any]]
) -> None:
    no_rescue = make_user(password=None, email=None, emailVerified=False)
    with_rescue = make_user(password=None)
    url = bridge.url
    sessions: dict[str, tuple[str, str]] = {}
    with browser() as client:
        sessions["fresh"] = snapshot(client, client.get(f"{url}/activation"))
        token = sessions["fresh"][1]
        step = client.post(
            f"{url}/activation", data={"csrf_token": token, "identifier": no_rescue["username"]}
        )
        assert step.headers["Location"] == "/activation/ine"
        sessions["ine"] = snapshot(client, client.get(f"{url}/activation/ine"))
        step = client.post(
            f"{url}/activation/ine",
            data={"csrf_token": token, "ine": no_rescue["attributes"]["ine"][0]},
        )
        assert step.headers["Location"] == "/activation/rescue-email"
        sessions["rescue"] = snapshot(client, client.get(f"{url}/activation/rescue-email"))
    with browser() as client:
        page = client.get(f"{url}/activation")
        step = client.post(
            f"{url}/activation",
            data={"csrf_token": csrf_token(page.text), "identifier": with_rescue["username"]},
        )
        assert step.headers["Location"] == "/activation/mail-sent"
        sessions["mail-sent"] = snapshot(client, client.get(f"{url}/activation/mail-sent"))

    targets: dict[str, tuple[str, tuple[str, ...]]] = {
        "/activation": ("fresh", ("identifier",)),
        "/activation/ine": ("ine", ("ine",)),
        "/activation/rescue-email": ("rescue", ("email", "email_confirm")),
        "/activation/resend": ("mail-sent", ()),
        "/lost-password": ("fresh", ("login",)),
        "/portal/logout": ("fresh", ("x",)),
    }
    queries = {
        "/activation": ("step", "identifier"),
        "/activation/mail-sent": ("x",),
        "/lost-password": ("login",),
        "/lost-password/mail-sent": ("x",),
        "/help": ("lang",),
        "/portal/callback": ("code", "state", "error", "session_state"),
        "/portal": ("kc_action_status", "code"),
        "/console/callback": ("code", "state", "error"),
        "/console/login": ("next",),
    }
    before = {u["id"]: identity(admin, u["id"]) for u in (no_rescue, with_rescue)}
    accounts = admin.get("/users/count").json()
    count = 0

    @settings(HYPOTHESIS, max_examples=STUDENT_CASES)
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        nonlocal count
        count += 1
        with httpx.Client(timeout=60, follow_redirects=False) as client:
            if data.draw(st.integers(0, 5)) == 0:
                path = data.draw(st.sampled_from(sorted(queries)))
                query = data.draw(query_strings(queries[path]))
                cookies = sessions[data.draw(st.sampled_from(sorted(sessions)))][0]
                answer = client.get(f"{url}{path}?{query}", headers={"cookie": cookies})
                acceptable(answer, f"GET {path}?{query[:200]}")
                return
            path = data.draw(st.sampled_from(sorted(targets)))
            session, names = targets[path]
            request: HostileRequest = data.draw(form_requests(names or ("x",)))
            cookies, token = sessions[session]
            acceptable(send(client, f"{url}{path}", request, token, cookies), f"{path} {request}")

    case()
    for user in (no_rescue, with_rescue):
        whole(admin, user, before[user["id"]])
    assert admin.get("/users/count").json() == accounts, "an account appeared"
    report(f"hostile input, student forms: {count} cases, 0 responses >= 500")


@pytest.mark.timeout(1200)
@pytest.mark.usefixtures("lenient")
def test_console_forms_survive_hostile_input(
    bridge: Any, admin: httpx.Client, make_user: Callable[..., dict[str, Any]]
) -> None:
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    student = make_user(password=None)
    url = bridge.url
    with browser() as client:
        landed = console_login(
            client, url, staff["username"], staff["password"], staff["otp_secret"]
        )
        assert landed.status_code == 303
        token = csrf_token(client.get(f"{url}/console/accounts/{student['id']}").text)
        cookies = cookie_header(client)
    student_url = f"{url}/console/accounts/{student['id']}"
    forms = {
        f"{student_url}/actions/set-rescue-email": ("email", "email_confirm", "reason"),
        f"{student_url}/actions/send-activation-mail": ("reason",),
        f"{student_url}/actions/reset": ("reason",),
        f"{student_url}/actions/issue-activation-key": ("reason",),
        f"{student_url}/actions/re-enable": ("reason",),
        f"{student_url}/show-rescue-email": ("x",),
        # Never with a valid token: that would end the session the other cases use.
        f"{url}/console/logout": ("x",),
    }
    before = identity(admin, student["id"])
    accounts = admin.get("/users/count").json()
    count = 0

    @settings(HYPOTHESIS, max_examples=CONSOLE_CASES)
    @given(data=st.data())
    def case(data: st.DataObject) -> None:
        nonlocal count
        count += 1
        kind = data.draw(st.sampled_from(("form", "form", "form", "search", "path")))
        with httpx.Client(timeout=60, follow_redirects=False) as client:
            if kind == "search":
                query = data.draw(query_strings(("q", "by", "page")))
                answer = client.get(f"{url}/console?{query}", headers={"cookie": cookies})
                acceptable(answer, f"search {query[:200]}")
            elif kind == "path":
                segment = data.draw(path_segments())
                target = data.draw(
                    st.sampled_from(
                        (
                            f"{url}/console/accounts/{segment}",
                            f"{student_url}/actions/{segment}",
                            f"{url}/console/accounts/{segment}/actions/reset",
                        )
                    )
                )
                method = data.draw(st.sampled_from(("GET", "POST")))
                answer = client.request(
                    method, target, headers={"cookie": cookies}, data={"csrf_token": token}
                )
                acceptable(answer, f"{method} {target[:300]}")
            else:
                target = data.draw(st.sampled_from(sorted(forms)))
                request = data.draw(form_requests(forms[target]))
                if target.endswith("/logout") and request.csrf in ("valid", "repeated"):
                    request = dataclasses.replace(request, csrf="wrong")
                acceptable(send(client, target, request, token, cookies), f"{target} {request}")

    case()
    whole(admin, student, before)
    assert admin.get("/users/count").json() == accounts, "an account appeared"
    # The console session survived it all: the staff member is still signed in.
    with httpx.Client(timeout=30) as client:
        assert client.get(f"{url}/console", headers={"cookie": cookies}).status_code == 200
    report(f"hostile input, console forms: {count} cases, 0 responses >= 500")


def test_an_oversize_form_is_refused_with_413(bridge: Any) -> None:
    with browser() as client:
        page = client.get(f"{bridge.url}/activation")
        answer = client.post(
            f"{bridge.url}/activation",
            data={"csrf_token": csrf_token(page.text), "identifier": "x" * 100_000},
        )
    assert answer.status_code == 413
    assert "trop long" in answer.text
    assert re.search(r"<h1[^>]*>", answer.text)
