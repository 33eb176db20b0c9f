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
- `format_date()` / `format_time()` / `format_datetime()` write a date or a time the way
  the current language does (Babel), always in Europe/Paris.
- `supported()` / `negotiate()`: which of LOCALES a value or an Accept-Language header
  names (bridge.web.locales picks the reader's language with them).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gettext as _gettext
import re
from collections.abc import Iterator
from contextvars import ContextVar, Token
from functools import cache
from pathlib import Path

from babel import dates as babel_dates
from babel import negotiate_locale
from jinja2 import Environment

from bridge.domain.deadlines import PARIS  # every time a student reads is the university's

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


def switch_locale(locale: str) -> Token[str]:
    """From here on, in this context (a request, once it learns the account's language);
    `restore_locale(token)` goes back."""
    return _current.set(locale if locale in LOCALES else SOURCE_LOCALE)


def restore_locale(token: Token[str]) -> None:
    _current.reset(token)


def supported(value: object) -> str | None:
    """The language of LOCALES that `value` names ("en", "en-GB", "fr_FR"), else None:
    anything else (a path, a script, a huge string) is not a language and is dropped."""
    if not isinstance(value, str) or len(value) > 35:
        return None
    primary = value.replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LOCALES else None


# An Accept-Language header is read only when it looks like one, and only so far: a
# browser sends a few tags; a longer header is noise (or an attack), and French stands.
MAX_ACCEPT_LANGUAGE = 512
_RANGE = re.compile(r"^([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)(?:;q=([01](?:\.\d{0,3})?))?$")


def negotiate(accept_language: str | None) -> str | None:
    """The best of LOCALES for an Accept-Language header (RFC 9110 weights), or None."""
    if not accept_language or len(accept_language) > MAX_ACCEPT_LANGUAGE:
        return None
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")):
        match = _RANGE.match(item.replace(" ", ""))
        if not match or match.group(1) == "*":
            continue
        weight = float(match.group(2)) if match.group(2) else 1.0
        if weight > 0:
            weighted.append((-weight, position, match.group(1).lower()))
    preferred = [tag for _, _, tag in sorted(weighted)]
    found = negotiate_locale(preferred, list(LOCALES), sep="-")
    return supported(found)


# How each language writes a day and a time of day (Babel's CLDR data, or a pattern).
# French keeps the seeds' "23h59" in sentences; English says "December 31, 2026", with no
# day/month ambiguity, and "11:59 PM".
DATE_FORMATS = {"fr": "short", "en": "long"}
TIME_FORMATS = {"fr": "HH'h'mm", "en": "short"}
# In tables (the console): a day and a time side by side, as each language writes them.
DATETIME_FORMATS = {
    "fr": ("dd/MM/y HH:mm", "dd/MM/y HH:mm:ss"),
    "en": ("MMM d, y, h:mm a", "MMM d, y, h:mm:ss a"),
}


def _paris(value: dt.datetime) -> dt.datetime:
    return value.astimezone(PARIS) if value.tzinfo else value.replace(tzinfo=PARIS)


def format_date(value: dt.date | dt.datetime) -> str:
    """A day (a datetime: its day in Paris) in the current language."""
    day = _paris(value).date() if isinstance(value, dt.datetime) else value
    locale = current_locale()
    return babel_dates.format_date(day, DATE_FORMATS[locale], locale=locale)


def format_time(value: dt.datetime) -> str:
    """A time of day in Paris in the current language ("23h59", "11:59 PM")."""
    locale = current_locale()
    return babel_dates.format_time(_paris(value), TIME_FORMATS[locale], locale=locale)


def format_datetime(value: dt.datetime, seconds: bool = False) -> str:
    """A day and a time in Paris, for tables ("31/12/2026 23:59", "Dec 31, 2026, 11:59 PM")."""
    locale = current_locale()
    pattern = DATETIME_FORMATS[locale][1 if seconds else 0]
    return babel_dates.format_datetime(_paris(value), pattern, locale=locale)


def gettext(message: str) -> str:
    return translations(current_locale()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_locale()).ngettext(singular, plural, n)


_ = gettext


def install(env: Environment) -> None:
    """jinja2.ext.i18n with new-style gettext (`_("… %(name)s", name=x)`, escaping-aware),
    resolved at render time so that each page comes out in its reader's language;
    `current_locale()` too, for `<html lang>`, and the date and time formats (functions
    and filters alike). babel.cfg extracts with the same settings."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True
    )
    env.globals["current_locale"] = current_locale
    for function in (format_date, format_time, format_datetime):
        env.globals[function.__name__] = function
        env.filters[function.__name__] = function
