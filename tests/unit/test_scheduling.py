"""A scheduled job's run without Redis (bridge.cli.scheduling): the lock is a file lock on
this host, the outcome is the last line printed."""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.cli.common import EXIT_CRASHED, EXIT_LOCKED, EXIT_OK, EXIT_REJECTED
from bridge.cli.scheduling import JobResult, run_scheduled
from bridge.settings import JobSettings


@pytest.fixture
def realm() -> Iterator[JobSettings]:
    """A realm of its own: its lock files are nobody else's, and go with the test."""
    url = f"http://kc-{uuid.uuid4().hex}.invalid"
    yield JobSettings(url, "um", "provisioning", "s3cret")
    digest = hashlib.sha256(f"{url}/realms/um".encode()).hexdigest()[:12]
    for path in Path(tempfile.gettempdir()).glob(f"um-job-{digest}-*.lock"):
        path.unlink()


def test_a_run_prints_its_outcome_last(
    realm: JobSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_scheduled(
        "provision", "provision", realm, lambda: JobResult(EXIT_REJECTED, "rejected 2")
    )
    assert code == EXIT_REJECTED
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("job provision: exit 1 (rejected) in ")
    assert last.endswith(" s: rejected 2")


def test_a_second_run_while_the_first_holds_the_lock_is_refused(
    realm: JobSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    inner: list[int] = []

    def first() -> JobResult:
        # The weekly full run is still running when the incremental one starts.
        inner.append(run_scheduled("provision", "provision", realm, lambda: JobResult(0, "")))
        return JobResult(EXIT_OK, "done")

    assert run_scheduled("provision-full", "provision", realm, first) == EXIT_OK
    assert inner == [EXIT_LOCKED]
    err = capsys.readouterr().err
    assert "job provision: exit 75 (locked)" in err
    assert "the provision lock is held by provision-full on " in err
    # Released at the end: the next run goes.
    assert run_scheduled("provision", "provision", realm, lambda: JobResult(0, "")) == EXIT_OK


def test_another_jobs_lock_does_not_stop_a_run(realm: JobSettings) -> None:

    def expire() -> JobResult:
        remind = run_scheduled("remind", "remind", realm, lambda: JobResult(EXIT_OK, ""))
        return JobResult(remind, "")

    assert run_scheduled("expire", "expire", realm, expire) == EXIT_OK


def test_an_unplanned_failure_is_exit_70_and_frees_the_lock(
    realm: JobSettings, capsys: pytest.CaptureFixture[str]
) -> None:

    def broken() -> JobResult:
        raise KeyError("unplanned")

    assert run_scheduled("expire", "expire", realm, broken) == EXIT_CRASHED
    err = capsys.readouterr().err
    assert "KeyError: 'unplanned'" in err  # the traceback
    assert "job expire: exit 70 (crashed)" in err
    assert run_scheduled("expire", "expire", realm, lambda: JobResult(0, "")) == EXIT_OK
