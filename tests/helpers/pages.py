"""Reading the bridge's pages as a person would."""

from __future__ import annotations

import html
import re

import httpx


def text(response: httpx.Response) -> str:
    """The page's text: markup dropped, entities decoded, white space collapsed."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text)))
