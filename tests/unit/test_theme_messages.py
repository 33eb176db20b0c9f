"""The Keycloak theme speaks French and English alike: every message key of one language
exists in the other, with the same {0}-style arguments (a missing key shows its raw name,
a missing argument drops a value from the sentence)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

THEME = Path(__file__).parents[2] / "themes" / "um-activation"
ARGUMENT = re.compile(r"\{(\d+)\}")


def messages(path: Path) -> dict[str, str]:
    """A .properties file's entries (continuation lines joined)."""
    entries: dict[str, str] = {}
    logical = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = logical + raw.lstrip() if logical else raw
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical = line[:-1]
            continue
        logical = ""
        if not line.strip() or line.lstrip().startswith(("#", "!")) or "=" not in line:
            continue
        key, value = line.split("=", 1)
        entries[key.strip()] = value
    return entries


@pytest.mark.parametrize("kind", ["login", "email"])
def test_french_and_english_have_the_same_keys_and_arguments(kind: str) -> None:
    folder = THEME / kind / "messages"
    french = messages(folder / "messages_fr.properties")
    english = messages(folder / "messages_en.properties")
    assert french, kind
    assert sorted(set(french) - set(english)) == [], "keys without English"
    assert sorted(set(english) - set(french)) == [], "keys without French"
    for key, sentence in french.items():
        assert set(ARGUMENT.findall(sentence)) == set(ARGUMENT.findall(english[key])), key
