"""The daily jobs: `bridge expire`, `bridge remind`, `bridge activation-keys` (provisioning
has its own module, bridge.cli.provision)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bridge.cli.common import (
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_UNUSABLE_INPUT,
    iso_date,
    job_settings,
    jobs_gateway,
    overprivileged,
    today,
)
from bridge.settings import SettingsError, SmtpSettings


def cmd_expire(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from bridge.domain.errors import Overprivileged, ServiceUnavailable
    from bridge.jobs.expire import expire

    def report(line: str) -> None:
        if not args.json:
            print(line)

    try:
        summary = asyncio.run(
            expire(jobs_gateway(job_settings()), today(args), dry_run=args.dry_run, report=report)
        )
    except ServiceUnavailable as error:
        print(f"Keycloak unavailable: {error}; run again", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except Overprivileged as error:
        return overprivileged(error)
    if args.json:
        print(json.dumps(summary.as_dict()))
    else:
        mode = " (dry run: nothing written)" if args.dry_run else ""
        print(
            f"disabled {summary.disabled}, already disabled {summary.already_disabled}, "
            f"out of reach {summary.out_of_reach}{mode}"
        )
    return EXIT_OK


def cmd_remind(args: argparse.Namespace) -> int:
    import asyncio
    import json
    import smtplib

    from bridge.domain.errors import Overprivileged, ServiceUnavailable
    from bridge.jobs.remind import remind

    try:
        smtp = SmtpSettings.from_env()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    if not smtp.host and not args.dry_run:
        print("set UM_SMTP_HOST (and UM_SMTP_PORT, UM_SMTP_FROM, ...)", file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    try:
        summary = asyncio.run(
            remind(jobs_gateway(job_settings()), today(args), args.days, smtp, dry_run=args.dry_run)
        )
    except (ServiceUnavailable, smtplib.SMTPException, OSError) as error:
        print(f"unavailable: {error}; run again (reminders are marked once sent)", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except Overprivileged as error:
        return overprivileged(error)
    if args.json:
        print(json.dumps(summary.as_dict()))
    else:
        print(
            f"sent {summary.sent}, already sent {summary.already_sent}, "
            f"no rescue email {summary.no_rescue_email}"
            + (" (dry run: nothing sent)" if args.dry_run else "")
        )
    return EXIT_OK


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
    exp.set_defaults(func=cmd_expire)

    rem = sub.add_parser("remind", help="mail the rescue address N days before expiry")
    rem.add_argument("--days", type=int, default=30)
    rem.add_argument("--dry-run", action="store_true")
    rem.add_argument("--json", action="store_true")
    rem.add_argument("--today", type=iso_date)
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
