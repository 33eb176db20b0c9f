"""The IT charter's versions, as Keycloak keeps them (docs/keycloak.md, "The IT charter").

Keycloak's TERMS_AND_CONDITIONS action records only *when* a student accepted: the user
attribute `terms_and_conditions`, epoch seconds, written at the click (26.5.6, no form
field or event carries more). The version is recorded beside it, in the realm: the set-up
(`RealmSetup.ensure_charter`) keeps a ledger of the versions and the instant each came
into force, read from the theme's charter files, and tells the theme which version that
is; the terms page offers acceptance only while the file it shows is that version. The
version a student accepted is then the ledger's entry in force at the acceptance time.
Everything here is pure but the reading of the files."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

# The theme's charter files, one per language of the realm, in the login theme.
LANGUAGES = ("fr", "en")
# A version goes through Java's MessageFormat (the theme's msg()): no quote, no brace.
_VERSION_LINE = re.compile(r'<#assign\s+charterVersion\s*=\s*"([^"]*)"\s*/?>')
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class CharterError(ValueError):
    """The charter files cannot be used: missing, without a version, or disagreeing."""


def charter_file(theme_dir: Path, language: str) -> Path:
    return theme_dir / "login" / "charter" / f"charter_{language}.ftl"


def charter_version(theme_dir: Path) -> str:
    """The version that every language's charter file declares (one and the same)."""
    versions: dict[str, str] = {}
    for language in LANGUAGES:
        path = charter_file(theme_dir, language)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CharterError(f"{path}: {error.strerror}") from error
        found = _VERSION_LINE.findall(text)
        if len(found) != 1:
            raise CharterError(f'{path}: needs one line <#assign charterVersion = "...">')
        if not _VERSION.fullmatch(found[0]):
            raise CharterError(
                f"{path}: version {found[0][:70]!r}: letters, digits, '.', '_', '-' only"
            )
        versions[language] = found[0]
    if len(set(versions.values())) != 1:
        raise CharterError(f"the charter files declare different versions: {versions}")
    return versions[LANGUAGES[0]]


@dataclass(frozen=True)
class CharterVersion:
    version: str
    since: int  # epoch seconds: from when the set-up had it shown


@dataclass(frozen=True)
class CharterAcceptance:
    accepted_at: dt.datetime
    # None when the ledger has no version in force then (accepted before any set-up).
    version: str | None


def parse_ledger(raw: str | None) -> tuple[CharterVersion, ...]:
    """The realm attribute's JSON; an absent or unreadable one is an empty ledger."""
    if not raw:
        return ()
    try:
        entries = json.loads(raw)
        return tuple(CharterVersion(str(e["version"]), int(e["since"])) for e in entries)
    except (ValueError, TypeError, KeyError):
        return ()


def ledger_json(ledger: tuple[CharterVersion, ...]) -> str:
    return json.dumps(
        [{"version": e.version, "since": e.since} for e in ledger], separators=(",", ":")
    )


def with_version(
    ledger: tuple[CharterVersion, ...], version: str, now: int
) -> tuple[CharterVersion, ...]:
    """The ledger once `version` is in force: unchanged if it already is."""
    if ledger and ledger[-1].version == version:
        return ledger
    return (*ledger, CharterVersion(version, now))


def version_at(ledger: tuple[CharterVersion, ...], instant: int) -> str | None:
    """The version in force at `instant` (epoch seconds)."""
    found = None
    for entry in ledger:
        if entry.since <= instant:
            found = entry.version
    return found


def acceptance(
    ledger: tuple[CharterVersion, ...], accepted_at: str | None
) -> CharterAcceptance | None:
    """From the user's `terms_and_conditions` value (epoch seconds as Keycloak writes it)."""
    if not accepted_at or not accepted_at.isascii() or not accepted_at.isdigit():
        return None
    instant = int(accepted_at)
    return CharterAcceptance(
        dt.datetime.fromtimestamp(instant, dt.UTC), version_at(ledger, instant)
    )
