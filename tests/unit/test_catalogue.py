"""The one message catalogue (docs/i18n.md): the committed messages.pot is what the sources
say, every language's messages.po follows it, and a compiled catalogue reaches the pages."""

from __future__ import annotations

import gettext
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from jinja2.ext import extract_from_ast

from bridge import i18n
from bridge.web.templating import TEMPLATE_DIR, make_templates

ROOT = Path(__file__).resolve().parents[2]
POT = i18n.LOCALE_DIR / "messages.pot"
CATALOGUES = sorted(i18n.LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))
EXTRACT = "scripts/catalogue extract"

# What the templates need from the app (bridge.app.create_app sets the same globals).
PAGE_GLOBALS: dict[str, Any] = {
    "university_name": "Université de Montpellier",
    "support_url": "https://support.example/",
    "desk_room": "salle K103",
    "desk_hours": "9h-17h",
    "dev_mode": False,
    "portal_enabled": False,
    "csrf_field": lambda request: "",
    "url_for": lambda name, **params: f"/{name}{params.get('path', '')}",
}


def read(path: Path) -> Catalog:
    with path.open("rb") as file:
        return read_po(file)


Key = tuple[str | None, str | tuple[str, ...]]


def entries(catalog: Catalog) -> dict[Key, Any]:
    """msgctxt and msgid (a tuple for plural forms) of each entry, the header left out."""
    return {(message.context, message.id): message for message in catalog if message.id}


def listed(keys: set[Key]) -> str:
    return "".join(f"\n    {msgid!r}" for _context, msgid in sorted(keys, key=repr)) or " none"


