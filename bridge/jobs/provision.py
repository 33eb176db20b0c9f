"""`bridge provision`: the SIS export into Keycloak, idempotently.

Streams the export row by row and applies each row (bridge.flows.provisioning) against
what Keycloak holds, found in one of two ways (bridge.flows.directory):
- full: every member of `students` read once into a compact index (provisioning matches
  students only); the first run, a run without a state file, `--full`.
- incremental: with a state file (bridge.jobs.provision_state) that knows the row as it
  was last applied, a row with the same fingerprint is done without asking Keycloak; the
  others are looked up one by one.
This module reads the export, rejects the rows that cannot be applied (unreadable, the same
student twice), writes the activation keys' file, and chooses the mode.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

from bridge.domain.ine import mask_ine
from bridge.domain.sis import RowRejected, fingerprint, record_from_fields
from bridge.flows.directory import Directory, Lookups, load_index
from bridge.flows.provisioning import Reporter, Run, Summary
from bridge.gateway.keycloak import ProvisioningGateway
from bridge.jobs.activation_keys import HEADER as KEYS_HEADER
from bridge.jobs.activation_keys import open_export
from bridge.jobs.provision_state import ProvisionState
from bridge.jobs.sis_reader import BadRow, Row, read_export

# New students per batch (the state file records a batch once Keycloak confirmed it), and
# Keycloak writes in flight: measured on 2 cores, PostgreSQL (docs/lifecycle.md). The
# command's defaults (bridge.cli.provision) are the same.
BATCH_SIZE, CONCURRENCY = 50, 8
# What reading one student into the full index costs, about (docs/lifecycle.md: 0.5 to
# 1.75 ms on PostgreSQL, more on H2): an incremental run switches to the index once its
# attribute searches have cost as much as reading every student.
INDEX_SECONDS = 0.002


async def provision(
    gateway: ProvisioningGateway,
    path: Path,
    *,
    today: dt.date,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    concurrency: int = CONCURRENCY,
    report: Reporter = lambda _: None,
    progress: Callable[[int], None] = lambda _: None,
    keys_out: Path | None = None,
    min_year: int = 2000,
    state: ProvisionState | None = None,
    full: bool = False,
    principal_scope: str | None = None,
) -> Summary:
    """Raises ExportError for a file that cannot be used at all (nothing written then),
    ServiceUnavailable when Keycloak fails midway (what was written is safe to re-run),
    Overprivileged when the credential holds more than the provisioning client's rights
    (nothing written).
    With a `state`, rows applied by an earlier run are skipped unless `full`."""
    rows = read_export(path)
    first = next(rows, None)  # ExportError now, before reading the realm or writing
    # Keycloak keeps this credential to students: refuse one that reaches further.
    await gateway.ensure_scoped()
    keys: TextIO | None = None
    if keys_out is not None and not dry_run:
        keys = os.fdopen(open_export(keys_out), "w", encoding="utf-8", newline="")
        keys.write(";".join(KEYS_HEADER) + "\n")
    try:
        directory, notes = await _directory(gateway, state, full)
        run = Run(
            gateway,
            directory,
            state,
            today,
            dry_run,
            batch_size,
            report,
            keys,
            concurrency,
            principal_scope,
        )
        run.summary.dry_run = dry_run
        run.summary.mode = "incremental" if isinstance(directory, Lookups) else "full"
        run.summary.notes = notes
        trusted = state if isinstance(directory, Lookups) else None
        index_cost = INDEX_SECONDS * await gateway.count_accounts() if trusted else 0.0
        seen_numbers: dict[str, int] = {}
        seen_ines: dict[str, int] = {}
        for item in _chain(first, rows):
            progress(item.offset)
            if isinstance(item, BadRow):
                run.reject(item.line, item.reason)
                continue
            try:
                record = record_from_fields(item.fields, min_year, today.year + 1)
            except RowRejected as error:
                run.reject(item.line, error.detail)
                continue
            if record.student_number in seen_numbers:
                run.reject(
                    item.line,
                    f"student number {record.student_number} already on "
                    f"line {seen_numbers[record.student_number]}",
                )
                continue
            seen_numbers[record.student_number] = item.line
            if record.ine and record.ine in seen_ines:
                run.reject(
                    item.line, f"INE {mask_ine(record.ine)} already on line {seen_ines[record.ine]}"
                )
                continue
            if record.ine:
                seen_ines[record.ine] = item.line
            if trusted is not None and trusted.fingerprint(record.student_number) == fingerprint(
                record
            ):
                run.summary.unchanged += 1
                run.summary.unchanged_from_state += 1
                continue
            await run.row(item.line, record)
            if isinstance(run.directory, Lookups) and gateway.search_seconds > index_cost:
                await _read_every_student(run, gateway, run.directory, state)
        await run.drain()
        return run.summary
    finally:
        if keys is not None:
            keys.close()
        if state is not None:
            state.commit()


async def _directory(
    gateway: ProvisioningGateway, state: ProvisionState | None, full: bool
) -> tuple[Directory, list[str]]:
    """Incremental when a state file knows earlier runs, else the full index."""
    if state is None or full:
        return await load_index(gateway, state), []
    applied = state.applied_count()
    if applied == 0:
        return await load_index(gateway, state), ["no earlier run in the state file: full run"]
    accounts = await gateway.count_accounts()
    if accounts < applied:
        # Keycloak holds fewer accounts than the file says were applied: a realm restored
        # from an older backup, or recreated. Trust nothing, check every row.
        state.forget()
        return await load_index(gateway, state), [
            f"the state file knows {applied} applied rows but the realm has {accounts} "
            "accounts: its fingerprints were dropped, full run"
        ]
    return Lookups(gateway, state), []


async def _read_every_student(
    run: Run, gateway: ProvisioningGateway, lookups: Lookups, state: ProvisionState | None
) -> None:
    """An incremental run whose searches (students the state file does not know: a run
    killed before it recorded them, the rows of a new intake) have cost as much as reading
    every student would: the rest of the run uses the full index. Rows the state file
    knows unchanged are still skipped."""
    await run.drain()  # the index must see what this run wrote
    run.directory = await load_index(gateway, state, lookups.usernames)
    run.summary.notes.append(
        f"the searches had cost {gateway.search_seconds:.0f} s: the rest of the run read "
        "every student instead"
    )


def _chain(first: Row | BadRow | None, rest: Iterator[Row | BadRow]) -> Iterator[Row | BadRow]:
    if first is not None:
        yield first
    yield from rest
