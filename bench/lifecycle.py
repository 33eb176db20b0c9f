"""bench/lifecycle: provisioning and expiry at university scale, in one run.

    .venv/bin/python bench/lifecycle.py [--students 100000] [--naive-sample 1000]
                                        [--database postgres|h2]

Phases, on a private Keycloak started by the script (database: a private PostgreSQL
cluster by default, as in production; `--database h2` for the dev-file H2): the first
import of N students from a generated SIS export, a re-run with no change, a re-run with 5%
of the names changed (both with the job's state file, as the nightly job runs), the naive
one-call-per-student path on a sample (the baseline), and the expiry job with 20% of the
accounts expiring. Each job runs as the real CLI in its own process; its peak memory (max
RSS) is read from the kernel, and the CPU seconds of the job, Keycloak and PostgreSQL
during each phase say where the time goes.
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
from bridge.domain.ine import BEA_KEYS
from devstack.admin import DevAdmin

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


def run_job(args: list[str], env: dict[str, str], stack: BenchStack) -> Phase:
    """Runs `bridge <args>` and measures it and the servers while it runs."""
    servers_before = _server_cpu(stack)
    started = time.perf_counter()
    # Into a file, not a pipe: nobody reads a pipe during wait4, and a job that prints a
    # line per account (expire) would block once the pipe's 64 KiB are full.
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "bridge", *args], env=env, stdout=out, text=True
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        out.seek(0)
        output = out.read()
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise RuntimeError(f"bridge {' '.join(args)} failed: {output[-500:]}")
    keycloak, postgres = (a - b for a, b in zip(_server_cpu(stack), servers_before, strict=True))
    cpu = f"CPU: job {usage.ru_utime + usage.ru_stime:.0f} s, Keycloak {keycloak:.0f} s"
    if stack.postgres_pid:
        cpu += f", PostgreSQL {postgres:.0f} s"
    return Phase(elapsed, usage.ru_maxrss / 1024, output.strip().splitlines()[-1], cpu)


def _server_cpu(stack: BenchStack) -> tuple[float, float]:
    process = stack.keycloak.process
    return cpu_seconds(process.pid if process else None), cpu_seconds(stack.postgres_pid)


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
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    first_csv, changed_csv = work / "sis.csv", work / "sis-5pct.csv"
    state = work / "provision-state.sqlite3"
    for old in work.glob("provision-state.sqlite3*"):
        old.unlink()
    generate(first_csv, args.students)
    generate(changed_csv, args.students, changed_every=20)
    size = first_csv.stat().st_size / 2**20
    print(
        f"generated {args.students} students ({size:.1f} MiB); starting a private stack "
        f"({args.database})",
        flush=True,
    )

    with bench_stack(database=args.database) as stack:
        env = {
            **os.environ,
            "UM_KEYCLOAK_URL": stack.keycloak.url,
            "UM_PROVISIONING_CLIENT_SECRET": stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
        }
        job = ["--today", "2026-11-21", "--state", str(state)]
        phases: list[Phase] = []
        for label, csv in (
            ("first import", first_csv),
            ("re-run, no change", first_csv),
            ("re-run, 5% changed", changed_csv),
        ):
            phase = run_job(["provision", str(csv), *job], env, stack)
            phases.append(phase)
            print(
                f"  {label:<22} {phase.seconds:8.1f} s   {args.students / phase.seconds:8.0f} "
                f"rows/s   peak {phase.peak_mib:6.0f} MiB   {phase.cpu}\n"
                f"  {'':<22} | {phase.last_line}",
                flush=True,
            )

        gateway = DevAdmin.service_account(
            stack.keycloak.url,
            "um",
            "provisioning",
            stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
            timeout=120,
        )
        naive_seconds = asyncio.run(naive(gateway, args.naive_sample))
        naive_rate = args.naive_sample / naive_seconds
        bulk_rate = args.students / phases[0].seconds
        print(
            f"  naive, one call each   {naive_seconds:8.1f} s   {naive_rate:8.0f} rows/s   "
            f"(sample of {args.naive_sample})",
            flush=True,
        )

        expiry = run_job(["expire", "--today", "2027-01-01"], env, stack)
        print(
            f"  expiry, 20% expiring   {expiry.seconds:8.1f} s   peak {expiry.peak_mib:6.0f} MiB"
            f"   {expiry.cpu}\n  {'':<22} | {expiry.last_line}",
            flush=True,
        )

    print()
    print(
        f"database: {stack.database}; first import of {args.students}: "
        f"{phases[0].seconds:.1f} s ({bulk_rate:.0f}/s) = {bulk_rate / naive_rate:.1f}x the "
        f"naive path ({naive_rate:.0f}/s)"
    )
    print(
        f"no-change re-run: {phases[1].seconds:.1f} s; 5% changed: {phases[2].seconds:.1f} s; "
        f"peak memory of a run: {max(p.peak_mib for p in phases):.0f} MiB"
    )
    print(f"expiry: {expiry.seconds:.1f} s for {args.students // 5} accounts expiring")


if __name__ == "__main__":
    main()
