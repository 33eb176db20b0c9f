"""`bridge bounces`: the bounce mailbox read, the refused rescue addresses flagged
(bridge.jobs.bounces); scheduled every minute, under its own lock, its runs recorded."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from bridge.cli.common import (
    EXIT_OK,
    EXIT_UNAVAILABLE,
    EXIT_UNUSABLE_INPUT,
    add_lock_wait,
    job_settings,
    jobs_gateway,
    overprivileged,
)
from bridge.settings import JobSettings

if TYPE_CHECKING:
    from bridge.cli.scheduling import JobResult


def cmd_bounces(args: argparse.Namespace) -> int:
    from bridge.cli.scheduling import run_scheduled

    settings = job_settings()
    return run_scheduled(
        "bounces", "bounces", settings, lambda: run_bounces(args, settings), wait=args.lock_wait
    )


def run_bounces(args: argparse.Namespace, settings: JobSettings) -> JobResult:
    import asyncio
    import datetime as dt
    import json

    from bridge.cli.scheduling import JobResult
    from bridge.domain.errors import Overprivileged, ServiceUnavailable
    from bridge.gateway.bounce_mailbox import open_mailbox
    from bridge.jobs.bounces import bounces

    def stop(code: int, message: str) -> JobResult:
        print(message, file=sys.stderr)
        return JobResult(code, message)

    if not settings.bounce_imap_url and not settings.bounce_maildir:
        # Bounce handling is optional (docs/operations.md): its scheduled runs are no fault.
        line = "no bounce mailbox (UM_BOUNCE_IMAP_URL, UM_BOUNCE_MAILDIR): nothing read"
        print(line)
        return JobResult(EXIT_OK, line)
    try:
        mailbox = open_mailbox(settings.bounce_imap_url, settings.bounce_maildir)
        summary = asyncio.run(bounces(jobs_gateway(settings), mailbox, dt.datetime.now(dt.UTC)))
    except ValueError as error:
        return stop(EXIT_UNUSABLE_INPUT, str(error))
    except ServiceUnavailable as error:
        return stop(EXIT_UNAVAILABLE, f"unavailable: {error}; run again (unread mails stay)")
    except Overprivileged as error:
        return JobResult(overprivileged(error), "refused to run: the credential holds more")
    line = (
        f"messages {summary.messages}, refusals {summary.permanent}, "
        f"accounts flagged {summary.flagged}, not bounces {summary.ignored}, "
        f"no account {summary.unmatched}"
    )
    print(json.dumps(summary.as_dict()) if args.json else line)
    return JobResult(EXIT_OK, line, summary.as_dict())


def register(sub: argparse._SubParsersAction[Any]) -> None:
    parser = sub.add_parser(
        "bounces", help="read the bounce mailbox, flag refused rescue addresses (every minute)"
    )
    parser.add_argument("--json", action="store_true")
    add_lock_wait(parser)
    parser.set_defaults(func=cmd_bounces)