def test_the_committed_pot_is_what_the_sources_say(tmp_path: Path) -> None:
    fresh = tmp_path / "messages.pot"
    run = subprocess.run(
        ["bash", str(ROOT / "scripts" / "catalogue"), "pot", str(fresh)],
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    extracted, committed = entries(read(fresh)), entries(read(POT))
    missing, extra = extracted.keys() - committed.keys(), committed.keys() - extracted.keys()
    assert not missing and not extra, (
        f"bridge/locale/messages.pot is out of step with the sources: run `{EXTRACT}` and "
        f"commit bridge/locale.\n  in the sources, not in messages.pot:{listed(missing)}"
        f"\n  in messages.pot, no longer in the sources:{listed(extra)}"
    )
    # What translators read beside each msgid: where it is used, python-format, comments.
    stale = {
        key
        for key, message in extracted.items()
        if (
            sorted({path for path, _line in message.locations}),
            sorted(message.flags),
            message.auto_comments,
        )
        != (
            sorted({path for path, _line in committed[key].locations}),
            sorted(committed[key].flags),
            committed[key].auto_comments,
        )
    }
    assert not stale, f"run `{EXTRACT}`: these entries changed place or notes:{listed(stale)}"


def test_the_pages_look_up_the_msgids_of_the_catalogue() -> None:
    """Each template parsed by the bridge's own environment (the settings the pages render
    with: new-style gettext, `trimmed` where asked) asks for msgids of messages.pot; a
    babel.cfg out of step with bridge.i18n.install() would extract other strings."""
    env = make_templates().env
    committed = {msgid for _context, msgid in entries(read(POT))}
    asked: dict[str | tuple[str, ...], str] = {}
    for path in sorted(TEMPLATE_DIR.rglob("*.html")):
        tree = env.parse(path.read_text(encoding="utf-8"))
        for _line, _function, message in extract_from_ast(tree, babel_style=False):
            strings = tuple(s for s in message if isinstance(s, str))
            msgid = strings[0] if len(strings) == 1 else strings
            asked[msgid] = str(path.relative_to(TEMPLATE_DIR))
    assert len(asked) > 100, "the templates' sentences go through the catalogue"
    unknown = {msgid: where for msgid, where in asked.items() if msgid not in committed}
    assert not unknown, f"looked up by the pages, not in messages.pot: {unknown}"


def test_every_language_has_the_msgids_of_the_pot() -> None:
    assert CATALOGUES, "at least one translation (en) keeps the update/compile pipeline real"
    template = entries(read(POT))
    for po in CATALOGUES:
        catalog = read(po)
        language = po.parent.parent.name
        assert str(catalog.locale) == language, po
        translated = entries(catalog)
        missing, extra = template.keys() - translated.keys(), translated.keys() - template.keys()
        assert not missing and not extra, (
            f"{po.relative_to(ROOT)} is out of step with messages.pot: run `{EXTRACT}`."
            f"\n  missing:{listed(missing)}\n  extra:{listed(extra)}"
        )
        # scripts/catalogue compile would skip a catalogue whose header is fuzzy.
        assert not catalog.fuzzy, f"{po.relative_to(ROOT)}: drop '#, fuzzy' from its header"
        # A translation keeps the msgid's placeholders (%(name)s).
        problems = [(message.id, errors) for message, errors in catalog.check()]
        assert not problems, f"{po.relative_to(ROOT)}: {problems}"


def test_the_compiled_catalogues_are_the_po_files() -> None:
    """What scripts/catalogue compile built (bootstrap) says what each .po says."""
    for po in CATALOGUES:
        mo = po.with_suffix(".mo")
        assert mo.is_file(), f"{mo.relative_to(ROOT)} is missing: run `scripts/catalogue compile`"
        with mo.open("rb") as file:
            compiled = {_key(m.id): _key(m.string) for m in read_mo(file) if m.id}
        wanted = {
            _key(m.id): _key(m.string)
            for m in read(po)
            if m.id and any(_key(m.string)) and not m.fuzzy
        }
        assert compiled == wanted, f"{mo.relative_to(ROOT)} is stale: `scripts/catalogue compile`"

        language = po.parent.parent.name
        i18n.translations.cache_clear()
        loaded = i18n.translations(language)
        assert isinstance(loaded, gettext.GNUTranslations), "the .mo is found and loaded"
        for msgid in ("Retour à l'accueil", "Aide"):
            assert loaded.gettext(msgid) == (wanted.get(msgid) or msgid)


def render(name: str, **context: Any) -> str:
    return make_templates().env.get_template(name).render(**PAGE_GLOBALS, **context)


def test_pages_render_in_french_the_source_language() -> None:
    page = render("error.html", title="Page introuvable", message="Cette page n'existe pas.")
    assert '<html lang="fr">' in page
    assert "<title>Page introuvable \N{EN DASH} Université de Montpellier</title>" in page
    assert '<a href="/">Retour à l\'accueil</a>' in page
    assert 'Besoin d\'aide ? <a href="https://support.example/">Déposer une demande' in page


@pytest.fixture
def translated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An `en` catalogue with a few translations, compiled where bridge.i18n looks."""
    catalog = read(POT)
    catalog.locale = "en"  # type: ignore[assignment]
    words = {
        "Retour à l'accueil": "Back to the home page",
        "Identifiant inconnu": "Unknown username",
        "Aucun compte ne correspond à l'identifiant <strong>%(username)s</strong>.": (
            "No account has the username <strong>%(username)s</strong>."
        ),
    }
    for msgid, string in words.items():
        catalog[msgid].string = string
    target = tmp_path / "en" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "messages.mo").open("wb") as file:
        write_mo(file, catalog)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "LOCALES", (i18n.SOURCE_LOCALE, "en"))
    i18n.translations.cache_clear()
    yield tmp_path
    i18n.translations.cache_clear()


def test_a_translation_reaches_the_page_through_trans_blocks(translated: Path) -> None:
    with i18n.use_locale("en"):
        page = render("activation_unknown.html", username="<b>jm</b>")
        assert i18n.gettext("Retour à l'accueil") == "Back to the home page"
    assert '<html lang="en">' in page
    assert "<title>Unknown username \N{EN DASH} Université de Montpellier</title>" in page
    # A trimmed, multi-line {% trans %} with a variable: translated, the variable escaped.
    assert "No account has the username <strong>&lt;b&gt;jm&lt;/b&gt;</strong>." in page
    # An untranslated sentence falls back to its French msgid.
    assert "Saisir à nouveau mon identifiant" in page

    with i18n.use_locale("fr"):
        french = render("activation_unknown.html", username="<b>jm</b>")
    assert "Aucun compte ne correspond à l'identifiant <strong>&lt;b&gt;jm&lt;/b&gt;" in french
    assert "Unknown username" not in french


def _key(value: object) -> object:
    """A plural entry's id and string are a tuple in a .po, a list in a .mo."""
    return tuple(value) if isinstance(value, list | tuple) else value
