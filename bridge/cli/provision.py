"""`bridge provision`: create and update students from the SIS export (docs/lifecycle.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from bridge.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_UNAVAILABLE,
    EXIT_UNUSABLE_INPUT,
    iso_date,
    job_settings,
    jobs_gateway,
    overprivileged,
    today,
)

# bridge.jobs.provision's defaults (not imported here: the CLI loads a job when it runs).
BATCH_SIZE, CONCURRENCY = 50, 8


class _Progress:
    """A progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = max(total, 1)
        self.enabled = enabled
        self.shown = -1

    def __call__(self, done: int) -> None:
        percent = min(100, done * 100 // self.total)
        if self.enabled and percent != self.shown:
            self.shown = percent
            bar = "#" * (percent // 4)
            print(f"\r[{bar:<25}] {percent:3d}%", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled and self.shown >= 0:
            print(file=sys.stderr)


def cmd_provision(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from bridge.domain.errors import Overprivileged, ServiceUnavailable
    from bridge.jobs.provision import provision
    from bridge.jobs.provision_state import ProvisionState, StateError
    from bridge.jobs.sis_reader import ExportError

    path = Path(args.file)
    keys = Path(args.activation_keys) if args.activation_keys else None
    if keys is not None and keys.exists():
        print(f"{keys} exists: an export is written once; choose a new file", file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    lines: list[str] = []
    verbose = args.dry_run and not args.json

    def report(line: str) -> None:
        if verbose or line.startswith("rejected"):
            lines.append(line)
            if not args.json:
                print(line)

    size = path.stat().st_size if path.is_file() else 0
    progress = _Progress(size, enabled=sys.stderr.isatty() and not args.json)
    started = time.monotonic()
    settings = job_settings()
    gateway = jobs_gateway(settings)
    state = None
    state_path = args.state or settings.provision_state
    try:
        if state_path:
            state = ProvisionState(Path(state_path), gateway.realm_url)
    except StateError as error:
        print(f"unusable state file, nothing was written: {error.detail}", file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    try:
        summary = asyncio.run(
            provision(
                gateway,
                path,
                today=today(args),
                dry_run=args.dry_run,
                batch_size=args.batch_size,
                concurrency=args.concurrency,
                report=report,
                progress=progress,
                keys_out=keys,
                state=state,
                full=args.full,
            )
        )
    except ExportError as error:
        progress.close()
        print(f"unusable export, nothing was written: {error}", file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    except ServiceUnavailable as error:
        progress.close()
        print(f"Keycloak unavailable: {error}; what was written is safe to re-run", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except Overprivileged as error:
        progress.close()
        return overprivileged(error)
    finally:
        if state is not None:
            state.close()
    progress.close()
    for note in summary.notes:
        print(f"note: {note}", file=sys.stderr)
    result = {**summary.as_dict(), "seconds": round(time.monotonic() - started, 1)}
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        mode = " (dry run: nothing written)" if args.dry_run else ""
        print(
            f"created {summary.created}, updated {summary.updated}, re-enabled "
            f"{summary.reenabled}, unchanged {summary.unchanged} "
            f"({summary.unchanged_from_state} known from the state file), rejected "
            f"{len(summary.rejected)} in {result['seconds']} s, {summary.mode} run{mode}"
        )
    return EXIT_REJECTED if summary.rejected else EXIT_OK


def register(sub: argparse._SubParsersAction[Any]) -> None:
    prov = sub.add_parser("provision", help="create and update students from the SIS export")
    prov.add_argument("file", help="the SIS export (CSV, docs/lifecycle.md)")
    prov.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    prov.add_argument("--json", action="store_true", help="a JSON summary on stdout")
    prov.add_argument("--today", type=iso_date, help="the date to decide with (default: today)")
    prov.add_argument(
        "--batch-size",
        type=int,
        default=BATCH_SIZE,
        help="new students recorded in the state file together (default %(default)s)",
    )
    prov.add_argument(
        "--concurrency",
        type=int,
        default=CONCURRENCY,
        help="creations (one POST /users each) and updates in flight (default %(default)s; "
        "measured best on 2 cores: docs/lifecycle.md)",
    )
    prov.add_argument(
        "--state",
        metavar="FILE",
        help="what earlier runs applied (SQLite; default $UM_PROVISION_STATE): a re-run then "
        "asks Keycloak only about the rows that changed",
    )
    prov.add_argument(
        "--full", action="store_true", help="check every row against Keycloak (weekly)"
    )
    prov.add_argument(
        "--activation-keys",
        metavar="FILE",
        help="give new students an activation key, exported to this new file",
    )
    prov.set_defaults(func=cmd_provision)
