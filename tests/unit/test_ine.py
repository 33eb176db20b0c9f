from __future__ import annotations

import pytest

from bridge.domain.ine import (
    IneFormat,
    IneVerdict,
    InvalidIne,
    WrongIneKey,
    compare_ine,
    expected_key,
    ine_on_file,
    looks_like_ine,
    parse_ine,
)


@pytest.mark.parametrize(
    ("raw", "fmt"),
    [
        ("123456789AB", IneFormat.RNIE),
        ("0123456789M", IneFormat.BEA),  # 123456789 % 23 = 11 -> M
        ("1234567890V", IneFormat.BEA),
        ("1A2B3C4D5E0", IneFormat.BASE36),
        ("2019A12345B", IneFormat.SIFA),
        ("2024D00001Z", IneFormat.PROVISIONAL),
    ],
)
def test_valid_formats(raw: str, fmt: IneFormat) -> None:
    ine = parse_ine(raw)
    assert ine.format is fmt
    assert str(ine) == raw


def test_spaces_and_case_are_ignored() -> None:
    assert parse_ine("  0123 456 789m ").value == "0123456789M"


def test_bea_key_is_the_remainder_mod_23() -> None:
    assert expected_key("0000000000X", IneFormat.BEA) == "A"
    assert expected_key("0000000022X", IneFormat.BEA) == "Z"
    assert expected_key("0000000023X", IneFormat.BEA) == "A"


def test_base36_key() -> None:
    # 6 * (1+10+2+11+3+12+4+13+5) + base36('E')=14  -> 6*61 + 14 = 380 -> 0
    assert expected_key("1A2B3C4D5E0", IneFormat.BASE36) == "0"


@pytest.mark.parametrize("raw", ["0123456789A", "1234567890W", "1A2B3C4D5E7"])
def test_wrong_check_key_has_its_own_code(raw: str) -> None:
    with pytest.raises(WrongIneKey) as error:
        parse_ine(raw)
    assert error.value.code == "ine.check_key"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "0123456789",
        "0123456789MM",
        "ABCDEFGHIJK",
        "123456789IO",
        "0123456789I",
        "12345678-9A",
        "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19M",
    ],
)
def test_malformed(raw: str) -> None:
    with pytest.raises(InvalidIne) as error:
        parse_ine(raw)
    assert error.value.code == "ine.format"


def test_looks_like_ine_tells_it_from_an_identifier() -> None:
    assert looks_like_ine("0123456789A")  # wrong key, but INE-shaped
    assert not looks_like_ine("jmartin001")
    assert not looks_like_ine("abbbbb001")


@pytest.mark.parametrize(
    ("on_file", "verdict"),
    [
        ("0123456789M", IneVerdict.MATCH),
        (" 0123 4567 89m ", IneVerdict.MATCH),  # as the SIS may have written it
        ("1234567890V", IneVerdict.MISMATCH),
        (None, IneVerdict.NONE_ON_FILE),
        ("", IneVerdict.NONE_ON_FILE),
        ("  ", IneVerdict.NONE_ON_FILE),
        ("0123456789A", IneVerdict.NONE_ON_FILE),  # wrong check key: no valid INE equals it
        ("12345", IneVerdict.NONE_ON_FILE),
    ],
)
def test_an_ine_against_the_one_on_file(on_file: str | None, verdict: IneVerdict) -> None:
    assert compare_ine(parse_ine("0123456789M"), on_file) is verdict


def test_the_ine_on_file_is_read_as_a_typed_one() -> None:
    assert ine_on_file("0123456789m") == parse_ine("0123456789M")
    assert ine_on_file(None) is None
