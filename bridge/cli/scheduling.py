"""What every scheduled job's run shares (docs/operations.md): a lock, so that two runs
never overlap (across hosts with Redis), and the run's outcome, recorded for the bridge's
/metrics and printed as the last line (stderr: stdout may be a job's JSON).

`provision` and `provision --full` share one lock (they write the same accounts and the
same state file) but are recorded apart: the weekly full run's age is watched on its own.
A dry run writes nothing, takes no lock and is not recorded."""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bridge.cli.common import (
    EXIT_CRASHED,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_OVERPRIVILEGED,
    EXIT_REJECTED,
    EXIT_UNAVAILABLE,
    EXIT_UNUSABLE_INPUT,
)
from bridge.domain.deadlines import PARIS
from bridge.domain.errors import ServiceUnavailable
from bridge.gateway.activity_counts import add_job_counts
from bridge.gateway.job_runs import (
    FileJobLock,
    Holder,
    JobLock,
    JobRecords,
    JobRun,
    LockBusy,
    RedisJobLock,
    held,
)
from bridge.settings import JobSettings

# The `outcome` label of um_job_runs_total, by exit code (bridge.cli.common).
OUTCOMES = {
    EXIT_OK: "ok",
    EXIT_REJECTED: "rejected",
    EXIT_UNUSABLE_INPUT: "unusable_input",
    EXIT_UNAVAILABLE: "unavailable",
    EXIT_OVERPRIVILEGED: "overprivileged",
    EXIT_LOCKED: "locked",
    EXIT_CRASHED: "crashed",
}
# A run that did its work to the end: with rejected rows too (the rest was applied; the
# rows are the registrar's to fix), so that one bad row does not look like a dead job.
COMPLETED = frozenset({EXIT_OK, EXIT_REJECTED})


@dataclass(frozen=True)
class JobResult:
    """What a job's command came to: its exit code, its one-line summary (the counts it
    printed, or why it stopped), and what it did, counted (created, disabled, sent...)."""

    code: int
    summary: str
    items: Mapping[str, int] = field(default_factory=dict)


def outcome_of(code: int) -> str:
    return OUTCOMES.get(code, f"exit_{code}")


def _lock(settings: JobSettings, name: str) -> JobLock:
    if settings.redis_url:
        return RedisJobLock(settings.redis_url, name)
    # One host: a file per realm, so that the jobs of two realms (two test stacks on one
    # machine) never wait for each other.
    realm = hashlib.sha256(f"{settings.keycloak_url}/realms/{settings.realm}".encode())
    return FileJobLock(Path(tempfile.gettempdir()) / f"um-job-{realm.hexdigest()[:12]}-{name}.lock")


def _paris(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, PARIS).isoformat(timespec="seconds")


def _last_line(job: str, code: int, seconds: float, summary: str) -> None:
    print(
        f"job {job}: exit {code} ({outcome_of(code)}) in {seconds:.1f} s: {summary}",
        file=sys.stderr,
        flush=True,
    )


def run_scheduled(
    job: str,
    lock_name: str,
    settings: JobSettings,
    work: Callable[[], JobResult],
    *,
    wait: float = 0.0,
) -> int:
    """`work` under the lock `lock_name`, its outcome recorded under `job` (with Redis)."""
    records = JobRecords(settings.redis_url) if settings.redis_url else None
    me = Holder.me(job)
    started = time.time()

    def lost() -> None:
        print(f"job {job}: its lock lapsed while it ran; another run may overlap", file=sys.stderr)

    try:
        with held(_lock(settings, lock_name), me, wait=wait, lost=lost):
            try:
                result = work()
            except Exception:
                traceback.print_exc()
                result = JobResult(EXIT_CRASHED, "crashed (traceback above)")
    except LockBusy as busy:
        holder = busy.holder
        who = (
            f"{holder.job} on {holder.host} (pid {holder.pid}) since {_paris(holder.since)}"
            if holder and holder.since
            else "a run that could not be identified"
        )
        summary = f"not run: the {lock_name} lock is held by {who}"
        if records is not None:
            try:
                records.count_refused(job, outcome_of(EXIT_LOCKED))
            except ServiceUnavailable as error:
                print(f"job {job}: not recorded: {error}", file=sys.stderr)
        _last_line(job, EXIT_LOCKED, time.time() - started, summary)
        return EXIT_LOCKED
    except ServiceUnavailable as error:
        # No lock to be had: running without one could overlap another host's run.
        _last_line(job, EXIT_UNAVAILABLE, time.time() - started, f"not run: lock store: {error}")
        return EXIT_UNAVAILABLE
    ended = time.time()
    if records is not None:
        run = JobRun(
            job=job,
            outcome=outcome_of(result.code),
            exit_code=result.code,
            started=started,
            ended=ended,
            summary=result.summary,
            completed=result.code in COMPLETED,
            host=me.host,
            items=result.items,
        )
        try:
            records.record(run)
        except ServiceUnavailable as error:
            print(f"job {job}: outcome not recorded: {error}", file=sys.stderr)
        try:  # what the staff dashboard shows of it (expired, re-enabled: docs/dashboard.md)
            add_job_counts(settings.redis_url, job, result.items, ended)
        except ServiceUnavailable as error:
            print(f"job {job}: dashboard counts not recorded: {error}", file=sys.stderr)
    _last_line(job, result.code, ended - started, result.summary)
    return result.code
