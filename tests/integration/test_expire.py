"""The daily expiry job, against the real Keycloak. Accounts here are valid until
31 December 2040: the job runs "on" 2040-12-31 and 2041-01-01 (test users elsewhere are
valid until 2099)."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections import Counter
from typing import Any

import httpx
import pytest
from authlib.integrations.requests_client import OAuth2Session

from bridge.gateway.keycloak import ProvisioningGateway
from bridge.jobs.expire import _reenrolled_meanwhile, expire
from tests.helpers.browserless import browser, submit_login

pytestmark = pytest.mark.anyio
LAST_DAY = dt.date(2040, 12, 31)


def expiring(make_user: Any) -> dict[str, Any]:
    return make_user(
        attributes={
            "supannEtuId": [secrets.token_hex(4)],
            "lastEnrollmentYear": ["2039"],
            "validUntil": ["2040-12-31"],
            "eduPersonAffiliation": ["student"],
        }
    )


def tokens(stack: Any, username: str, password: str) -> dict[str, Any]:
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
        answer = submit_login(client, client.get(url), username, password)
    assert answer.status_code == 302, answer.text[:300]
    return dict(
        rp.fetch_token(
            f"{stack.realm_url}/protocol/openid-connect/token",
            authorization_response=answer.headers["Location"],
            code_verifier=verifier,
        )
    )


async def test_valid_on_31_december_expired_on_1_january(
    jobs_gateway: ProvisioningGateway, make_user: Any, admin: httpx.Client
) -> None:
    student = expiring(make_user)
    on_the_last_day = await expire(jobs_gateway, LAST_DAY)  # "at 23:59" it is still this day
    assert student["username"] not in on_the_last_day.usernames
    assert admin.get(f"/users/{student['id']}").json()["enabled"] is True

    dry = await expire(jobs_gateway, LAST_DAY + dt.timedelta(days=1), dry_run=True)
    assert student["username"] in dry.usernames
    assert admin.get(f"/users/{student['id']}").json()["enabled"] is True

    new_year = await expire(jobs_gateway, LAST_DAY + dt.timedelta(days=1))
    assert student["username"] in new_year.usernames
    after = admin.get(f"/users/{student['id']}").json()
    assert after["enabled"] is False
    assert after["attributes"]["validUntil"] == ["2040-12-31"]  # nothing else changed
    assert after["email"] == student["email"]
    again = await expire(jobs_gateway, LAST_DAY + dt.timedelta(days=1))
    assert student["username"] not in again.usernames  # idempotent


@pytest.mark.core
async def test_expired_student_cannot_sign_in_and_refresh_fails(
    stack: Any, jobs_gateway: ProvisioningGateway, make_user: Any
) -> None:
    student = expiring(make_user)
    issued = tokens(stack, student["username"], student["password"])
    await expire(jobs_gateway, LAST_DAY + dt.timedelta(days=1))
    refreshed = httpx.post(
        f"{stack.realm_url}/protocol/openid-connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": issued["refresh_token"],
            "client_id": "portal",
            "client_secret": stack.secrets["UM_PORTAL_CLIENT_SECRET"],
        },
    )
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    with pytest.raises(AssertionError):
        tokens(stack, student["username"], student["password"])


async def test_two_concurrent_runs(stack: Any, make_user: Any, admin: httpx.Client) -> None:
    students = [expiring(make_user) for _ in range(6)]

    def gateway() -> ProvisioningGateway:
        return ProvisioningGateway.service_account(
            stack.url, "um", "provisioning", stack.secrets["UM_PROVISIONING_CLIENT_SECRET"]
        )

    one, two = await asyncio.gather(
        expire(gateway(), LAST_DAY + dt.timedelta(days=1)),
        expire(gateway(), LAST_DAY + dt.timedelta(days=1)),
    )
    mine = {s["username"] for s in students}
    disabled = [u for u in one.usernames + two.usernames if u in mine]
    assert set(disabled) == mine  # every one handled, by one run or both
    assert one.disabled + two.disabled >= len(mine)
    for student in students:
        assert admin.get(f"/users/{student['id']}").json()["enabled"] is False


async def test_two_calls_an_account_and_nothing_else_changes(
    stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """A PUT of `enabled` alone and the logout: no read of the account before or after
    (the listing said it was enabled; the check pass lists again)."""
    students = [expiring(make_user) for _ in range(4)]
    before = {s["id"]: admin.get(f"/users/{s['id']}").json() for s in students}
    calls: Counter[str] = Counter()
    gateway = ProvisioningGateway.service_account(
        stack.url, "um", "provisioning", stack.secrets["UM_PROVISIONING_CLIENT_SECRET"]
    ).observe(lambda operation, _seconds, _error: calls.update([operation]))
    summary = await expire(gateway, LAST_DAY + dt.timedelta(days=1))
    assert summary.disabled >= len(students)
    assert calls["user.update"] == summary.disabled
    assert calls["user.logout"] == summary.disabled
    assert calls["user.read"] == 0
    assert summary.disabled_again == summary.reenabled == summary.left == 0
    for student in students:
        after = admin.get(f"/users/{student['id']}").json()
        assert after["enabled"] is False
        assert after["notBefore"] > 0  # the logout: tokens issued before it are refused
        assert {**after, "enabled": True, "notBefore": 0} == before[student["id"]]
        assert admin.get(f"/users/{student['id']}/credentials").json() != []


async def test_an_account_re_enrolled_meanwhile_is_enabled_again(
    jobs_gateway: ProvisioningGateway, make_user: Any, admin: httpx.Client
) -> None:
    """Provisioning re-enrolled it between the run's listing and its write (validUntil moved
    to a 31 December to come, enabled): the run disabled it, then puts it back. An account
    suspended by staff with the same validity, not disabled by the run, stays disabled."""
    today = LAST_DAY + dt.timedelta(days=1)
    attributes = {
        "supannEtuId": [secrets.token_hex(4)],
        "lastEnrollmentYear": ["2040"],
        "validUntil": ["2041-12-31"],
        "eduPersonAffiliation": ["student"],
    }
    raced = make_user(attributes=attributes)
    suspended = make_user(attributes={**attributes, "supannEtuId": [secrets.token_hex(4)]})
    assert admin.put(f"/users/{suspended['id']}", json={"enabled": False}).status_code == 204
    await jobs_gateway.disable_expired(await jobs_gateway.get_account(raced["id"]))
    lines: list[str] = []
    assert await _reenrolled_meanwhile(jobs_gateway, today, {raced["id"]}, lines.append) == 1
    assert admin.get(f"/users/{raced['id']}").json()["enabled"] is True
    assert admin.get(f"/users/{suspended['id']}").json()["enabled"] is False
