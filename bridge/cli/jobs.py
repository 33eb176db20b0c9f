"""The daily jobs: `bridge expire`, `bridge remind`, `bridge activation-keys` (provisioning
has its own module, bridge.cli.provision)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.cli.common import (
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_UNUSABLE_INPUT,
    add_lock_wait,
    iso_date,
    job_settings,
    jobs_gateway,
    overprivileged,
    today,
)
from bridge.settings import JobSettings, SettingsError, SmtpSettings

if TYPE_CHECKING:
    from bridge.cli.scheduling import JobResult


def cmd_expire(args: argparse.Namespace) -> int:
    from bridge.cli.scheduling import run_scheduled

    settings = job_settings()
    if args.dry_run:
        return _expire(args, settings).code
    return run_scheduled(
        "expire", "expire", settings, lambda: _expire(args, settings), wait=args.lock_wait
    )


def _expire(args: argparse.Namespace, settings: JobSettings) -> JobResult:
    import asyncio
    import json

    from bridge.cli.scheduling import JobResult
    from bridge.domain.errors import Overprivileged, ServiceUnavailable
    from bridge.jobs.expire import expire

    def report(line: str) -> None:
        if not args.json:
            print(line)

    try:
        summary = asyncio.run(
            expire(jobs_gateway(settings), today(args), dry_run=args.dry_run, report=report)
        )
    except ServiceUnavailable as error:
        message = f"Keycloak unavailable: {error}; run again"
        print(message, file=sys.stderr)
        return JobResult(EXIT_UNAVAILABLE, message)
    except Overprivileged as error:
        return JobResult(overprivileged(error), "refused to run: the credential holds more")
    mode = " (dry run: nothing written)" if args.dry_run else ""
    line = (
        f"disabled {summary.disabled}, disabled again {summary.disabled_again}, re-enabled "
        f"(re-enrolled meanwhile) {summary.reenabled}, left for the next run {summary.left}, "
        f"out of reach {summary.out_of_reach}{mode}"
    )
    print(json.dumps(summary.as_dict()) if args.json else line)
    counts = {
        "disabled": summary.disabled,
        "disabled_again": summary.disabled_again,
        "reenabled": summary.reenabled,
        "left": summary.left,
        "out_of_reach": summary.out_of_reach,
    }
    return JobResult(EXIT_OK, line, counts)


def cmd_remind(args: argparse.Namespace) -> int:
    from bridge.cli.scheduling import run_scheduled

    settings = job_settings()
    if args.dry_run:
        return _remind(args, settings).code
    return run_scheduled(
        "remind", "remind", settings, lambda: _remind(args, settings), wait=args.lock_wait
    )


def _remind(args: argparse.Namespace, settings: JobSettings) -> JobResult:
    import asyncio
    import json
    import smtplib

    from bridge.cli.scheduling import JobResult
    from bridge.domain.errors import Overprivileged, ServiceUnavailable
    from bridge.jobs.remind import remind

    def stop(code: int, message: str) -> JobResult:
        print(message, file=sys.stderr)
        return JobResult(code, message)

    try:
        smtp = SmtpSettings.from_env()
    except SettingsError as error:
        return stop(EXIT_UNUSABLE_INPUT, str(error))
    if not smtp.host and not args.dry_run:
        return stop(EXIT_UNUSABLE_INPUT, "set UM_SMTP_HOST (and UM_SMTP_PORT, UM_SMTP_FROM, ...)")
    try:
        summary = asyncio.run(
            remind(jobs_gateway(settings), today(args), args.days, smtp, dry_run=args.dry_run)
        )
    except (ServiceUnavailable, smtplib.SMTPException, OSError) as error:
        return stop(
            EXIT_UNAVAILABLE,
            f"unavailable: {error}; run again (reminders are marked once sent)",
        )
    except Overprivileged as error:
        return JobResult(overprivileged(error), "refused to run: the credential holds more")
    line = (
        f"sent {summary.sent}, already sent {summary.already_sent}, "
        f"no rescue email {summary.no_rescue_email}"
        + (" (dry run: nothing sent)" if args.dry_run else "")
    )
    print(json.dumps(summary.as_dict()) if args.json else line)
    counts = {
        "sent": summary.sent,
        "already_sent": summary.already_sent,
        "no_rescue_email": summary.no_rescue_email,
    }
    return JobResult(EXIT_OK, line, counts)


def cmd_activation_keys(args: argparse.Namespace) -> int:
    import asyncio

    from bridge.domain.errors import Overprivileged
    from bridge.jobs.activation_keys import issue_activation_keys

    out = Path(args.out)
    if out.exists():
        print(f"{out} exists: an export is written once; choose a new file", file=sys.stderr)
        return 2
    usernames = None if args.all_pending else args.usernames
    if not usernames and not args.all_pending:
        print("name students, or --all-pending", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(issue_activation_keys(jobs_gateway(job_settings()), out, usernames))
    except Overprivileged as error:
        return overprivileged(error)
    print(f"{len(report.issued)} key(s) written to {out} (mode 0600)")
    for label, names in (
        ("already activated, no key", report.skipped_activated),
        ("disabled, no key", report.skipped_disabled),
        ("unknown", report.unknown),
    ):
        if names:
            print(f"{label}: {', '.join(names)}")
    return 0 if not report.unknown else 1


def register(sub: argparse._SubParsersAction[Any]) -> None:
    exp = sub.add_parser("expire", help="disable accounts past their validity (daily)")
    exp.add_argument("--dry-run", action="store_true")
    exp.add_argument("--json", action="store_true")
    exp.add_argument("--today", type=iso_date)
    add_lock_wait(exp)
    exp.set_defaults(func=cmd_expire)

    rem = sub.add_parser("remind", help="mail the rescue address N days before expiry")
    rem.add_argument("--days", type=int, default=30)
    rem.add_argument("--dry-run", action="store_true")
    rem.add_argument("--json", action="store_true")
    rem.add_argument("--today", type=iso_date)
    add_lock_wait(rem)
    rem.set_defaults(func=cmd_remind)

    keys = sub.add_parser(
        "activation-keys", help="issue printed activation keys (temporary passwords) to students"
    )
    keys.add_argument("--out", required=True, help="new CSV file for printing (never overwritten)")
    keys.add_argument(
        "--all-pending", action="store_true", help="every student who has no password yet"
    )
    keys.add_argument("usernames", nargs="*")
    keys.set_defaults(func=cmd_activation_keys)
