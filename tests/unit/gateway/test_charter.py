"""The IT charter's files and version ledger, and the rescue-address rule Keycloak is given:
the pure parts of the realm set-up (the Keycloak side: tests/browser/test_keycloak_seeds.py)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from bridge.domain.errors import InvalidInput
from bridge.domain.rescue_email import validate_rescue_email
from bridge.gateway.keycloak.charter import (
    CharterError,
    CharterVersion,
    acceptance,
    charter_version,
    ledger_json,
    parse_ledger,
    version_at,
    with_version,
)
from bridge.gateway.keycloak.realm_setup import university_address_pattern
from bridge.settings import REPO_ROOT
from tests.helpers.hostile import CURATED

THEME = REPO_ROOT / "themes" / "um-activation"
DOMAINS = ("umontpellier.fr", "umontpellier.example")


def test_the_sample_charter_declares_one_version_in_both_languages() -> None:
    assert charter_version(THEME) == "2026-09-exemple"
    for language in ("fr", "en"):
        text = (THEME / "login" / "charter" / f"charter_{language}.ftl").read_text()
        assert "Article 7" in text
        assert "2026-09-exemple" in text.split("Article 7", 1)[1], "the version is in the text"


def _theme(tmp_path: Path, fr: str, en: str) -> Path:
    folder = tmp_path / "login" / "charter"
    folder.mkdir(parents=True)
    (folder / "charter_fr.ftl").write_text(fr)
    (folder / "charter_en.ftl").write_text(en)
    return tmp_path


@pytest.mark.parametrize(
    ("fr", "en", "problem"),
    [
        ('<#assign charterVersion = "v2">', '<#assign charterVersion = "v3">', "different"),
        ("<p>no version</p>", '<#assign charterVersion = "v2">', "needs one line"),
        ('<#assign charterVersion = "it\'s {0}">', "", "letters, digits"),
        ('<#assign charterVersion = "">', "", "letters, digits"),
    ],
)
def test_unusable_charter_files_are_refused(tmp_path: Path, fr: str, en: str, problem: str) -> None:
    with pytest.raises(CharterError, match=problem):
        charter_version(_theme(tmp_path, fr, en))


def test_a_missing_charter_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CharterError):
        charter_version(tmp_path)


def test_the_ledger_records_each_new_version_once() -> None:
    ledger = with_version((), "v1", 100)
    assert with_version(ledger, "v1", 200) == ledger
    ledger = with_version(ledger, "v2", 300)
    assert ledger == (CharterVersion("v1", 100), CharterVersion("v2", 300))
    assert parse_ledger(ledger_json(ledger)) == ledger
    assert [version_at(ledger, t) for t in (99, 100, 299, 300, 10**10)] == [
        None,
        "v1",
        "v1",
        "v2",
        "v2",
    ]


@pytest.mark.parametrize("raw", [None, "", "not json", "[{}]", '{"a": 1}', "[1]"])
def test_an_unreadable_ledger_is_empty(raw: str | None) -> None:
    assert parse_ledger(raw) == ()


def test_acceptance_reads_keycloaks_epoch_seconds() -> None:
    ledger = (CharterVersion("v1", 100), CharterVersion("v2", 300))
    found = acceptance(ledger, "350")
    assert found is not None
    assert found.version == "v2"
    assert found.accepted_at == dt.datetime(1970, 1, 1, 0, 5, 50, tzinfo=dt.UTC)
    assert acceptance(ledger, "50") is not None
    assert acceptance(ledger, "50").version is None  # type: ignore[union-attr]
    for raw in (None, "", "-1", "12a", "²"):
        assert acceptance(ledger, raw) is None


ADDRESSES = (
    "jean@gmail.com",
    "jean@umontpellier.fr",
    "jean@UMontpellier.FR",
    "jean@etu.umontpellier.fr",
    "jean@etu.umontpellier.example",
    "jean@notumontpellier.fr",
    "jean@umontpellier.fr.example.org",
    "jean.umontpellier.fr@example.org",
    "umontpellier.fr@gmail.com",
)


@pytest.mark.parametrize("address", ADDRESSES + tuple(a for a in CURATED if "@" in a))
def test_keycloaks_rule_is_the_bridges(address: str) -> None:
    """Keycloak's pattern validator matches the whole value (Java; the same syntax here)."""
    pattern = university_address_pattern(DOMAINS)
    assert pattern is not None
    keycloak_refuses = not re.fullmatch(pattern, address, flags=re.DOTALL)
    try:
        validate_rescue_email(address, address, DOMAINS)
        bridge_refuses_as_university = False
    except InvalidInput as error:
        bridge_refuses_as_university = error.code == "email.university"
    if bridge_refuses_as_university:
        assert keycloak_refuses, address
    elif keycloak_refuses:
        # Only a malformed address, which Keycloak's email validator refuses anyway.
        domain = address.rpartition("@")[2].lower()
        assert any(domain == d or domain.endswith("." + d) for d in DOMAINS), address


def test_no_domain_no_rule() -> None:
    assert university_address_pattern([]) is None
    assert university_address_pattern([" ", "."]) is None
