from __future__ import annotations

import pytest

from bridge.domain.accounts import Account, RequiredAction
from bridge.domain.activation import Branch, branch_for, ine_matches
from bridge.domain.identifiers import InvalidIdentifier, normalize_identifier
from bridge.domain.ine import parse_ine


def account(**fields: object) -> Account:
    values: dict[str, object] = {"id": "1", "username": "jmartin001", "enabled": True}
    values.update(fields)
    return Account(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "branch"),
    [
        ({"rescue_email": "j@example.org"}, Branch.SEND_MAIL),
        ({}, Branch.ASK_INE),
        ({"has_password": True, "rescue_email": "j@example.org"}, Branch.ALREADY_ACTIVE),
        ({"has_password": True}, Branch.ALREADY_ACTIVE),
        # an activation key (temporary password) is not an activation
        (
            {"has_password": True, "required_actions": (RequiredAction.SET_PASSWORD,)},
            Branch.ASK_INE,
        ),
        ({"enabled": False, "has_password": True}, Branch.EXPIRED),
        ({"enabled": False}, Branch.EXPIRED),
    ],
)
def test_step_2_branch(fields: dict[str, object], branch: Branch) -> None:
    assert branch_for(account(**fields)) is branch


def test_ine_match() -> None:
    assert ine_matches(parse_ine("0123456789m"), account(ine="0123456789M"))
    assert not ine_matches(parse_ine("1234567890V"), account(ine="0123456789M"))
    assert not ine_matches(parse_ine("1234567890V"), account())  # none on file: never


def test_identifier_normalization() -> None:
    assert normalize_identifier("  JMartin001 ") == "jmartin001"
    for raw, code in [
        ("", "identifier.required"),
        ("j martin", "identifier.format"),
        ("jmartin001<script>", "identifier.format"),
        ("é001", "identifier.format"),
        ("x" * 65, "identifier.format"),
    ]:
        with pytest.raises(InvalidIdentifier) as error:
            normalize_identifier(raw)
        assert error.value.code == code
