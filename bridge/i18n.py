"""The one message catalogue: gettext, French as the source language.

Every sentence a person reads (pages, errors, console labels, mails) is a msgid in French,
in the code or a template, extracted by Babel into `bridge/locale/messages.pot`; a language
other than French is a translation of that catalogue (`bridge/locale/<lang>/LC_MESSAGES/
messages.po`, compiled to `.mo` by scripts/bootstrap). The domain holds no wording: it
gives codes, and the web layer and the jobs pick the sentence.

- `N_()` marks a sentence where it is written (a module-level table) without translating
  it: it is translated where it is used, in the reader's language.
- `gettext()` / `ngettext()` translate into the language of the current request or job
  (`use_locale()`), French when none is set.
- `install()` gives Jinja2 the same functions (`{% trans %}`, `_()`), autoescape-safe.
"""

from __future__ import annotations

import contextlib
import gettext as _gettext
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from jinja2 import Environment

DOMAIN = "messages"
LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LOCALE = "fr"
LOCALES = (SOURCE_LOCALE, "en")

_current: ContextVar[str] = ContextVar("um_locale", default=SOURCE_LOCALE)


def N_(message: str) -> str:
    return message


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The compiled catalogue of `locale`; the source language needs none (its msgids are
    the sentences), so a missing `.mo` falls back to them."""
    return _gettext.translation(DOMAIN, LOCALE_DIR, languages=[locale], fallback=True)


def current_locale() -> str:
    return _current.get()


@contextlib.contextmanager
def use_locale(locale: str) -> Iterator[None]:
    token = _current.set(locale if locale in LOCALES else SOURCE_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).ngettext(singular, plural, n)


_ = gettext


def install(env: Environment) -> None:
    """jinja2.ext.i18n with new-style gettext (`_("… %(name)s", name=x)`, escaping-aware),
    resolved at render time so that each page comes out in its reader's language;
    `current_locale()` too, for `<html lang>`. babel.cfg extracts with the same settings."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True
    )
    env.globals["current_locale"] = current_locale
