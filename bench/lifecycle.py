"""bench/lifecycle: provisioning and expiry at university scale, in one run.

    .venv/bin/python bench/lifecycle.py [--students 100000] [--naive-sample 1000]
                                        [--database postgres|h2]
                                        [--batch-size 8 --concurrency 4]
                                        [--grid-students 20000]

Phases, each on a private Keycloak started by the script (database: a private PostgreSQL
cluster by default, as in production; `--database h2` for the dev-file H2), fresh for each
of the two first imports so that both start from the same empty realm:

1. the first import of N students from a generated SIS export as the job made it until
   issue 15: partial imports (125 users each, four in flight) with an administrator's
   token, since Keycloak grants them to `manage-realm` only (the reference:
   devstack.admin.PartialImportProvisioning, same run, same index);
2. on a fresh stack, the same first import by the job as it is, with the provisioning
   client (no realm right): one `POST /users` per student, `--batch-size` at once,
   `--concurrency` batches in flight; then a re-run with no change, a re-run with 5% of
   the names changed (both with the job's state file, as the nightly job runs), the naive
   one-call-at-a-time path on a sample (the baseline), and the expiry job with 20% of the
   accounts expiring.
3. on a third fresh stack, the import grid of issue 19 (bench/provision_concurrency.py
   `grid`): `--grid-students` new students for every pair of creations in flight (2, 4, 8,
   16) and batch size (50, 125, 250, 500), with the cores Keycloak and PostgreSQL used, then
   the shares of a creation's cost at the best pair (fine-grained permission, membership of
   `students`). `--grid-students 0` leaves it out.

Each job runs in its own process (the real CLI, or this script for the reference); its
peak memory (max RSS) is read from the kernel, and the CPU seconds of the job, Keycloak
and PostgreSQL during each phase say where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import BenchStack, bench_stack, cpu_seconds
from bench.provision_concurrency import grid
from bridge.domain.ine import BEA_KEYS
from devstack.admin import DevAdmin, PartialImportProvisioning

# The reference's settings: the job's until issue 15 (docs/lifecycle.md).
PARTIAL_BATCH, PARTIAL_CONCURRENCY = 125, 4

FIRST = ["Jean", "Marie", "Lucas", "Chloé", "Hugo", "Léa", "Nathan", "Emma", "Louis", "Inès"]
LAST = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "García",
    "Fournier",
]
HEADER = "student_number;last_name;first_name;enrollment_year;ine;rescue_email\n"


def generate(path: Path, count: int, changed_every: int = 0, seed: int = 7) -> None:
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(count):
            last = rng.choice(LAST) + rng.choice(["", "", "-" + rng.choice(LAST)])
            first = rng.choice(FIRST)
            if changed_every and n % changed_every == 0:
                last += "-Nouveau"
            year = 2025 if n % 5 == 0 else 2026  # 20% valid until 2026-12-31
            digits = f"{n:010d}"
            ine = digits + BEA_KEYS[int(digits) % 23]
            out.write(f"E{n:07d};{last};{first};{year};{ine};e{n}@example.org\n")


@dataclass
class Phase:
    seconds: float
    peak_mib: float
    last_line: str
    cpu: str  # "job 12 s, Keycloak 300 s, PostgreSQL 40 s"


def run_job(
    args: list[str], env: dict[str, str], stack: BenchStack, command: list[str] | None = None
) -> Phase:
    """Runs `bridge <args>` (or `command`) and measures it and the servers while it runs."""
    servers_before = _server_cpu(stack)
    started = time.perf_counter()
    # Into a file, not a pipe: nobody reads a pipe during wait4, and a job that prints a
    # line per account (expire) would block once the pipe's 64 KiB are full.
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(  # noqa: S603
            command or [sys.executable, "-m", "bridge", *args], env=env, stdout=out, text=True
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        out.seek(0)
        output = out.read()
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"{' '.join(command or args)} failed: {output[-500:]}")
    keycloak, postgres = (a - b for a, b in zip(_server_cpu(stack), servers_before, strict=True))
    cpu = f"CPU: job {usage.ru_utime + usage.ru_stime:.0f} s, Keycloak {keycloak:.0f} s"
    if stack.postgres_pid:
        cpu += f", PostgreSQL {postgres:.0f} s"
    return Phase(elapsed, usage.ru_maxrss / 1024, output.strip().splitlines()[-1], cpu)


def _server_cpu(stack: BenchStack) -> tuple[float, float]:
    process = stack.keycloak.process
    return cpu_seconds(process.pid if process else None), cpu_seconds(stack.postgres_pid)


def partial_import_job(csv: Path) -> None:
    """The reference first import (phase 1), in its own process: the job's run with
    partial imports, as an administrator (UM_KEYCLOAK_URL, UM_ADMIN_USER/PASSWORD)."""
    import datetime as dt

    from bridge.jobs.provision import provision

    gateway = PartialImportProvisioning.administrator(
        os.environ["UM_KEYCLOAK_URL"],
        "um",
        os.environ["UM_ADMIN_USER"],
        os.environ["UM_ADMIN_PASSWORD"],
    )
    summary = asyncio.run(
        provision(
            gateway,
            csv,
            today=dt.date(2026, 11, 21),
            batch_size=PARTIAL_BATCH,
            concurrency=PARTIAL_CONCURRENCY,
        )
    )
    print(
        f"created {summary.created}, unchanged {summary.unchanged}, rejected "
        f"{len(summary.rejected)}, {summary.mode} run (partial imports, administrator)"
    )


def line(label: str, phase: Phase, students: int) -> str:
    return (
        f"  {label:<34} {phase.seconds:8.1f} s   {students / phase.seconds:6.0f} rows/s   "
        f"peak {phase.peak_mib:4.0f} MiB   {phase.cpu}\n  {'':<34} | {phase.last_line}"
    )


async def naive(gateway: DevAdmin, count: int) -> float:
    started = time.perf_counter()
    for n in range(count):
        await gateway.create_student(
            {
                "username": f"naive{n:06d}",
                "enabled": True,
                "firstName": "Naive",
                "lastName": f"N{n}",
                "email": f"naive{n}@example.org",
                "groups": ["/students"],
                "attributes": {
                    "supannEtuId": [f"N{n:07d}"],
                    "lastEnrollmentYear": ["2026"],
                    "validUntil": ["2027-12-31"],
                    "eduPersonAffiliation": ["student"],
                },
            }
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--naive-sample", type=int, default=1000)
    parser.add_argument("--database", choices=("postgres", "h2"), default="postgres")
    parser.add_argument("--work", default="var/bench-lifecycle")
    parser.add_argument("--batch-size", type=int, help="the job's (default: its own)")
    parser.add_argument("--concurrency", type=int, help="the job's (default: its own)")
    parser.add_argument("--grid-students", type=int, default=20_000, help="0: no grid")
    parser.add_argument("--partial-import-job", metavar="CSV", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.partial_import_job:
        partial_import_job(Path(args.partial_import_job))
        return
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    first_csv, changed_csv = work / "sis.csv", work / "sis-5pct.csv"
    state = work / "provision-state.sqlite3"
    for old in work.glob("provision-state.sqlite3*"):
        old.unlink()
    generate(first_csv, args.students)
    generate(changed_csv, args.students, changed_every=20)
    size = first_csv.stat().st_size / 2**20
    tuning = []
    if args.batch_size:
        tuning += ["--batch-size", str(args.batch_size)]
    if args.concurrency:
        tuning += ["--concurrency", str(args.concurrency)]
    print(
        f"generated {args.students} students ({size:.1f} MiB); a private stack "
        f"({args.database}) for each first import",
        flush=True,
    )

    with bench_stack(database=args.database) as stack:
        keycloak = stack.keycloak
        env = {
            **os.environ,
            "UM_KEYCLOAK_URL": keycloak.url,
            "UM_ADMIN_USER": keycloak.admin_user,
            "UM_ADMIN_PASSWORD": keycloak.admin_password,
        }
        command = [sys.executable, __file__, "--partial-import-job", str(first_csv)]
        reference = run_job([], env, stack, command)
        print(line("first import, partial (admin)", reference, args.students), flush=True)

    with bench_stack(database=args.database) as stack:
        env = {
            **os.environ,
            "UM_KEYCLOAK_URL": stack.keycloak.url,
            "UM_PROVISIONING_CLIENT_SECRET": stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
        }
        job = ["--today", "2026-11-21", "--state", str(state)]
        phases: list[Phase] = []
        for label, csv, extra in (
            ("first import, POST /users (job)", first_csv, tuning),
            ("re-run, no change", first_csv, []),
            ("re-run, 5% changed", changed_csv, []),
        ):
            phase = run_job(["provision", str(csv), *job, *extra], env, stack)
            phases.append(phase)
            print(line(label, phase, args.students), flush=True)

        gateway = DevAdmin.service_account(
            stack.keycloak.url,
            "um",
            "provisioning",
            stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
            timeout=120,
        )
        naive_seconds = asyncio.run(naive(gateway, args.naive_sample))
        naive_rate = args.naive_sample / naive_seconds
        print(
            f"  {'naive, one POST at a time':<34} {naive_seconds:8.1f} s   {naive_rate:6.0f} "
            f"rows/s   (sample of {args.naive_sample}, provisioning client)",
            flush=True,
        )

        expiry = run_job(["expire", "--today", "2027-01-01"], env, stack)
        print(line("expiry, 20% expiring", expiry, args.students // 5), flush=True)

    grid_figures = {}
    if args.grid_students:
        with bench_stack(database=args.database) as stack:
            grid_figures = grid(stack, args.grid_students, (2, 4, 8, 16), (50, 125, 250, 500))

    partial_rate = args.students / reference.seconds
    post_rate = args.students / phases[0].seconds
    print()
    print(f"database: {stack.database}; first import of {args.students}:")
    print(
        f"  partial imports, administrator: {reference.seconds:.1f} s ({partial_rate:.0f}/s); "
        f"POST /users, provisioning client: {phases[0].seconds:.1f} s ({post_rate:.0f}/s); "
        f"partial / POST = {partial_rate / post_rate:.2f}x"
    )
    print(
        f"  naive (one POST at a time): {naive_rate:.0f}/s; POST / naive = "
        f"{post_rate / naive_rate:.1f}x, partial / naive = {partial_rate / naive_rate:.1f}x"
    )
    print(
        f"no-change re-run: {phases[1].seconds:.1f} s; 5% changed: {phases[2].seconds:.1f} s; "
        f"peak memory of a run: {max(p.peak_mib for p in phases):.0f} MiB"
    )
    print(f"expiry: {expiry.seconds:.1f} s for {args.students // 5} accounts expiring")
    if grid_figures:
        (in_flight, batch), best = max(grid_figures.items(), key=lambda i: -i[1]["seconds"])
        rate = args.grid_students / best["seconds"]
        print(
            f"import grid ({args.grid_students} a pair): best in flight {in_flight}, batch "
            f"{batch}: {rate:.0f}/s = {rate / naive_rate:.1f}x naive; the job's settings "
            f"above: {post_rate / naive_rate:.1f}x"
        )


if __name__ == "__main__":
    main()
