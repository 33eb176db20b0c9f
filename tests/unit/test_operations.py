"""What operations rely on, checked on the files shipped: the crontab's cadence is the one
docs/operations.md states, each line a command the CLI accepts; the Grafana dashboard asks
only for series that exist (the bridge's own, or Keycloak's)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.cli import build_parser
from bridge.web.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
CRONTAB = ROOT / "deploy" / "cron" / "crontab"
DASHBOARD = ROOT / "deploy" / "grafana" / "um-accounts.json"
OPERATIONS = ROOT / "docs" / "operations.md"

# The cadence (docs/operations.md, "The scheduler"), Europe/Paris.
EXPECTED = {
    "bridge provision": "*/5 * * * *",  # incremental, with its state file
    "bridge provision --full --lock-wait 900": "15 3 * * 0",  # Sunday 03:15
    "bridge expire": "30 4 * * *",
    "bridge remind": "0 9 * * *",
    "bridge bounces": "* * * * *",  # every minute: a refused address is told at the next step 1
}


def crontab_lines() -> list[tuple[str, str]]:
    """(schedule, command) per line, as busybox crond splits it: five fields, the rest."""
    lines = []
    for line in CRONTAB.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split(None, 5)
        assert len(fields) == 6, f"not a crontab line: {line!r}"
        lines.append((" ".join(fields[:5]), fields[5]))
    return lines


def expand(field: str, low: int, high: int) -> set[int]:
    """One crontab field: *, */n, a, a-b, a-b/n and lists of them (what the file uses)."""
    values: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        first, last = (low, high) if span == "*" else map(int, (span.split("-") * 2)[:2])
        values |= set(range(first, last + 1, int(step or 1)))
    assert values <= set(range(low, high + 1)), field
    return values


def test_the_crontab_is_the_documented_cadence_each_job_once() -> None:
    lines = crontab_lines()
    commands = [command for _, command in lines]
    assert len(commands) == len(set(commands)), "a job scheduled twice"
    assert dict((command, schedule) for schedule, command in lines) == EXPECTED


def test_the_cadence_in_numbers() -> None:
    schedules = {command: schedule.split() for schedule, command in crontab_lines()}
    minutes, hours, days, months, weekdays = schedules["bridge provision"]
    assert len(expand(minutes, 0, 59)) * len(expand(hours, 0, 23)) == 288  # every 5 minutes
    assert (days, months, weekdays) == ("*", "*", "*")
    assert expand(schedules["bridge provision --full --lock-wait 900"][4], 0, 6) == {0}
    for command in ("bridge expire", "bridge remind"):
        minute, hour, *rest = schedules[command]
        assert len(expand(minute, 0, 59)) == len(expand(hour, 0, 23)) == 1  # once a day
        assert rest == ["*", "*", "*"]
    # The hour that daylight saving time skips (March) or repeats (October) is never used.
    for command, (_, hour, *_) in schedules.items():
        if hour != "*":
            assert 2 not in expand(hour, 0, 23), command


def test_every_line_is_a_command_the_cli_accepts() -> None:
    parser = build_parser()
    for _, command in crontab_lines():
        program, *args = command.split()
        assert program == "bridge"
        parsed = parser.parse_args(args)
        assert parsed.func.__name__ in {"cmd_provision", "cmd_expire", "cmd_remind", "cmd_bounces"}
        assert not getattr(parsed, "dry_run", False)


def test_docs_state_the_same_cadence() -> None:
    """docs/operations.md's table of the schedule: `<schedule>` | `<command>` rows."""
    rows = re.findall(r"^\| `([^`]+)` \| `(bridge [^`]+)` \|", OPERATIONS.read_text(), re.M)
    assert {command: schedule for schedule, command in rows} == EXPECTED


# --- the dashboard ---------------------------------------------------------------------

PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                "unless", "bool", "offset", "inf", "nan"}  # fmt: skip


def expressions(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            yield node["expr"]
        for child in node.values():
            yield from expressions(child)
    elif isinstance(node, list):
        for child in node:
            yield from expressions(child)


def series_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: what is left once strings, label
    matchers, ranges and groupings are removed, and function names (followed by "(")."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*", expr):
        if expr[match.end() :].lstrip().startswith("(") or match.group() in PROMQL_WORDS:
            continue
        names.add(match.group())
    return names


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text()))


def test_the_name_extraction_itself() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(um_x_bucket{a="b",c=~"d|e"}'
        "[$__rate_interval]))) / on (route) group_left sum(keycloak_y_total) - time()"
    )
    assert series_names(expr) == {"um_x_bucket", "keycloak_y_total"}


def test_the_dashboard_reads_only_series_that_exist(dashboard: dict[str, Any]) -> None:
    exposed = Metrics().sample_names()
    found = [name for expr in expressions(dashboard) for name in series_names(expr)]
    assert found, "no PromQL expression found"
    unknown = {
        name
        for name in found
        if name not in exposed and not name.startswith(("keycloak_", "vendor_"))
    }
    assert unknown == set()
    # Every part the brief asked for is there: the funnel, errors, limits, latency, jobs.
    for needed in (
        "um_activation_lookups_total",
        "um_mails_total",
        "keycloak_user_events_total",
        "um_http_requests_total",
        "um_keycloak_errors_total",
        "um_limit_refusals_total",
        "um_http_request_duration_seconds_bucket",
        "um_job_last_success_timestamp_seconds",
        "um_job_runs_total",
    ):
        assert needed in found, needed


def test_the_dashboard_takes_its_prometheus_as_a_variable(dashboard: dict[str, Any]) -> None:
    [variable] = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert (variable["name"], variable["query"]) == ("DS_PROMETHEUS", "prometheus")
    sources = {
        json.dumps(node["datasource"], sort_keys=True) for node in _with_datasource(dashboard)
    }
    assert sources == {
        json.dumps({"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, sort_keys=True)
    }


def _with_datasource(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "datasource" in node:
            yield node
        for child in node.values():
            yield from _with_datasource(child)
    elif isinstance(node, list):
        for child in node:
            yield from _with_datasource(child)
