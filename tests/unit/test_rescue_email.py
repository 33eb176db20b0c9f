from __future__ import annotations

import pytest

from bridge.domain.rescue_email import InvalidRescueEmail, validate_rescue_email

UNIVERSITY = ("umontpellier.fr",)


def test_valid_address_is_normalized() -> None:
    assert (
        validate_rescue_email(" Jean.Martin@Example.ORG ", "jean.martin@example.org", UNIVERSITY)
        == "Jean.Martin@example.org"
    )


@pytest.mark.parametrize(
    ("address", "confirmation", "code"),
    [
        ("", "", "email.required"),
        ("jean", "jean", "email.format"),
        ("jean@", "jean@", "email.format"),
        ("jean@example", "jean@example", "email.format"),
        ("je an@example.org", "je an@example.org", "email.format"),
        ("jean..m@example.org", "jean..m@example.org", "email.format"),
        ("jean@exa_mple.org", "jean@exa_mple.org", "email.format"),
        ("a" * 65 + "@example.org", "a" * 65 + "@example.org", "email.format"),
        ("jean@umontpellier.fr", "jean@umontpellier.fr", "email.university"),
        ("jean@etu.UMontpellier.fr", "jean@etu.umontpellier.fr", "email.university"),
        ("jean@example.org", "jean@example.com", "email.mismatch"),
    ],
)
def test_refusals(address: str, confirmation: str, code: str) -> None:
    with pytest.raises(InvalidRescueEmail) as error:
        validate_rescue_email(address, confirmation, UNIVERSITY)
    assert error.value.code == code


def test_a_lookalike_domain_is_not_the_university() -> None:
    assert validate_rescue_email(
        "jean@notumontpellier.fr", "jean@notumontpellier.fr", UNIVERSITY
    ).endswith("@notumontpellier.fr")
