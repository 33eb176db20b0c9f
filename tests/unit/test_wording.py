"""No sentence a person reads is written in Python outside the message catalogue's markers
(bridge/i18n.py: N_(), gettext()): checked on the source of the runtime package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

BRIDGE = Path(__file__).resolve().parents[2] / "bridge"


MARKERS = {"N_", "_", "gettext", "ngettext"}
# A sentence in French: an accented letter, or one of these words, in a string of 3 words+.
FRENCH = re.compile(
    r"[àâäéèêëîïôöùûüçœ]|\b(le|la|les|de|des|du|un|une|vous|votre|vos|est|pas|au|aux|et)\b",
    re.IGNORECASE,
)


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _marked(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in MARKERS:
                found.update(id(arg) for arg in ast.walk(node) if isinstance(arg, ast.Constant))
    return found


def french_sentences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    skip = _docstrings(tree) | _marked(tree)
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skip
        and len(node.value.split()) >= 3
        and FRENCH.search(node.value)
    ]


def test_no_french_sentence_outside_the_catalogue() -> None:
    found = {
        path.relative_to(BRIDGE).as_posix(): sentences
        for path in sorted(BRIDGE.rglob("*.py"))
        if (sentences := french_sentences(path))
    }
    assert found == {}, "mark these with N_() or gettext() (bridge/i18n.py)"


def test_the_wording_check_sees_an_unmarked_sentence(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Docstring: le module."""\n'
        'OK = N_("Saisissez votre identifiant.")\n'
        'BAD = "Saisissez votre identifiant."\n'
        'LOG = "could not end the session"\n'
    )
    assert french_sentences(sample) == ["Saisissez votre identifiant."]
