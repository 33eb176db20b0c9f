"""bench/provision_concurrency: how many creations in flight suit `bridge provision`.

    .venv/bin/python bench/provision_concurrency.py [--students 3000] [--rounds 3]
                                                    [--settings 2,4,8,16]

On one private Keycloak (PostgreSQL by default), round after round, each setting in a
shuffled order: N new students created by the job's run (bridge.flows.provisioning.Run,
with an empty index: creation only, no listing) with the provisioning client, `--concurrency
C` for each C of `--settings`; and, for reference, the same N by partial imports (125 a
batch, four in flight) with an administrator's token. Rows/s and the CPU seconds of the
job (this process), Keycloak and PostgreSQL per setting; the medians over the rounds at the
end. The realm grows by N each time, as a real intake would.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import BenchStack, bench_stack
from bridge.domain.accounts import StudentRecord
from bridge.flows.directory import Index
from bridge.flows.provisioning import Run
from bridge.gateway.keycloak import ProvisioningGateway
from devstack.admin import PartialImportProvisioning

TODAY = dt.date(2026, 11, 21)


async def create(gateway: ProvisioningGateway, tag: str, count: int, concurrency: int) -> None:
    batch = 125 if isinstance(gateway, PartialImportProvisioning) else 50
    run = Run(gateway, Index(), None, TODAY, False, batch, lambda _: None, None, concurrency)
    for n in range(count):
        record = StudentRecord(
            username="",
            first_name="Jean",
            # Letters only: the identifier's prefix keeps letters (a new prefix per
            # measurement, as the index is empty: no identifier of an earlier one reused).
            last_name=f"Bench{tag.lower()}",
            student_number=f"{tag}{n:07d}",
            last_enrollment_year=2026,
            rescue_email=f"{tag.lower()}{n}@example.org",
        )
        await run.row(n + 2, record)
    await run.drain()
    assert run.summary.created == count, run.summary


def measure(stack: BenchStack, work: Coroutine[Any, Any, None]) -> dict[str, float]:
    before, job_before, started = stack.cpu(), os.times(), time.perf_counter()
    asyncio.run(work)
    seconds = time.perf_counter() - started
    after, job_after = stack.cpu(), os.times()
    job = job_after.user + job_after.system - job_before.user - job_before.system
    return {
        "seconds": seconds,
        "job": job,
        "Keycloak": after["Keycloak"] - before["Keycloak"],
        "PostgreSQL": after["PostgreSQL"] - before["PostgreSQL"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settings", default="2,4,8,16")
    parser.add_argument("--database", choices=("postgres", "h2"), default="postgres")
    args = parser.parse_args()
    settings = [int(s) for s in args.settings.split(",")]
    rng = random.Random(11)  # noqa: S311 - the order of the settings only
    results: dict[str, list[dict[str, float]]] = {}
    with bench_stack(database=args.database) as stack:
        keycloak = stack.keycloak

        def scoped() -> ProvisioningGateway:
            return ProvisioningGateway.service_account(
                keycloak.url,
                "um",
                "provisioning",
                stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
                timeout=120,
            )

        def administrator() -> ProvisioningGateway:
            return PartialImportProvisioning.administrator(
                keycloak.url, "um", keycloak.admin_user, keycloak.admin_password
            )

        for round_ in range(args.rounds):
            order = [f"POST, concurrency {c}" for c in settings] + ["partial imports (admin)"]
            rng.shuffle(order)
            for i, label in enumerate(order):
                tag = f"{chr(65 + round_)}{chr(65 + i)}"  # letters only (above)
                if label.startswith("partial"):
                    work = create(administrator(), tag, args.students, 4)
                else:
                    work = create(scoped(), tag, args.students, int(label.rsplit(" ", 1)[1]))
                figures = measure(stack, work)
                results.setdefault(label, []).append(figures)
                print(
                    f"  round {round_ + 1}  {label:<24} {args.students / figures['seconds']:6.0f}"
                    f" rows/s   CPU: job {figures['job']:4.0f} s, Keycloak "
                    f"{figures['Keycloak']:4.0f} s, PostgreSQL {figures['PostgreSQL']:4.0f} s",
                    flush=True,
                )
    print(f"\nmedians over {args.rounds} rounds, {args.students} students each ({stack.database}):")
    labels = [f"POST, concurrency {c}" for c in settings] + ["partial imports (admin)"]
    for label, runs in ((label, results[label]) for label in labels):
        rate = statistics.median(args.students / r["seconds"] for r in runs)
        cpu = {k: statistics.median(r[k] for r in runs) * 1000 / args.students
               for k in ("job", "Keycloak", "PostgreSQL")}  # fmt: skip
        print(
            f"  {label:<24} {rate:6.0f} rows/s   CPU per student: job {cpu['job']:.1f} ms, "
            f"Keycloak {cpu['Keycloak']:.1f} ms, PostgreSQL {cpu['PostgreSQL']:.1f} ms"
        )


if __name__ == "__main__":
    main()
