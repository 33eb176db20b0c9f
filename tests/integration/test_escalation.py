"""The escalation matrix (issue 15): every credential a component or a person holds, tried
against Keycloak's admin API for what it must not do, with the real Keycloak deciding.

Each row is a credential as it would leak: the three service accounts' secrets (a token
by client credentials), a staff member's token (the one the console holds, and the one a
relying app receives), a student's. Each column is an attempt on accounts created for it.
The expected cell is written below; the run prints the matrix it measured, and
docs/security.md keeps the same table (checked here, so the two cannot drift)."""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from authlib.integrations.requests_client import OAuth2Session

from bridge.gateway.keycloak.realm_setup import RealmSetup
from tests.helpers.browserless import browser, submit_login
from tests.helpers.console import console_login
from tests.helpers.report import report
from tests.helpers.tokens import service_token
from tests.integration.test_sessions_and_privileges import staff_token

DOCS = Path(__file__).parents[2] / "docs" / "security.md"

CREDENTIALS = (
    "bridge secret",
    "console secret",
    "provisioning secret",
    "staff token (console)",
    "staff token (relying app)",
    "student token (relying app)",
)
ATTEMPTS = (
    "read a staff account",
    "read a staff member who is also a student",
    "reset a staff password",
    "reset an administrator's password",
    "join staff",
    "map a role",
    "change SMTP",
    "change a client",
    "create an account outside students",
    "create an account in students",
    "read a student's INE",
    "edit a student's institutionalEmail",
    "delete a student",
)
# Refused everywhere, except the service accounts' own work on the members of `students`
# (docs/security.md, "Least privilege": what a leaked secret can still do).
STUDENT_WORK = {
    "read a student's INE",
    "edit a student's institutionalEmail",
    "delete a student",
}
SERVICE_ACCOUNTS = {"bridge secret", "console secret", "provisioning secret"}
EXPECTED = {
    (credential, attempt): (
        "allowed" if credential in SERVICE_ACCOUNTS and attempt in STUDENT_WORK else "refused"
    )
    for credential in CREDENTIALS
    for attempt in ATTEMPTS
}
# Creating accounts is the jobs' alone, and only in `students`.
EXPECTED[("provisioning secret", "create an account in students")] = "allowed"


@dataclass
class Targets:
    staff: dict[str, Any]
    staff_student: dict[str, Any]
    administrator: dict[str, Any]
    staff_group: str
    staff_role: dict[str, Any]
    portal: dict[str, Any]
    new_student: Callable[[], dict[str, Any]]


def _verdict(answer: httpx.Response) -> str:
    if answer.is_success:
        return "allowed"
    if answer.status_code in (401, 403):
        return "refused"
    return f"HTTP {answer.status_code}"


def _attempt(
    api: httpx.Client, admin: httpx.Client, attempt: str, targets: Targets
) -> httpx.Response:
    password = {"type": "password", "value": "Pris-en-main-2026!", "temporary": False}
    if attempt == "read a staff account":
        return api.get(f"/users/{targets.staff['id']}")
    if attempt == "read a staff member who is also a student":
        return api.get(f"/users/{targets.staff_student['id']}")
    if attempt == "reset a staff password":
        return api.put(f"/users/{targets.staff['id']}/reset-password", json=password)
    if attempt == "reset an administrator's password":
        return api.put(f"/users/{targets.administrator['id']}/reset-password", json=password)
    if attempt == "join staff":
        student = targets.new_student()
        return api.put(f"/users/{student['id']}/groups/{targets.staff_group}")
    if attempt == "map a role":
        student = targets.new_student()
        return api.post(f"/users/{student['id']}/role-mappings/realm", json=[targets.staff_role])
    if attempt == "change SMTP":
        realm = admin.get("").json()
        smtp = {**realm.get("smtpServer", {}), "host": "smtp.evil.example"}
        return api.put("", json={"realm": realm["realm"], "smtpServer": smtp})
    if attempt == "change a client":
        client = {**targets.portal, "redirectUris": ["https://evil.example/*"]}
        return api.put(f"/clients/{targets.portal['id']}", json=client)
    if attempt == "create an account outside students":
        username = f"intrus{secrets.token_hex(3)}"
        return api.post(
            "/users",
            json={"username": username, "enabled": True, "firstName": "I", "lastName": "N"},
        )
    if attempt == "create an account in students":
        username = f"nouveau{secrets.token_hex(3)}"
        return api.post(
            "/users",
            json={
                "username": username,
                "enabled": True,
                "firstName": "N",
                "lastName": "E",
                "groups": ["/students"],
            },
        )
    if attempt == "read a student's INE":
        student = targets.new_student()
        answer = api.get(f"/users/{student['id']}")
        if answer.is_success:
            assert answer.json()["attributes"]["ine"] == student["attributes"]["ine"]
        return answer
    if attempt == "edit a student's institutionalEmail":
        student = targets.new_student()
        rep = admin.get(f"/users/{student['id']}").json()
        rep["attributes"]["institutionalEmail"] = ["president@umontpellier.example"]
        return api.put(f"/users/{student['id']}", json=rep)
    if attempt == "delete a student":
        return api.delete(f"/users/{targets.new_student()['id']}")
    raise AssertionError(attempt)


