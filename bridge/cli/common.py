"""What the commands share: exit codes, the date they decide with, the jobs' gateway."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING

from bridge.settings import JobSettings, SettingsError

if TYPE_CHECKING:
    from bridge.gateway.keycloak import ProvisioningGateway

EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE_INPUT, EXIT_UNAVAILABLE = 0, 1, 2, 3
# The jobs' credential holds more than the provisioning client's rights: nothing was done.
EXIT_OVERPRIVILEGED = 4
# A scheduled job (provision, expire, remind) found its lock held by another run, which it
# names: nothing was done; the next scheduled run goes on (sysexits' EX_TEMPFAIL).
EXIT_LOCKED = 75
# A scheduled job failed on something unplanned (its traceback is printed; sysexits'
# EX_SOFTWARE): recorded as such, so that it is not mistaken for rejected rows (1).
EXIT_CRASHED = 70


def overprivileged(error: Exception) -> int:
    print(f"refused to run: {error}", file=sys.stderr)
    return EXIT_OVERPRIVILEGED


def job_settings() -> JobSettings:
    """The jobs' section of the settings; without the provisioning secret, the job stops
    with a message (exit code 1)."""
    try:
        return JobSettings.from_env()
    except SettingsError as error:
        raise SystemExit(str(error)) from None


def jobs_gateway(settings: JobSettings) -> ProvisioningGateway:
    """Jobs act as the `provisioning` client's service account (docs/lifecycle.md lists
    its roles): UM_PROVISIONING_CLIENT_ID, UM_PROVISIONING_CLIENT_SECRET. Each job checks
    first that it holds no more (ProvisioningGateway.ensure_scoped: EXIT_OVERPRIVILEGED)."""
    from bridge.gateway.keycloak import ProvisioningGateway
    from bridge.gateway.redis_counters import RedisCounters

    gateway = ProvisioningGateway.service_account(
        settings.keycloak_url,
        settings.realm,
        settings.client_id,
        settings.client_secret,
        timeout=120,
    )
    if settings.redis_url:
        gateway.serialize_writes(RedisCounters(settings.redis_url))
    return gateway


def today(args: argparse.Namespace) -> dt.date:
    from bridge.domain.deadlines import PARIS

    return args.today or dt.datetime.now(PARIS).date()


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from error


def add_lock_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lock-wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another run's lock before giving up (exit 75; default: none)",
    )
