"""Lines that the test session prints in its summary: start-up times, case counts."""

from __future__ import annotations

LINES: list[str] = []


def report(line: str) -> None:
    LINES.append(line)
