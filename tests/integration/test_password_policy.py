"""The realm's password policy (SPEC F5), exercised through the gateway's password write
(dev tooling: the product sets passwords only through Keycloak's pages) with the bridge's
service account: Keycloak refuses, the gateway says Rejected with the reason."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.domain.errors import Rejected
from devstack.admin import DevAdmin

pytestmark = pytest.mark.anyio


@pytest.fixture
def gateway(stack: Any) -> DevAdmin:
    return DevAdmin.service_account(
        stack.url, "um", "bridge", stack.secrets["UM_BRIDGE_CLIENT_SECRET"]
    )


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("abcdefg12", "invalidPasswordMinLengthMessage"),  # 9 characters
        ("abcdefghij1", "invalidPasswordRegexPatternMessage"),  # one non-alphabetic only
        ("abcdéfgh12!", "invalidPasswordRegexPatternMessage"),  # accented letter
        ("abcd efgh12", "invalidPasswordRegexPatternMessage"),  # space
        ('abcdefgh12"', "invalidPasswordRegexPatternMessage"),  # double quote
        ("abcdefgh12'", "invalidPasswordRegexPatternMessage"),  # apostrophe
        ("abcdefgh12\\", "invalidPasswordRegexPatternMessage"),  # backslash
        ("abcdefgh12`", "invalidPasswordRegexPatternMessage"),  # backtick
        ("abcdefgh12€", "invalidPasswordRegexPatternMessage"),  # non-ASCII
    ],
)
async def test_policy_refuses(
    gateway: DevAdmin, make_user: Any, password: str, reason: str
) -> None:
    user = make_user(password=None)
    with pytest.raises(Rejected) as refused:
        await gateway.set_password(user["id"], password, temporary=False)
    assert refused.value.code == reason


@pytest.mark.parametrize("password", ["abcdefgh12", "Gr4nd-Ciel!x", "ma-phrase-de-passe-2026"])
async def test_policy_accepts(gateway: DevAdmin, make_user: Any, admin: Any, password: str) -> None:
    user = make_user(password=None)
    await gateway.set_password(user["id"], password, temporary=False)
    credentials = admin.get(f"/users/{user['id']}/credentials").json()
    assert [c["type"] for c in credentials] == ["password"]


async def test_password_equal_to_identifier_is_refused(gateway: DevAdmin, make_user: Any) -> None:
    user = make_user(password=None, username="abc-2026-99")
    with pytest.raises(Rejected):
        await gateway.set_password(user["id"], "abc-2026-99", temporary=False)
