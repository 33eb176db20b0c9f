"""`make dev`: the whole stack on this machine, in one process tree.

Keycloak (realm + theme) in a child process, the SMTP sink and the bridge in this one.
Ctrl-C stops everything. Dev data survives restarts under var/dev/; `--fresh` drops it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import uvicorn

from bridge.app import create_app
from bridge.domain.deadlines import PARIS
from bridge.gateway.keycloak.charter import charter_version
from bridge.logconfig import LOG_CONFIG
from bridge.settings import Settings, theme_dir_from, university_domains_from
from devstack.admin import DevAdmin
from devstack.demo import STAFF, DemoAccount, load_demo
from devstack.keycloak import REPO_ROOT, KeycloakInstance
from devstack.mailsink import DEV_BOUNCE_ADDRESS, start_mail_sink
from devstack.private import CLIENT_SECRETS, COOKIE_SECRETS
from devstack.redis import RedisInstance
from devstack.totp import new_secret, otpauth_uri

# The demo staff member's authenticator key (base32), kept beside the other secrets and
# given to neither Keycloak nor the bridge: devstack.demo enrols it, the banner prints it.
STAFF_TOTP_SECRET = "UM_DEV_STAFF_TOTP_SECRET"  # noqa: S105 - a name, not a secret
SECRET_NAMES = (*CLIENT_SECRETS, *COOKIE_SECRETS, STAFF_TOTP_SECRET)
SECRETS_FILE = REPO_ROOT / "var" / "dev" / "secrets.env"


def _new_value(name: str) -> str:
    return new_secret() if name == STAFF_TOTP_SECRET else secrets.token_urlsafe(32)


def load_or_create_secrets(path: Path) -> dict[str, str]:
    """Random client secrets for the dev realm, the bridge's cookie keys and the demo staff
    member's authenticator key, kept so that restarts reuse them (the realm is imported
    once, with the secrets of its first start; `--fresh` keeps this file, so an app set up
    with the key goes on working); a name missing from an older file is added."""
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            name, _, value = line.partition("=")
            if name in SECRET_NAMES and value:
                values[name] = value
    missing = [name for name in SECRET_NAMES if name not in values]
    if missing:
        for name in missing:
            values[name] = _new_value(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        path.chmod(0o600)
    return values


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run_dev(fresh: bool = False) -> None:
    # SIGTERM must unwind like Ctrl-C, through the `finally` that stops Keycloak.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    var = REPO_ROOT / "var"
    kc_port = _port("UM_KEYCLOAK_PORT", 8080)
    mgmt_port = _port("UM_KEYCLOAK_MANAGEMENT_PORT", 9000)
    bridge_port = _port("UM_BRIDGE_PORT", 8000)
    smtp_port = _port("UM_SMTP_PORT", 1025)
    redis_port = _port("UM_REDIS_PORT", 6379)
    bridge_url = f"http://localhost:{bridge_port}"
    keycloak_url = f"http://localhost:{kc_port}"
    mail_dir = var / "mail"
    # The bounce address's mailbox: the sink returns its DSNs there (mail to @bounce.test).
    bounce_dir = var / "bounces"
    secret_values = load_or_create_secrets(SECRETS_FILE)
    staff_otp_secret = secret_values.pop(STAFF_TOTP_SECRET)
    env = {
        **secret_values,
        "UM_SMTP_HOST": "127.0.0.1",
        "UM_SMTP_PORT": str(smtp_port),
        "UM_SMTP_STARTTLS": "false",  # the dev sink speaks plain SMTP on loopback
        "UM_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "UM_BRIDGE_URL": bridge_url,
        "UM_PORTAL_URL": f"{bridge_url}/portal",
        # Keycloak's envelopeFrom and the bridge's MAIL FROM (a realm imported before this
        # setting existed needs `make dev` with --fresh to get it).
        "UM_BOUNCE_ADDRESS": DEV_BOUNCE_ADDRESS,
        "UM_BOUNCE_MAILDIR": str(bounce_dir),
    }
    os.environ.update(env)

    print(f"[dev] mail sink on 127.0.0.1:{smtp_port}, storing into {mail_dir}", flush=True)
    sink = start_mail_sink(
        mail_dir, port=smtp_port, bounce_maildir=bounce_dir, bounce_address=DEV_BOUNCE_ADDRESS
    )
    stop_jobs = threading.Event()
    counters = RedisInstance(var / "dev" / "redis", redis_port)
    print(f"[dev] Redis (the limits' counters) on 127.0.0.1:{redis_port}", flush=True)
    counters.start()
    keycloak = KeycloakInstance(var / "dev", http_port=kc_port, management_port=mgmt_port, env=env)
    try:
        started = time.monotonic()
        keycloak.install(fresh=fresh)
        print(f"[dev] starting Keycloak on {keycloak_url} (log: {keycloak.log_path})", flush=True)
        keycloak.start()
        print(
            f"[dev] Keycloak ready in {time.monotonic() - started:.0f}s "
            f"(JDK {keycloak.java_major})",
            flush=True,
        )

        admin = DevAdmin.administrator(
            keycloak_url, "um", keycloak.admin_user, keycloak.admin_password
        )
        demo = asyncio.run(_set_up_realm(admin, staff_otp_secret))

        settings = Settings.from_env(
            {
                **os.environ,
                "UM_KEYCLOAK_URL": keycloak_url,
                "UM_DEV_MODE": "true",
                "UM_MAIL_DIR": str(mail_dir),
            }
        )
        print_banner(keycloak_url, bridge_url, keycloak, demo, staff_otp_secret)
        threading.Thread(
            target=_bounce_scheduler, args=(keycloak_url, stop_jobs), daemon=True
        ).start()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(settings),
                host="127.0.0.1",
                port=bridge_port,
                log_config=LOG_CONFIG,
            )
        )
        server.run()
    finally:
        print("[dev] stopping Keycloak, the mail sink and Redis", flush=True)
        stop_jobs.set()
        keycloak.stop()
        sink.stop()
        counters.stop()


# As deploy/cron/crontab: `bridge bounces` every minute.
BOUNCE_INTERVAL = 60


def _bounce_scheduler(keycloak_url: str, stop: threading.Event) -> None:
    """The scheduler's `bridge bounces` line in dev: the same command, in its own process,
    with its lock and its recorded outcome; quiet unless it flagged an account or failed."""
    env = {**os.environ, "UM_KEYCLOAK_URL": keycloak_url}
    while not stop.wait(BOUNCE_INTERVAL):
        ran = subprocess.run(
            [sys.executable, "-m", "bridge", "bounces"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if ran.returncode != 0 or "accounts flagged 0," not in ran.stdout:
            last = (ran.stderr.strip().splitlines() or [ran.stdout.strip()])[-1]
            print(f"[dev] {last}", flush=True)


async def _set_up_realm(admin: DevAdmin, staff_otp_secret: str) -> list[DemoAccount]:
    """One event loop for both steps: the gateway's HTTP client belongs to the loop."""
    # `bridge realm setup`'s steps, from the settings the bridge reads (docs/keycloak.md).
    await admin.setup(
        university_domains=university_domains_from(os.environ),
        charter_version=charter_version(theme_dir_from(os.environ)),
        now=int(time.time()),
    )
    return await load_demo(admin, dt.datetime.now(PARIS).date(), staff_otp_secret=staff_otp_secret)


