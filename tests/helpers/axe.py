"""axe-core (npm, installed by scripts/theme-assets with the theme's other assets) injected
into a page by Playwright: the WCAG 2.1 A and AA rules a tool can check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.impact} {self.rule}: {self.help} ({', '.join(self.targets[:3])})"


def audit(page: Page) -> list[Violation]:
    """Every violation axe finds on the page as it is now."""
    assert AXE.is_file(), f"{AXE} is missing: scripts/theme-assets installs it (npm ci)"
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS
    )
    return [
        Violation(
            v["id"],
            v.get("impact") or "minor",
            v["help"],
            tuple(" ".join(node["target"]) for node in v["nodes"]),
        )
        for v in result["violations"]
    ]


def blocking(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.impact in BLOCKING]
