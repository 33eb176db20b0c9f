"""The production-shape stage (scripts/test-production-shape, part of `make test`):
docker-compose.yml's services run natively as compose configures them (devstack.shape):
nginx with TLS in front of two bridge replicas installed from the wheel and of a two-node
Keycloak cluster on one PostgreSQL, Redis, an SMTP sink. The tests talk to it as students,
staff and campus applications do: through nginx's public hosts, over HTTPS.

The fixtures of tests/conftest.py that need the session's `admin` (make_user) get this
deployment's: the realm's admin API on nginx's internal route, as the bootstrap
administrator; `bridge` is the public URL of the replicas."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devstack.keycloak import REPO_ROOT
from devstack.shape import ProductionShape
from tests.helpers.report import report
from tests.helpers.stack import AdminAuth
from tests.integration.test_provision import HEADER, letters, number

SHIPPED_PROVISION = "bridge provision"
# The student of the export, for test_scheduler.py.
EXPORT_STUDENT: dict[str, str] = {}


@pytest.fixture(scope="session")
def shape() -> Iterator[ProductionShape]:
    # Under var/ (not a temporary directory) so that the logs outlive a failed run.
    deployment = ProductionShape(
        REPO_ROOT / "var" / "test-shape",
        settings={
            # Every client of this stage comes from 127.0.0.1: the per-network ceiling and
            # the proof of work have their own tests (tests/integration/test_challenge.py).
            "UM_ADDRESS_LIMIT": "100000/600",
            "UM_CHALLENGE_AFTER": "100000",
        },
        # The shipped command of the 5-minute line, every minute: the stage lasts minutes,
        # not a multiple of five (tests/production/test_scheduler.py).
        extra_crontab=f"* * * * * {SHIPPED_PROVISION}\n",
    )
    # The SIS export the scheduler's provision reads (UM_SIS_EXPORT, in UM_EXPORTS_DIR).
    EXPORT_STUDENT.update(number=number(), last_name=f"Cron{letters()}")
    (deployment.run_dir / "exports" / "sis.csv").write_text(
        f"{HEADER}\n{EXPORT_STUDENT['number']},{EXPORT_STUDENT['last_name']},Camille,2026,,,,\n"
    )
    try:
        deployment.start()
        # Every HTTP client of the session (httpx, Authlib) trusts the run's local CA, as a
        # browser trusts the university's certificate.
        os.environ.update(deployment.tls.trust_environment())
        for what, seconds in deployment.timings.items():
            report(f"production shape: {what} in {seconds:.1f}s")
        assert deployment.formation
        for i, lines in deployment.formation.views.items():
            view = lines[-1].split("ISPN000094: ", 1)[-1] if lines else "(no view logged)"
            report(
                f"production shape: node {i + 1}, cluster size "
                f"{deployment.formation.sizes[i]}: {view}"
            )
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture(scope="session")
def admin(shape: ProductionShape) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{shape.internal_url}/admin/realms/um",
        auth=AdminAuth(shape.admin_token),
        timeout=30,
    ) as client:
        yield client


@dataclass
class PublicBridge:
    url: str
    app: Any = None


@pytest.fixture(scope="session")
def bridge(shape: ProductionShape) -> PublicBridge:
    return PublicBridge(shape.bridge_url)


_ADDRESSES = (f"127.0.{n // 250}.{n % 250 + 2}" for n in itertools.count(250))


@pytest.fixture
def network() -> str:
    """A loopback address of its own for the test's clients to connect from: nginx passes
    it on as the client's address, so each test has its own network's allowance (the
    limits count per network; all of them from 127.0.0.1 would share one)."""
    return next(_ADDRESSES)
