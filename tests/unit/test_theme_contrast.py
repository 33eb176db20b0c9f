"""The theme's colours against WCAG 2.1's contrast ratios, computed from the stylesheet
itself (themes/um-activation/login/resources/css/um.css): the focus indicator needs 3:1
against what it sits on (1.4.11), text 4.5:1 (1.4.3)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (
    Path(__file__).resolve().parents[2]
    / "themes"
    / "um-activation"
    / "login"
    / "resources"
    / "css"
    / "um.css"
).read_text()


def colour(name: str) -> str:
    match = re.search(rf"--{name}:\s*(#[0-9a-fA-F]{{6}})\s*;", CSS)
    assert match, f"--{name} is not a #rrggbb colour in um.css"
    return match.group(1)


def luminance(hex_colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    lighter, darker = sorted((luminance(a), luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_formula() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#ffbf47", "#ffffff") < 3  # the old ring: about 1.6:1


@pytest.mark.parametrize("background", ["um-surface", "um-bg"])
def test_the_focus_ring_stands_out_on_the_pages(background: str) -> None:
    assert contrast(colour("um-focus"), colour(background)) >= 3


def test_the_halo_stands_out_where_the_ring_does_not() -> None:
    """On the primary colour (header, buttons) the dark ring may vanish: the halo must not."""
    assert contrast(colour("um-focus-halo"), colour("um-primary")) >= 3
    assert contrast(colour("um-focus-halo"), colour("um-focus")) >= 3


@pytest.mark.parametrize("name", ["um-text", "um-muted", "um-danger", "um-success", "um-primary"])
def test_text_colours_read_on_white_and_on_the_page(name: str) -> None:
    for background in ("um-surface", "um-bg"):
        assert contrast(colour(name), colour(background)) >= 4.5, (name, background)
