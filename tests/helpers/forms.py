"""Reading the bridge's HTML forms as a browser would."""

from __future__ import annotations

import html
import re

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: str) -> str:
    """The CSRF token of the form in `page` (its HTML); fails when the page has none."""
    match = CSRF_FIELD.search(page)
    assert match, f"no CSRF token in the page: {page[:500]}"
    return html.unescape(match.group(1))
