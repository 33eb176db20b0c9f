"""`python -m devstack`: the local dev tooling (run it from the checkout's root)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def cmd_keycloak_fetch(args: argparse.Namespace) -> int:
    from devstack.keycloak import KEYCLOAK_VERSION, fetch_distribution

    started = time.monotonic()
    home = fetch_distribution()
    print(f"Keycloak {KEYCLOAK_VERSION} ready at {home} ({time.monotonic() - started:.1f}s)")
    return 0


def cmd_keycloak_start(args: argparse.Namespace) -> int:
    from devstack.keycloak import KeycloakInstance

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
    from devstack.mailsink import start_mail_sink

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
    from devstack.stack import run_dev

    with contextlib.suppress(KeyboardInterrupt):
        run_dev(fresh=args.fresh)
    return 0


def cmd_totp(args: argparse.Namespace) -> int:
    """The code an authenticator app set up with the demo staff member's key shows now."""
    from devstack.stack import SECRETS_FILE, STAFF_TOTP_SECRET, load_or_create_secrets
    from devstack.totp import PERIOD, totp

    secret = args.secret
    if secret is None:
        if not SECRETS_FILE.is_file():
            print(f"no {SECRETS_FILE}: start `make dev` once, or pass --secret", file=sys.stderr)
            return 1
        secret = load_or_create_secrets(SECRETS_FILE)[STAFF_TOTP_SECRET]
    left = PERIOD - int(time.time()) % PERIOD
    print(f"{totp(secret)}  (the app shows it {left} s more; Keycloak takes it 30 s longer)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

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

    dev = sub.add_parser("dev", help="the whole stack locally, with demo data (make dev)")
    dev.add_argument("--fresh", action="store_true", help="drop dev data and re-import the realm")
    dev.set_defaults(func=cmd_dev)

    code = sub.add_parser(
        "totp", help="the demo staff member's current one-time code (the key of make dev)"
    )
    code.add_argument("--secret", help="another base32 key than var/dev/secrets.env's")
    code.set_defaults(func=cmd_totp)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
