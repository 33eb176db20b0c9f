"""`bridge retention`: the data protection officer's list of accounts expired for N years
(docs/lifecycle.md, "Retention"). On demand, never scheduled; reads only, so it takes no
job lock and leaves no run record."""

from __future__ import annotations

import argparse
import os
import sys
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


def cmd_retention(args: argparse.Namespace) -> int:
    import asyncio

    from bridge.domain.errors import InvalidInput, Overprivileged, ServiceUnavailable
    from bridge.domain.retention import check_years
    from bridge.jobs.retention import as_csv, expired_accounts

    settings = job_settings()
    try:
        years = check_years(settings.retention_years if args.years is None else args.years)
    except InvalidInput as error:
        print(f"--years: {error}", file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    if args.out and os.path.exists(args.out):
        print(f"{args.out} exists: choose a new file", file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    try:
        rows = asyncio.run(expired_accounts(jobs_gateway(settings), today(args), years))
    except ServiceUnavailable as error:
        print(f"Keycloak unavailable: {error}; run again", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except Overprivileged as error:
        return overprivileged(error)
    text = as_csv(rows)
    if args.out:
        # Identifiers of former students: readable by the DPO's account only.
        descriptor = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        pending = sum(1 for row in rows if not row.anonymised)
        print(
            f"{len(rows)} account(s) expired for {years} year(s) or more, {pending} not "
            f"anonymised: written to {args.out} (mode 0600)",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return EXIT_OK


def register(sub: argparse._SubParsersAction[Any]) -> None:
    ret = sub.add_parser(
        "retention",
        help="list accounts expired for N years, for the DPO (CSV; changes nothing)",
    )
    ret.add_argument(
        "--years",
        type=int,
        default=None,
        help="expired for at least this many years (default: UM_RETENTION_YEARS, else 3)",
    )
    ret.add_argument("--out", help="a new file (mode 0600) instead of stdout")
    ret.add_argument("--today", type=iso_date)
    ret.set_defaults(func=cmd_retention)
