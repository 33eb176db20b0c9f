"""bench/provision_concurrency: how many creations in flight suit `bridge provision`.

    .venv/bin/python bench/provision_concurrency.py [--students 3000] [--rounds 3]
                                                    [--settings 2,4,8,16]
    .venv/bin/python bench/provision_concurrency.py --grid [--students 20000]
                        [--settings 2,4,8,16] [--batch-sizes 50,125,250,500]

`--grid` (issue 19; bench/lifecycle.py runs it as a phase): every pair of creations in
flight and batch size, once each in a shuffled order, with the cores Keycloak and
PostgreSQL used; then, at the best pair, where a creation's cost goes: the same creations
with an administrator's token (no fine-grained permission to evaluate), and with it but
without the `students` membership.

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
import contextlib
import datetime as dt
import itertools
import os
import random
import statistics
import sys
import time
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import BenchStack, bench_stack
from bridge.domain.accounts import StudentRecord
from bridge.flows.directory import Index
from bridge.flows.provisioning import Run
from bridge.gateway.keycloak import ProvisioningGateway
from bridge.gateway.keycloak.provisioning import Imported, NewAccount, new_account_representation
from devstack.admin import PartialImportProvisioning

TODAY = dt.date(2026, 11, 21)


class AdministratorPosts(ProvisioningGateway):
    """The job's creations (one POST /users each) with an administrator's token: Keycloak
    evaluates no fine-grained permission for it. `membership` False: the accounts are
    created outside `students` (the group's share of a creation's cost). A measuring
    device: the product never creates with an administrator's token."""

    membership = True

    async def ensure_scoped(self) -> None:
        """An administrator by design."""

    async def import_students(
        self, accounts: Sequence[NewAccount], slots: asyncio.Semaphore | None = None
    ) -> dict[str, Imported]:
        async def one(account: NewAccount) -> Imported:
            rep = new_account_representation(account)
            if not self.membership:
                rep.pop("groups")
            async with slots or contextlib.nullcontext():
                user_id = await self._admin.a_create_user(rep, exist_ok=False)
            return Imported(created=True, user_id=str(user_id))

        answers = await asyncio.gather(*(one(account) for account in accounts))
        return {a.record.username: r for a, r in zip(accounts, answers, strict=True)}


async def create(
    gateway: ProvisioningGateway, tag: str, count: int, concurrency: int, batch: int = 0
) -> None:
    batch = batch or (125 if isinstance(gateway, PartialImportProvisioning) else 50)
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


def _tag(n: int) -> str:
    """Letters only (create()'s identifiers keep letters): a new prefix per measurement."""
    return chr(65 + n // 26) + chr(65 + n % 26)


def cores(figures: dict[str, float], who: str) -> float:
    return figures[who] / figures["seconds"]


def grid(
    stack: BenchStack,
    students: int,
    settings: Sequence[int],
    batch_sizes: Sequence[int],
    seed: int = 11,
) -> dict[tuple[int, int], dict[str, float]]:
    """Issue 19, point 1: every (in flight, batch size) pair once, in a shuffled order (the
    realm grows by `students` each time, as intakes do), then the cost's shares at the best
    pair. Prints as it goes; returns the grid's figures."""
    keycloak = stack.keycloak
    pairs = list(itertools.product(settings, batch_sizes))
    random.Random(seed).shuffle(pairs)  # noqa: S311 - the order of the settings only
    results: dict[tuple[int, int], dict[str, float]] = {}
    print(
        f"  import grid: {students} new students per pair, one POST /users each, "
        f"provisioning client ({stack.database}; {len(pairs)} pairs, shuffled)",
        flush=True,
    )
    for n, (in_flight, batch) in enumerate(pairs):
        gateway = ProvisioningGateway.service_account(
            keycloak.url,
            "um",
            "provisioning",
            stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
            timeout=120,
        )
        figures = measure(stack, create(gateway, _tag(n), students, in_flight, batch))
        results[(in_flight, batch)] = figures
        print(
            f"    in flight {in_flight:>2}, batch {batch:>3}: {students / figures['seconds']:6.0f}"
            f" rows/s   cores used: Keycloak {cores(figures, 'Keycloak'):.2f}, PostgreSQL "
            f"{cores(figures, 'PostgreSQL'):.2f}, job {cores(figures, 'job'):.2f}",
            flush=True,
        )
    best = max(results, key=lambda pair: students / results[pair]["seconds"])
    print(f"    best: in flight {best[0]}, batch {best[1]}", flush=True)
    in_flight, batch = best
    shares = (
        ("administrator's token, in students", True),
        ("administrator's token, no group", False),
    )
    for k, (label, membership) in enumerate(shares):
        admin = AdministratorPosts.administrator(
            keycloak.url, "um", keycloak.admin_user, keycloak.admin_password
        )
        admin.membership = membership
        figures = measure(stack, create(admin, _tag(len(pairs) + k), students, in_flight, batch))
        print(
            f"    {label:<36} {students / figures['seconds']:6.0f} rows/s   cores used: "
            f"Keycloak {cores(figures, 'Keycloak'):.2f}, PostgreSQL "
            f"{cores(figures, 'PostgreSQL'):.2f}; Keycloak CPU per student "
            f"{figures['Keycloak'] * 1000 / students:.1f} ms (provisioning client: "
            f"{results[best]['Keycloak'] * 1000 / students:.1f} ms)",
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settings", default="2,4,8,16")
    parser.add_argument("--database", choices=("postgres", "h2"), default="postgres")
    parser.add_argument("--grid", action="store_true", help="in flight x batch size (above)")
    parser.add_argument("--batch-sizes", default="50,125,250,500")
    args = parser.parse_args()
    settings = [int(s) for s in args.settings.split(",")]
    if args.grid:
        with bench_stack(database=args.database) as stack:
            grid(stack, args.students, settings, [int(b) for b in args.batch_sizes.split(",")])
        return
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
