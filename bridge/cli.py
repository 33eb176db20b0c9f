"""`bridge` command line: the web server, the dev stack, and (later) the jobs."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.gateway.keycloak import ProvisioningGateway


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bridge.app import create_app
    from bridge.logconfig import LOG_CONFIG

    uvicorn.run(
        create_app(),
        log_config=LOG_CONFIG,
        host=args.host,
        port=args.port,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
    )
    return 0


def cmd_keycloak_fetch(args: argparse.Namespace) -> int:
    from bridge.devstack.keycloak import KEYCLOAK_VERSION, fetch_distribution

    started = time.monotonic()
    home = fetch_distribution()
    print(f"Keycloak {KEYCLOAK_VERSION} ready at {home} ({time.monotonic() - started:.1f}s)")
    return 0


def cmd_keycloak_start(args: argparse.Namespace) -> int:
    from bridge.devstack.keycloak import KeycloakInstance

    instance = KeycloakInstance(
        Path(args.dir), http_port=args.port, management_port=args.management_port
    )
    started = time.monotonic()
    instance.install(fresh=args.fresh)
    instance.start()
    print(
        f"Keycloak ready on {instance.url} in {time.monotonic() - started:.1f}s "
        f"(JDK {instance.java_major}); Ctrl-C stops it",
        flush=True,
    )
    try:
        while instance.process and instance.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        instance.stop()
    return 0


def cmd_mail_sink(args: argparse.Namespace) -> int:
    from bridge.devstack.mailsink import start_mail_sink

    sink = start_mail_sink(Path(args.dir), port=args.port)
    print(f"SMTP sink on 127.0.0.1:{args.port}, storing into {args.dir}; Ctrl-C stops it")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    from bridge.devstack.stack import run_dev

    with contextlib.suppress(KeyboardInterrupt):
        run_dev(fresh=args.fresh)
    return 0


EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3


def _jobs_gateway() -> ProvisioningGateway:
    """Jobs act as the `provisioning` client's service account (docs/lifecycle.md lists
    its roles): UM_PROVISIONING_CLIENT_ID, UM_PROVISIONING_CLIENT_SECRET."""
    from bridge.gateway.keycloak import ProvisioningGateway

    secret = os.environ.get("UM_PROVISIONING_CLIENT_SECRET")
    if not secret:
        raise SystemExit("set UM_PROVISIONING_CLIENT_SECRET (the provisioning client's secret)")
    return ProvisioningGateway.service_account(
        os.environ.get("UM_KEYCLOAK_URL", "http://localhost:8080").rstrip("/"),
        os.environ.get("UM_REALM", "um"),
        os.environ.get("UM_PROVISIONING_CLIENT_ID", "provisioning"),
        secret,
        timeout=120,
    )


def _today(args: argparse.Namespace) -> dt.date:
    from bridge.domain.deadlines import PARIS

    return args.today or dt.datetime.now(PARIS).date()


def _iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from error


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


def cmd_console_permissions(args: argparse.Namespace) -> int:
    """Once per realm, as an administrator: the fine-grained admin permission that lets
    the staff role manage the members of `students` (docs/console.md)."""
    import asyncio

    from bridge.domain.errors import DomainError
    from bridge.gateway.keycloak import RealmSetup

    password = os.environ.get("UM_ADMIN_PASSWORD")
    if not password:
        print("set UM_ADMIN_USER (default admin) and UM_ADMIN_PASSWORD", file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    gateway = RealmSetup.administrator(
        os.environ.get("UM_KEYCLOAK_URL", "http://localhost:8080").rstrip("/"),
        os.environ.get("UM_REALM", "um"),
        os.environ.get("UM_ADMIN_USER", "admin"),
        password,
        user_realm=os.environ.get("UM_ADMIN_REALM", "master"),
    )
    try:
        asyncio.run(gateway.ensure_console_permissions())
    except DomainError as error:
        print(f"could not set the console permission up: {error.detail}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    print("the staff role may manage the members of `students` (and no one else)")
    return EXIT_OK


def cmd_provision(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from bridge.domain.errors import ServiceUnavailable
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
    gateway = _jobs_gateway()
    state = None
    state_path = args.state or os.environ.get("UM_PROVISION_STATE")
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
                today=_today(args),
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


def cmd_expire(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from bridge.domain.errors import ServiceUnavailable
    from bridge.jobs.expire import expire

    def report(line: str) -> None:
        if not args.json:
            print(line)

    try:
        summary = asyncio.run(
            expire(_jobs_gateway(), _today(args), dry_run=args.dry_run, report=report)
        )
    except ServiceUnavailable as error:
        print(f"Keycloak unavailable: {error}; run again", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if args.json:
        print(json.dumps(summary.as_dict()))
    else:
        mode = " (dry run: nothing written)" if args.dry_run else ""
        print(f"disabled {summary.disabled}, already disabled {summary.already_disabled}{mode}")
    return EXIT_OK


def cmd_activation_keys(args: argparse.Namespace) -> int:
    import asyncio

    from bridge.jobs.activation_keys import issue_activation_keys

    out = Path(args.out)
    if out.exists():
        print(f"{out} exists: an export is written once; choose a new file", file=sys.stderr)
        return 2
    usernames = None if args.all_pending else args.usernames
    if not usernames and not args.all_pending:
        print("name students, or --all-pending", file=sys.stderr)
        return 2
    report = asyncio.run(issue_activation_keys(_jobs_gateway(), out, usernames))
    print(f"{len(report.issued)} key(s) written to {out} (mode 0600)")
    for label, names in (
        ("already activated, no key", report.skipped_activated),
        ("disabled, no key", report.skipped_disabled),
        ("unknown", report.unknown),
    ):
        if names:
            print(f"{label}: {', '.join(names)}")
    return 0 if not report.unknown else 1


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if not value else value.strip().lower() in {"1", "true", "yes", "on"}


def cmd_remind(args: argparse.Namespace) -> int:
    import asyncio
    import json
    import smtplib

    from bridge.domain.errors import ServiceUnavailable
    from bridge.jobs.remind import SmtpSettings, remind

    host = os.environ.get("UM_SMTP_HOST")
    if not host and not args.dry_run:
        print("set UM_SMTP_HOST (and UM_SMTP_PORT, UM_SMTP_FROM, ...)", file=sys.stderr)
        return EXIT_UNUSABLE_INPUT
    smtp = SmtpSettings(
        host=host or "",
        port=int(os.environ.get("UM_SMTP_PORT") or 587),
        sender=os.environ.get("UM_SMTP_FROM") or "ne-pas-repondre@umontpellier.example",
        sender_name=os.environ.get("UM_SMTP_FROM_NAME") or "Compte informatique",
        starttls=_flag("UM_SMTP_STARTTLS", True),
        ssl=_flag("UM_SMTP_SSL", False),
        user=os.environ.get("UM_SMTP_USER") or "",
        password=os.environ.get("UM_SMTP_PASSWORD") or "",
    )
    try:
        summary = asyncio.run(
            remind(_jobs_gateway(), _today(args), args.days, smtp, dry_run=args.dry_run)
        )
    except (ServiceUnavailable, smtplib.SMTPException, OSError) as error:
        print(f"unavailable: {error}; run again (reminders are marked once sent)", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if args.json:
        print(json.dumps(summary.as_dict()))
    else:
        print(
            f"sent {summary.sent}, already sent {summary.already_sent}, "
            f"no rescue email {summary.no_rescue_email}"
            + (" (dry run: nothing sent)" if args.dry_run else "")
        )
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bridge", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web bridge (settings from UM_* variables)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    serve.set_defaults(func=cmd_serve)

    keycloak = sub.add_parser("keycloak", help="the pinned Keycloak: fetch or start it locally")
    kc_sub = keycloak.add_subparsers(dest="action", required=True)
    fetch = kc_sub.add_parser("fetch", help="download (Maven), verify and unpack once")
    fetch.set_defaults(func=cmd_keycloak_fetch)
    start = kc_sub.add_parser("start", help="start an instance with the realm and the theme")
    start.add_argument("--dir", default="var/keycloak")
    start.add_argument("--port", type=int, default=8080)
    start.add_argument("--management-port", type=int, default=9000)
    start.add_argument("--fresh", action="store_true", help="drop the instance's data first")
    start.set_defaults(func=cmd_keycloak_start)

    sink = sub.add_parser("mail-sink", help="the dev SMTP sink (.eml files)")
    sink.add_argument("--port", type=int, default=1025)
    sink.add_argument("--dir", default="var/mail")
    sink.set_defaults(func=cmd_mail_sink)

    realm = sub.add_parser("realm", help="one-time realm set-up steps")
    realm_sub = realm.add_subparsers(dest="realm_command", required=True)
    perms = realm_sub.add_parser(
        "console-permissions", help="let the staff role manage students (UM_ADMIN_* variables)"
    )
    perms.set_defaults(func=cmd_console_permissions)

    prov = sub.add_parser("provision", help="create and update students from the SIS export")
    prov.add_argument("file", help="the SIS export (CSV, docs/lifecycle.md)")
    prov.add_argument("--dry-run", action="store_true", help="print the diff, write nothing")
    prov.add_argument("--json", action="store_true", help="a JSON summary on stdout")
    prov.add_argument("--today", type=_iso_date, help="the date to decide with (default: today)")
    prov.add_argument("--batch-size", type=int, default=125, help="users per partial import")
    prov.add_argument("--concurrency", type=int, default=4, help="partial imports in flight")
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

    exp = sub.add_parser("expire", help="disable accounts past their validity (daily)")
    exp.add_argument("--dry-run", action="store_true")
    exp.add_argument("--json", action="store_true")
    exp.add_argument("--today", type=_iso_date)
    exp.set_defaults(func=cmd_expire)

    rem = sub.add_parser("remind", help="mail the rescue address N days before expiry")
    rem.add_argument("--days", type=int, default=30)
    rem.add_argument("--dry-run", action="store_true")
    rem.add_argument("--json", action="store_true")
    rem.add_argument("--today", type=_iso_date)
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

    dev = sub.add_parser("dev", help="the whole stack locally, with demo data (make dev)")
    dev.add_argument("--fresh", action="store_true", help="drop dev data and re-import the realm")
    dev.set_defaults(func=cmd_dev)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
