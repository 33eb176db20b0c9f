"""`bridge provision`: create and update students from the SIS export (docs/lifecycle.md)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.cli.common import (
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_UNAVAILABLE,
    EXIT_UNUSABLE_INPUT,
    add_lock_wait,
    iso_date,
    job_settings,
    jobs_gateway,
    overprivileged,
    today,
)
from bridge.settings import JobSettings

if TYPE_CHECKING:
    from bridge.cli.scheduling import JobResult

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
    from bridge.cli.scheduling import run_scheduled

    settings = job_settings()
    if args.dry_run:
        return _provision(args, settings).code
    # Incremental and full runs write the same accounts and state file: one lock.
    job = "provision-full" if args.full else "provision"
    return run_scheduled(
        job, "provision", settings, lambda: _provision(args, settings), wait=args.lock_wait
    )


def _provision(args: argparse.Namespace, settings: JobSettings) -> JobResult:
    import asyncio
    import json

    from bridge.cli.scheduling import JobResult
    from bridge.domain.errors import Overprivileged, ServiceUnavailable
    from bridge.jobs.provision import provision
    from bridge.jobs.provision_state import ProvisionState, StateError
    from bridge.jobs.sis_reader import ExportError

    def stop(code: int, message: str) -> JobResult:
        print(message, file=sys.stderr)
        return JobResult(code, message)

    export = Path(args.file) if args.file else settings.sis_export
    if export is None:
        return stop(EXIT_UNUSABLE_INPUT, "no SIS export: name the file, or set UM_SIS_EXPORT")
    path = export
    keys = Path(args.activation_keys) if args.activation_keys else None
    if keys is not None and keys.exists():
        return stop(
            EXIT_UNUSABLE_INPUT, f"{keys} exists: an export is written once; choose a new file"
        )
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
    gateway = jobs_gateway(settings)
    state = None
    state_path = args.state or settings.provision_state
    try:
        if state_path:
            state = ProvisionState(Path(state_path), gateway.realm_url)
    except StateError as error:
        return stop(
            EXIT_UNUSABLE_INPUT, f"unusable state file, nothing was written: {error.detail}"
        )
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
                principal_scope=settings.principal_scope,
            )
        )
    except ExportError as error:
        progress.close()
        return stop(EXIT_UNUSABLE_INPUT, f"unusable export, nothing was written: {error}")
    except ServiceUnavailable as error:
        progress.close()
        return stop(
            EXIT_UNAVAILABLE,
            f"Keycloak unavailable: {error}; what was written is safe to re-run",
        )
    except Overprivileged as error:
        progress.close()
        return JobResult(overprivileged(error), "refused to run: the credential holds more")
    finally:
        if state is not None:
            state.close()
    progress.close()
    for note in summary.notes:
        print(f"note: {note}", file=sys.stderr)
    result = {**summary.as_dict(), "seconds": round(time.monotonic() - started, 1)}
    mode = " (dry run: nothing written)" if args.dry_run else ""
    line = (
        f"created {summary.created}, updated {summary.updated}, re-enabled "
        f"{summary.reenabled}, unchanged {summary.unchanged} "
        f"({summary.unchanged_from_state} known from the state file), rejected "
        f"{len(summary.rejected)} in {result['seconds']} s, {summary.mode} run{mode}"
    )
    print(json.dumps(result, ensure_ascii=False) if args.json else line)
    counts = {
        "created": summary.created,
        "updated": summary.updated,
        "reenabled": summary.reenabled,
        "unchanged": summary.unchanged,
        "rejected": len(summary.rejected),
    }
    return JobResult(EXIT_REJECTED if summary.rejected else EXIT_OK, line, counts)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    prov = sub.add_parser("provision", help="create and update students from the SIS export")
    prov.add_argument(
        "file",
        nargs="?",
        help="the SIS export (CSV, docs/lifecycle.md; default $UM_SIS_EXPORT)",
    )
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
    add_lock_wait(prov)
    prov.set_defaults(func=cmd_provision)