def _relying_app_token(stack: Any, user: dict[str, Any]) -> str:
    """The access token a relying app (the portal client) receives for `user`."""
    rp = OAuth2Session(
        client_id="portal",
        client_secret=stack.secrets["UM_PORTAL_CLIENT_SECRET"],
        scope="openid",
        redirect_uri=stack.portal_redirect_uri,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    url, _ = rp.create_authorization_url(
        f"{stack.realm_url}/protocol/openid-connect/auth", code_verifier=verifier
    )
    with browser() as client:
        answer = submit_login(
            client, client.get(url), user["username"], user["password"], user["otp_secret"]
        )
    location = answer.headers["Location"]
    assert "code" in parse_qs(urlparse(location).query), location
    token = rp.fetch_token(
        f"{stack.realm_url}/protocol/openid-connect/token",
        authorization_response=location,
        code_verifier=verifier,
    )
    return str(token["access_token"])


@pytest.fixture
def targets(stack: Any, admin: httpx.Client, make_user: Any) -> Iterator[Targets]:
    staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
    staff_student = make_user(groups=("/students", "/staff"))
    # An administrator of realm `um` who is also a student: Keycloak's permissions have
    # no policy on the target's roles, so the set-up names each holder (realm_setup.py).
    administrator = make_user()
    management = admin.get("/clients", params={"clientId": "realm-management"}).json()[0]
    realm_admin = admin.get(f"/clients/{management['id']}/roles/realm-admin").json()
    mapped = admin.post(
        f"/users/{administrator['id']}/role-mappings/clients/{management['id']}",
        json=[realm_admin],
    )
    assert mapped.status_code == 204, mapped.text
    setup = RealmSetup.administrator(
        stack.url, "um", stack.keycloak.admin_user, stack.keycloak.admin_password
    )
    asyncio.run(setup.ensure_permissions())
    staff_group = admin.get("/group-by-path/staff").json()["id"]
    portal = admin.get("/clients", params={"clientId": "portal"}).json()[0]
    yield Targets(
        staff=staff,
        staff_student=staff_student,
        administrator=administrator,
        staff_group=staff_group,
        staff_role=admin.get("/roles/staff").json(),
        portal=portal,
        new_student=lambda: make_user(password=None),
    )


def _token(credential: str, stack: Any, bridge: Any, make_user: Any) -> str:
    if credential == "bridge secret":
        return service_token(stack, "bridge", "UM_BRIDGE_CLIENT_SECRET")
    if credential == "console secret":
        return service_token(stack, "bridge-console", "UM_CONSOLE_CLIENT_SECRET")
    if credential == "provisioning secret":
        return service_token(stack, "provisioning", "UM_PROVISIONING_CLIENT_SECRET")
    if credential == "staff token (console)":
        staff = make_user(groups=("/staff",), password="Staff-pass-2026!")
        with browser() as client:
            console_login(
                client, bridge.url, staff["username"], staff["password"], staff["otp_secret"]
            )
            return staff_token(bridge, client)
    if credential == "staff token (relying app)":
        return _relying_app_token(stack, make_user(groups=("/staff",), password="Staff-26!x"))
    if credential == "student token (relying app)":
        return _relying_app_token(stack, make_user())
    raise AssertionError(credential)


MEASURED: dict[tuple[str, str], str] = {}


@pytest.fixture(scope="module", autouse=True)
def print_the_matrix() -> Iterator[None]:
    """At the end of the run, the matrix as measured (a cell not run shows as missing)."""
    yield
    if MEASURED:
        report("escalation matrix (measured against Keycloak):")
        for line in matrix(MEASURED).splitlines():
            report(line)


@pytest.mark.core
@pytest.mark.parametrize("credential", CREDENTIALS)
def test_each_credential_does_only_its_job(
    credential: str,
    stack: Any,
    bridge: Any,
    admin: httpx.Client,
    make_user: Any,
    targets: Targets,
) -> None:
    token = _token(credential, stack, bridge, make_user)
    smtp_before = admin.get("").json().get("smtpServer")
    with httpx.Client(
        base_url=f"{stack.url}/admin/realms/um",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ) as api:
        for attempt in ATTEMPTS:
            MEASURED[(credential, attempt)] = _verdict(_attempt(api, admin, attempt, targets))
    # What was refused left nothing behind.
    assert admin.get("").json().get("smtpServer") == smtp_before
    assert (
        admin.get(f"/clients/{targets.portal['id']}").json()["redirectUris"]
        == (targets.portal["redirectUris"])
    )
    row = {a: MEASURED[(credential, a)] for a in ATTEMPTS}
    assert row == {a: EXPECTED[(credential, a)] for a in ATTEMPTS}


def matrix(cells: dict[tuple[str, str], str]) -> str:
    """The markdown table: one row per attempt, one column per credential."""
    lines = [
        "| attempt | " + " | ".join(CREDENTIALS) + " |",
        "|---|" + "---|" * len(CREDENTIALS),
    ]
    for attempt in ATTEMPTS:
        marks = (_mark(cells.get((c, attempt))) for c in CREDENTIALS)
        lines.append(f"| {attempt} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def _mark(cell: str | None) -> str:
    return {"allowed": "**allowed**", "refused": "refused", None: "(not run)"}.get(cell, cell or "")


def test_the_docs_keep_the_expected_matrix() -> None:
    text = DOCS.read_text(encoding="utf-8")
    table = re.search(r"<!-- escalation-matrix -->\n(.*?)\n<!-- /escalation-matrix -->", text, re.S)
    assert table, "docs/security.md lost its escalation matrix"
    assert table.group(1).strip() == matrix(EXPECTED)
