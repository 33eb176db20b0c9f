"""`bridge realm setup`'s own steps against the real Keycloak (the session already ran them
once, tests/conftest.py): run again they change nothing, a new charter version is recorded
and shown, the rescue-address rule follows the setting, the realm's other attributes stay."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from bridge.gateway.keycloak import RealmSetup
from bridge.gateway.keycloak.charter import charter_version, parse_ledger
from bridge.gateway.keycloak.realm_setup import CHARTER_KEY, CHARTER_LEDGER
from bridge.settings import REPO_ROOT

pytestmark = pytest.mark.anyio
DOMAINS = ("umontpellier.fr", "umontpellier.example")
VERSION = charter_version(REPO_ROOT / "themes" / "um-activation")


def setup_of(stack: Any) -> RealmSetup:
    return RealmSetup.administrator(
        stack.url, "um", stack.keycloak.admin_user, stack.keycloak.admin_password
    )


def email_validations(admin: httpx.Client) -> dict[str, Any]:
    profile = admin.get("/users/profile").json()
    [email] = [a for a in profile["attributes"] if a["name"] == "email"]
    return dict(email.get("validations") or {})


def shown_version(admin: httpx.Client, locale: str) -> str:
    return admin.get(f"/localization/{locale}/{CHARTER_KEY}").text


async def test_the_charter_ledger_records_each_version_once(
    stack: Any, admin: httpx.Client
) -> None:
    setup = setup_of(stack)
    before = admin.get("").json()["attributes"]
    assert await setup.ensure_charter(VERSION, int(time.time())) is False
    assert admin.get("").json()["attributes"][CHARTER_LEDGER] == before[CHARTER_LEDGER]
    assert parse_ledger(before[CHARTER_LEDGER])[-1].version == VERSION
    try:
        assert await setup.ensure_charter("2099-test", int(time.time())) is True
        assert [shown_version(admin, locale) for locale in ("fr", "en")] == ["2099-test"] * 2
    finally:
        assert await setup.ensure_charter(VERSION, int(time.time())) is True
    after = admin.get("").json()["attributes"]
    assert [e.version for e in parse_ledger(after[CHARTER_LEDGER])][-3:] == [
        VERSION,
        "2099-test",
        VERSION,
    ]
    assert shown_version(admin, "fr") == VERSION
    # The realm's other attributes are written back as they were (Keycloak replaces them all).
    assert {k: v for k, v in after.items() if k != CHARTER_LEDGER} == {
        k: v for k, v in before.items() if k != CHARTER_LEDGER
    }


async def test_the_rescue_address_rule_follows_the_setting(
    stack: Any, admin: httpx.Client, make_user: Any
) -> None:
    setup = setup_of(stack)
    assert await setup.ensure_rescue_email_rule(DOMAINS) is False
    assert email_validations(admin)["pattern"]["error-message"] == "um.error.rescueEmail.university"
    rep = admin.get(f"/users/{make_user()['id']}").json()
    refused = admin.put(f"/users/{rep['id']}", json={**rep, "email": "a@etu.umontpellier.fr"})
    assert refused.status_code == 400
    assert "um.error.rescueEmail.university" in refused.text
    try:
        assert await setup.ensure_rescue_email_rule([]) is True
        assert "pattern" not in email_validations(admin)
        assert email_validations(admin)["email"] == {}  # Keycloak's own check stays
    finally:
        assert await setup.ensure_rescue_email_rule(DOMAINS) is True
    assert await setup.university_addresses(DOMAINS) == 0