def print_banner(
    keycloak_url: str,
    bridge_url: str,
    keycloak: KeycloakInstance,
    demo: list[DemoAccount],
    staff_otp_secret: str,
) -> None:
    lines = [
        "",
        "=" * 78,
        " Stack ready. Ctrl-C stops everything.",
        "",
        f"  Student pages (bridge)    {bridge_url}/",
        f"  Example portal (OIDC app) {bridge_url}/portal",
        f"  Staff console             {bridge_url}/console  (agent.k103, below)",
        f"  Mails sent (dev only)     {bridge_url}/dev/mail",
        "  Refused addresses         any rescue address @bounce.test: the sink returns a DSN,",
        "                            `bridge bounces` (every minute) flags the account",
        f"  Keycloak login (realm um) {keycloak_url}/realms/um/account",
        f"  Keycloak admin console    {keycloak_url}/admin/  "
        f"({keycloak.admin_user} / {keycloak.admin_password})",
        "",
        "  Demo accounts:",
    ]
    for account in demo:
        secret = account.secret or "-"
        lines.append(f"    {account.username:<14} {secret:<16} {account.note}")
    lines += [
        "",
        f"  Staff second factor ({STAFF.username}): after the password, the code of an",
        "  authenticator app set up with this key (kept in var/dev/secrets.env):",
        f"    key   {staff_otp_secret}",
        f"    URI   {otpauth_uri(staff_otp_secret, STAFF.username, 'UM make dev')}",
        "    code  .venv/bin/python -m devstack totp   (the current code, without an app)",
        "=" * 78,
        "",
    ]
    print("\n".join(lines), flush=True)
