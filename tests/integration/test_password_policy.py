"""The realm's password policy (SPEC F5), exercised through the bridge's own gateway with
the bridge's service account: Keycloak refuses, the gateway says Rejected with the reason."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.domain.errors import Rejected
from bridge.gateway.keycloak import KeycloakGateway

pytestmark = pytest.mark.anyio


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
    gateway: KeycloakGateway, make_user: Any, password: str, reason: str
) -> None:
    user = make_user(password=None)
    with pytest.raises(Rejected) as refused:
        await gateway.set_password(user["id"], password, temporary=False)
    assert refused.value.code == reason


@pytest.mark.parametrize("password", ["abcdefgh12", "Gr4nd-Ciel!x", "ma-phrase-de-passe-2026"])
async def test_policy_accepts(
    gateway: KeycloakGateway, make_user: Any, admin: Any, password: str
) -> None:
    user = make_user(password=None)
    await gateway.set_password(user["id"], password, temporary=False)
    credentials = admin.get(f"/users/{user['id']}/credentials").json()
    assert [c["type"] for c in credentials] == ["password"]


async def test_password_equal_to_identifier_is_refused(
    gateway: KeycloakGateway, make_user: Any
) -> None:
    user = make_user(password=None, username="abc-2026-99")
    with pytest.raises(Rejected):
        await gateway.set_password(user["id"], "abc-2026-99", temporary=False)
