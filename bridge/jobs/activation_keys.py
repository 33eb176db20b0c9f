"""`bridge activation-keys`: give students a printed activation key (seed 004).

Each key is set as a temporary Keycloak password and written once to a new file for the
enrollment sheets: created exclusively (never overwritten), readable by its owner only.
Keycloak keeps only a hash, so a lost file means new keys, not recovered ones. Keys are
never printed or logged.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bridge.domain.accounts import Account
from bridge.flows.activation_keys import issue_activation_key
from bridge.gateway.keycloak import ProvisioningGateway

HEADER = ("identifiant", "prenom", "nom", "cle_activation")


@dataclass
class KeyReport:
    issued: list[str] = field(default_factory=list)
    skipped_activated: list[str] = field(default_factory=list)
    skipped_disabled: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def open_export(path: Path) -> int:
    """FileExistsError if it exists: an export is written once."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


async def issue_activation_keys(
    gateway: ProvisioningGateway, out: Path, usernames: Sequence[str] | None = None
) -> KeyReport:
    """Keys for the named students, or for every student without a password yet."""
    report = KeyReport()
    # "Every student without a password" is Keycloak's listing: a credential that sees
    # more is refused before the export is created.
    await gateway.ensure_scoped()
    descriptor = open_export(out)  # before writing to Keycloak: fail early, change nothing
    with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream, delimiter=";")
        writer.writerow(HEADER)
        accounts: list[Account] = []
        if usernames is None:
            accounts = await gateway.pending_students()
        else:
            for username in usernames:
                account = await gateway.find_student(username.strip().lower())
                if account is None:
                    report.unknown.append(username)
                else:
                    accounts.append(account)
        for account in accounts:
            if not account.enabled:
                report.skipped_disabled.append(account.username)
                continue
            if account.activated:
                report.skipped_activated.append(account.username)
                continue
            key = await issue_activation_key(gateway, account)
            # Written only once Keycloak holds the key, so that every line printed works.
            writer.writerow((account.username, account.first_name, account.last_name, key))
            stream.flush()
            report.issued.append(account.username)
    return report
