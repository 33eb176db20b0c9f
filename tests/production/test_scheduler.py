"""The `scheduler` service as compose runs it: busybox crond with the shipped crontab
(plus the shipped provision command every minute, conftest.py), in the environment compose
gives it, running the wheel's `bridge`. By the time this file runs, the stage has lasted
minutes: crond has started provision on the export, under its lock, and recorded it where
every replica's /metrics shows it. Then a run started while another holds the lock."""

from __future__ import annotations

import subprocess
import time

import httpx
import redis
from prometheus_client.parser import text_string_to_metric_families

from bridge.cli.common import EXIT_LOCKED
from bridge.gateway.job_runs import Holder, RedisJobLock
from devstack.shape import ProductionShape
from tests.integration.test_provision import user_by_number
from tests.production.conftest import EXPORT_STUDENT, SHIPPED_PROVISION


def last_run(shape: ProductionShape, job: str) -> dict[str, str]:
    assert shape.redis
    with redis.Redis.from_url(shape.redis.url, decode_responses=True) as client:
        return dict(client.hgetall(f"um:job:run:{job}"))


def job_series(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("um_job_")
    }


def test_crond_ran_provision_from_the_export(shape: ProductionShape, admin: httpx.Client) -> None:
    deadline = time.monotonic() + 150  # at most the next minute, if the stage was quick
    while last_run(shape, "provision").get("outcome") != "ok":
        assert shape.scheduler and shape.scheduler.poll() is None, "crond exited"
        assert time.monotonic() < deadline, (shape.run_dir / "scheduler.log").read_text()
        time.sleep(1)
    record = last_run(shape, "provision")
    assert record["exit_code"] == "0", record
    account = user_by_number(admin, EXPORT_STUDENT["number"])
    assert account["enabled"] is True and account["lastName"] == EXPORT_STUDENT["last_name"]
    log = (shape.run_dir / "scheduler.log").read_text()
    assert "cmd bridge provision" in log and "job provision: exit 0 (ok)" in log, log[-2000:]
    for i in range(shape.replicas):
        series = job_series(shape.replica_url(i))
        assert series[("um_job_last_exit_code", (("job", "provision"),))] == 0
        assert series[("um_job_runs_total", (("job", "provision"), ("outcome", "ok")))] >= 1


def test_a_run_while_the_lock_is_held_changes_nothing(shape: ProductionShape) -> None:
    assert shape.redis and shape.installed
    lock = RedisJobLock(shape.redis.url, "provision")
    holder = Holder("provision-full", "scheduler-2", 4242, time.time(), "a-token")
    deadline = time.monotonic() + 120
    while lock.acquire(holder) is not None:  # crond's own run may hold it right now
        assert time.monotonic() < deadline
        time.sleep(1)
    before = last_run(shape, "provision")
    try:
        second = subprocess.run(
            SHIPPED_PROVISION.split(),
            env=shape.environment("scheduler"),
            cwd=shape.run_dir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        lock.release()
    assert second.returncode == EXIT_LOCKED, second.stderr
    assert "held by provision-full on scheduler-2 (pid 4242)" in second.stderr
    assert last_run(shape, "provision") == before


def test_every_replica_and_node_exposes_its_metrics(shape: ProductionShape) -> None:
    assert shape.cluster
    for i in range(shape.replicas):
        text = httpx.get(f"{shape.replica_url(i)}/metrics", timeout=10).text
        names = {f.name for f in text_string_to_metric_families(text)}
        for wanted in ("um_http_requests", "um_mails", "um_keycloak_request_duration_seconds"):
            assert wanted in names, (i, sorted(names))
        assert 'route="/activation"' in text
    # Each node counts its own events since its own start, and the fault tests restarted
    # both: the logins are counted over the cluster, not on each node.
    logins = 0.0
    for node in range(len(shape.cluster.nodes)):
        metrics = shape.cluster.metrics(node)
        assert "vendor_cluster_size" in metrics
        logins += sample(metrics, "keycloak_user_events_total", event="login", error="", realm="um")
    assert logins >= 1, "no login counted by any node"


def sample(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


def test_the_activation_funnel_adds_up_over_the_replicas(shape: ProductionShape) -> None:
    """Mails sent, summed over the replicas' /metrics, match what the sink received from
    the bridge's flows: one count per mail, whichever replica asked for it."""
    texts = [httpx.get(f"{shape.replica_url(i)}/metrics", timeout=10).text for i in range(2)]
    sent = sum(sample(t, "um_mails_total", outcome="sent") for t in texts)
    assert sent >= 5, sent
    refused = sum(sample(t, "um_limit_refusals_total") for t in texts)
    assert refused >= 49, refused  # test_faults.py's fifty parallel posts
