"""The shipped crontab run by the real busybox crond (as the scheduler service runs it):
its lines unchanged, plus one test-only line that fires every minute with the shipped
provision line's command, against the session's Keycloak and Redis. Then a run started
while another holds the lock (docs/operations.md)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families

from bridge.cli.common import EXIT_LOCKED
from bridge.gateway.job_runs import Holder, RedisJobLock
from tests.integration.test_provision import HEADER, letters, number, user_by_number

ROOT = Path(__file__).resolve().parents[2]
CRONTAB = ROOT / "deploy" / "cron" / "crontab"
VENV_BIN = Path(sys.executable).parent  # where `bridge` is, as /usr/local/bin in the image


def shipped_command(job: str) -> str:
    """The command of the shipped line that runs `job` (the sixth field on)."""
    for line in CRONTAB.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            command = line.split(None, 5)[5]
            if command == job:
                return command
    raise AssertionError(f"no line runs {job!r} in {CRONTAB}")


def job_env(stack: Any, export: Path, state: Path) -> dict[str, str]:
    """The scheduler service's environment, pointed at the session's stack."""
    return {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "TZ": "Europe/Paris",
        "UM_KEYCLOAK_URL": stack.url,
        "UM_PROVISIONING_CLIENT_SECRET": stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
        "UM_REDIS_URL": stack.redis_url,
        "UM_SIS_EXPORT": str(export),
        "UM_PROVISION_STATE": str(state),
    }


def last_run(stack: Any, job: str) -> dict[str, str]:
    with redis.Redis.from_url(stack.redis_url, decode_responses=True) as client:
        return dict(client.hgetall(f"um:job:run:{job}"))


def runs(stack: Any, job: str) -> dict[str, int]:
    with redis.Redis.from_url(stack.redis_url, decode_responses=True) as client:
        return {k: int(v) for k, v in client.hgetall(f"um:job:runs:{job}").items()}


def started_runs(log: str) -> int:
    """crond's log line for each run of `bridge provision` it started."""
    return len(re.findall(r"cmd bridge provision$", log, re.MULTILINE))


def ended_runs(log: str) -> int:
    """The last line each run prints (bridge.cli.scheduling)."""
    return len(re.findall(r"^job provision: exit ", log, re.MULTILINE))


def job_series(bridge: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{bridge.url}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("um_job_")
    }


def test_cron_runs_provision_under_its_lock_and_records_it(
    stack: Any, bridge: Any, admin: httpx.Client, tmp_path: Path
) -> None:
    # crond runs a crontab only if root owns it, and switches to its user (as in the image,
    # where root's crond runs the `bridge` user's lines): the tests run as root, as CI does.
    assert os.geteuid() == 0, "busybox crond runs jobs as the crontab's user: run as root"
    busybox = shutil.which("busybox")
    assert busybox, "busybox (Debian's busybox-static) is installed by scripts/bootstrap"
    command = shipped_command("bridge provision")
    tabs = tmp_path / "crontabs"
    tabs.mkdir()
    (tabs / "root").write_text(CRONTAB.read_text() + f"* * * * * {command}\n")

    student_number = number()
    export = tmp_path / "sis.csv"
    export.write_text(f"{HEADER}\n{student_number},Cron{letters()},Camille,2026,,,,\n")
    state = tmp_path / "provision.sqlite3"
    env = job_env(stack, export, state)
    started = time.time()
    out, err = tmp_path / "crond.out", tmp_path / "crond.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        crond = subprocess.Popen(
            [busybox, "crond", "-f", "-L", "/dev/stderr", "-c", str(tabs)],
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        # The one wait: crond starts the line at the next minute (the shipped */5 line too,
        # on a multiple of 5: then one of the two finds the lock taken), and every run it
        # started has printed its last line and recorded itself.
        deadline = time.monotonic() + 150
        while not (
            float(last_run(stack, "provision").get("ended", 0)) >= started
            and ended_runs(err.read_text()) == started_runs(err.read_text())
        ):
            assert crond.poll() is None, err.read_text()
            assert time.monotonic() < deadline, (out.read_text(), err.read_text())
            time.sleep(1)
    finally:
        crond.send_signal(signal.SIGTERM)
        crond.wait(10)

    record = last_run(stack, "provision")
    assert (record["exit_code"], record["outcome"]) == ("0", "ok"), record
    account = user_by_number(admin, student_number)
    assert account["enabled"] is True
    logged, job_err = out.read_text(), err.read_text()
    # The jobs' output is crond's, so the container's log: the counts, then the last line.
    assert "created 1," in logged, logged
    assert "job provision: exit 0 (ok)" in job_err, job_err
    assert "cmd bridge provision" in job_err  # crond's own log line, on stderr too
    series = job_series(bridge)
    assert series[("um_job_last_exit_code", (("job", "provision"),))] == 0
    success = series[("um_job_last_success_timestamp_seconds", (("job", "provision"),))]
    assert success >= started
    assert series[("um_job_runs_total", (("job", "provision"), ("outcome", "ok")))] >= 1
    assert series[("um_job_items_total", (("item", "created"), ("job", "provision")))] >= 1

    # Another run holds the lock (a weekly full run, on another host): a run started now
    # exits 75, names it, and touches nothing, not even the last run's record.
    latecomer = number()
    export.write_text(export.read_text() + f"{latecomer},Tard{letters()},Lou,2026,,,,\n")
    state_before, record_before = state.read_bytes(), last_run(stack, "provision")
    locked_before = runs(stack, "provision").get("locked", 0)
    lock = RedisJobLock(stack.redis_url, "provision")
    holder = Holder("provision-full", "scheduler-2", 4242, time.time(), "a-token")
    assert lock.acquire(holder) is None
    try:
        second = subprocess.run(
            command.split(), env=env, capture_output=True, text=True, timeout=120, check=False
        )
    finally:
        lock.release()
    assert second.returncode == EXIT_LOCKED, second.stderr
    assert "the provision lock is held by provision-full on scheduler-2 (pid 4242)" in (
        second.stderr
    )
    found = admin.get("/users", params={"q": f"supannEtuId:{latecomer}", "exact": "true"})
    assert found.json() == []
    assert state.read_bytes() == state_before
    assert last_run(stack, "provision") == record_before
    assert runs(stack, "provision").get("locked", 0) == locked_before + 1
    locked = job_series(bridge)[
        ("um_job_runs_total", (("job", "provision"), ("outcome", "locked")))
    ]
    assert locked == locked_before + 1
