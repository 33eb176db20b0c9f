"""bench/lifecycle: provisioning and expiry at university scale, in one run.

    .venv/bin/python bench/lifecycle.py [--students 100000] [--naive-sample 1000]
                                        [--database postgres|h2]
                                        [--batch-size 8 --concurrency 4]
                                        [--grid-students 20000]
                                        [--key-students 10000,100000]
                                        [--key-reference-max 10000]

Issue 19's pairs, each the product's path beside the one it replaced, in the same run.
Phases, each on a private Keycloak started by the script (database: a private PostgreSQL
cluster by default, as in production; `--database h2` for the dev-file H2), fresh for each
first import so that all start from the same empty realm:

1. the first import of N students from a generated SIS export as the job made it until
   issue 15: partial imports (125 users each, four in flight) with an administrator's
   token, since Keycloak grants them to `manage-realm` only (the reference:
   devstack.admin.PartialImportProvisioning, same run, same index);
2. on a fresh stack, the same first import by the job as it is, with the provisioning
   client (no realm right): one `POST /users` per student, `--batch-size` at once,
   `--concurrency` batches in flight; then a re-run with no change; a re-run with 5% of
   the names changed (both with the job's state file, as the nightly job runs), then
   another 5% (other rows: none the job's re-run just read) by the path before issue 19
   (read, write, read back: devstack.admin.ReadModifyWriteChanges); the naive one-call-at-
   a-time path on a sample (the baseline, with the cores it kept busy); the expiry job
   with 20% of the accounts expiring, then, once they are enabled again (not timed), the
   same expiry by the path before issue 19 (devstack.admin.PerAccountReadExpiry: read,
   write, read back, logout, read; four at a time). That reference meets the listing
   Keycloak has just served twice (warm): its ratio leans against the product.
3. activation keys (issue 19, point 4), for each size of `--key-students`, each on a fresh
   stack: the first import with `--activation-keys` as it was until issue 19 (the key sent
   in clear, hashed by Keycloak with the realm's Argon2: devstack.admin.KeycloakHashedKeys),
   then the job as it is (the key hashed by the job, PBKDF2: bridge.gateway.keycloak.
   mapping). The reference runs up to `--key-reference-max` students only (at 100,000 it
   takes about an hour on two cores); above, its time at the largest size it ran is scaled
   and printed as an estimate. `--key-students 0` leaves the phase out.
4. on a fresh stack, the import grid of issue 19 (bench/provision_concurrency.py
   `grid`): `--grid-students` new students for every pair of creations in flight (2, 4, 8,
   16) and batch size (50, 125, 250, 500), with the cores Keycloak and PostgreSQL used, then
   the shares of a creation's cost at the best pair (fine-grained permission, membership of
   `students`). `--grid-students 0` leaves it out.

Each job runs in its own process (the real CLI, or this script for the references); its
peak memory (max RSS) is read from the kernel, and the CPU seconds of the job, Keycloak
and PostgreSQL during each phase say where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
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
from bridge.gateway.keycloak import ProvisioningGateway
from devstack.admin import (
    DevAdmin,
    KeycloakHashedKeys,
    PartialImportProvisioning,
    PerAccountReadExpiry,
    ReadModifyWriteChanges,
)

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


def generate(path: Path, count: int, changes: dict[int, str] | None = None, seed: int = 7) -> None:
    """`changes`: a suffix to the last name of every row whose number leaves this remainder
    by 20 (5% of the rows a remainder)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(count):
            last = rng.choice(LAST) + rng.choice(["", "", "-" + rng.choice(LAST)])
            first = rng.choice(FIRST)
            last += (changes or {}).get(n % 20, "")
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


def reference_job(kind: str, argument: str) -> None:
    """One of issue 19's references (devstack.admin), in its own process as the job runs:
    `expire DATE`, `changes CSV,STATE`, `keys CSV,KEYS`; the provisioning client's
    credential from UM_KEYCLOAK_URL and UM_PROVISIONING_CLIENT_SECRET."""
    import datetime as dt

    from bridge.jobs.expire import expire
    from bridge.jobs.provision import provision
    from bridge.jobs.provision_state import ProvisionState

    def gateway(kind: type[ProvisioningGateway]) -> ProvisioningGateway:
        url, secret = os.environ["UM_KEYCLOAK_URL"], os.environ["UM_PROVISIONING_CLIENT_SECRET"]
        return kind.service_account(url, "um", "provisioning", secret, timeout=120)

    if kind == "expire":
        summary = asyncio.run(
            expire(
                gateway(PerAccountReadExpiry),
                dt.date.fromisoformat(argument),
                concurrency=PerAccountReadExpiry.concurrency,
            )
        )
        print(f"disabled {summary.disabled} (read, write, read back, logout, read; 4 at a time)")
        return
    csv, other = argument.split(",")
    today = dt.date(2026, 11, 21)
    if kind == "changes":
        changes = gateway(ReadModifyWriteChanges)
        state = ProvisionState(Path(other), changes.realm_url)
        result = asyncio.run(provision(changes, Path(csv), today=today, state=state))
        how = "read, write, read back"
    else:
        result = asyncio.run(
            provision(gateway(KeycloakHashedKeys), Path(csv), today=today, keys_out=Path(other))
        )
        how = "keys hashed by Keycloak"
    print(
        f"created {result.created}, updated {result.updated}, unchanged {result.unchanged}, "
        f"{result.mode} run ({how})"
    )


def line(label: str, phase: Phase, students: int) -> str:
    return (
        f"  {label:<34} {phase.seconds:8.1f} s   {students / phase.seconds:6.0f} rows/s   "
        f"peak {phase.peak_mib:4.0f} MiB   {phase.cpu}\n  {'':<34} | {phase.last_line}"
    )


async def reenable(gateway: ProvisioningGateway, last_day: dt.date, today: dt.date) -> int:
    """Put back the accounts an expiry disabled, as a re-enrollment would (not timed)."""
    accounts = await gateway.disabled_with_valid_until(last_day, brief=True)
    slots = asyncio.Semaphore(8)

    async def one(user_id: str) -> bool:
        async with slots:
            return await gateway.reenable_if_still_valid(user_id, today)

    return sum(await asyncio.gather(*(one(account.id) for account in accounts)))


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
    parser.add_argument(
        "--key-students", default="10000,100000", help="sizes of the activation-key phase; 0: none"
    )
    parser.add_argument(
        "--key-reference-max",
        type=int,
        default=10_000,
        help="run the keys' reference (Argon2 at import) up to this size only",
    )
    parser.add_argument("--partial-import-job", metavar="CSV", help=argparse.SUPPRESS)
    parser.add_argument("--reference-job", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.partial_import_job:
        partial_import_job(Path(args.partial_import_job))
        return
    if args.reference_job:
        reference_job(*args.reference_job)
        return
    key_sizes = [int(n) for n in args.key_students.split(",") if int(n)]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    first_csv, changed_csv = work / "sis.csv", work / "sis-5pct.csv"
    changed_again_csv = work / "sis-5pct-again.csv"
    state = work / "provision-state.sqlite3"
    for old in work.glob("provision-state.sqlite3*"):
        old.unlink()
    generate(first_csv, args.students)
    generate(changed_csv, args.students, {0: "-Nouveau"})
    # Another 5% of the rows for the reference: accounts the job's re-run did not just read
    # (Keycloak's caches would favour it), the first 5% kept as the job left them.
    generate(changed_again_csv, args.students, {0: "-Nouveau", 10: "-Autre"})
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
        reference_import = run_job([], env, stack, command)
        print(line("first import, partial (admin)", reference_import, args.students), flush=True)

    with bench_stack(database=args.database) as stack:
        env = provisioning_env(stack)
        job = ["--today", "2026-11-21", "--state", str(state)]
        phases: list[Phase] = []
        for label, csv, extra in (
            ("first import, POST /users (job)", first_csv, tuning),
            ("re-run, no change", first_csv, []),
            ("re-run, 5% changed (job)", changed_csv, []),
        ):
            phase = run_job(["provision", str(csv), *job, *extra], env, stack)
            phases.append(phase)
            print(line(label, phase, args.students), flush=True)
        changed_before = reference(stack, "changes", f"{changed_again_csv},{state}")
        print(line("re-run, 5% changed (before)", changed_before, args.students), flush=True)

        gateway = DevAdmin.service_account(
            stack.keycloak.url,
            "um",
            "provisioning",
            stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
            timeout=120,
        )
        before, job_before = stack.cpu(), os.times()
        naive_seconds = asyncio.run(naive(gateway, args.naive_sample))
        after, job_after = stack.cpu(), os.times()
        naive_cores = (after["Keycloak"] - before["Keycloak"]) / naive_seconds
        naive_all = naive_cores + (after["PostgreSQL"] - before["PostgreSQL"]) / naive_seconds
        naive_all += (sum(job_after[:2]) - sum(job_before[:2])) / naive_seconds
        naive_rate = args.naive_sample / naive_seconds
        print(
            f"  {'naive, one POST at a time':<34} {naive_seconds:8.1f} s   {naive_rate:6.0f} "
            f"rows/s   (sample of {args.naive_sample}, provisioning client; cores used: "
            f"Keycloak {naive_cores:.2f}, with PostgreSQL and the client {naive_all:.2f})",
            flush=True,
        )

        expiring = args.students // 5
        expiry = run_job(["expire", "--today", "2027-01-01"], env, stack)
        print(line("expiry, 20% expiring (job)", expiry, expiring), flush=True)
        jobs = ProvisioningGateway.service_account(
            stack.keycloak.url,
            "um",
            "provisioning",
            stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
            timeout=120,
        )
        back = asyncio.run(reenable(jobs, dt.date(2026, 12, 31), dt.date(2026, 11, 21)))
        print(f"  (enabled again, not timed: {back})", flush=True)
        expiry_before = reference(stack, "expire", "2027-01-01")
        print(line("expiry, 20% expiring (before)", expiry_before, expiring), flush=True)

    keys: dict[int, tuple[Phase | None, Phase]] = {}
    for count in key_sizes:
        csv = first_csv if count == args.students else work / f"sis-{count}.csv"
        if csv != first_csv:
            generate(csv, count)
        before_keys = None
        if count <= args.key_reference_max:
            with bench_stack(database=args.database) as stack:
                out = fresh(work / f"keys-kc-{count}.csv")
                before_keys = reference(stack, "keys", f"{csv},{out}")
            print(line(f"{count} keys, hashed by Keycloak", before_keys, count), flush=True)
        with bench_stack(database=args.database) as stack:
            out = fresh(work / f"keys-job-{count}.csv")
            command = ["provision", str(csv), "--today", "2026-11-21", "--activation-keys", out]
            job_keys = run_job(command, provisioning_env(stack), stack)
        print(line(f"{count} keys, hashed by the job", job_keys, count), flush=True)
        keys[count] = (before_keys, job_keys)

    grid_figures = {}
    if args.grid_students:
        with bench_stack(database=args.database) as stack:
            grid_figures = grid(stack, args.grid_students, (2, 4, 8, 16), (50, 125, 250, 500))

    partial_rate = args.students / reference_import.seconds
    post_rate = args.students / phases[0].seconds
    print()
    print(f"database: {stack.database}; first import of {args.students}:")
    print(
        f"  partial imports, administrator: {reference_import.seconds:.1f} s "
        f"({partial_rate:.0f}/s); POST /users, provisioning client: {phases[0].seconds:.1f} s "
        f"({post_rate:.0f}/s); partial / POST = {partial_rate / post_rate:.2f}x"
    )
    print(
        f"  naive (one POST at a time): {naive_rate:.0f}/s; POST / naive = "
        f"{post_rate / naive_rate:.1f}x, partial / naive = {partial_rate / naive_rate:.1f}x"
    )
    cores = os.cpu_count() or 1
    print(
        f"  the most concurrency can give over naive, here: the machine's cores / the cores "
        f"naive kept busy (Keycloak, PostgreSQL, the client) = {cores} / {naive_all:.2f} = "
        f"{cores / naive_all:.1f}x; with Keycloak alone on them: {cores} / {naive_cores:.2f} "
        f"= {cores / naive_cores:.1f}x"
    )
    print(
        f"no-change re-run: {phases[1].seconds:.1f} s; 5% changed: {phases[2].seconds:.1f} s "
        f"(before: {changed_before.seconds:.1f} s, "
        f"{changed_before.seconds / phases[2].seconds:.2f}x); peak memory of a run: "
        f"{max(p.peak_mib for p in phases):.0f} MiB"
    )
    print(
        f"expiry of {expiring} of {args.students}: {expiry.seconds:.1f} s (before: "
        f"{expiry_before.seconds:.1f} s, {expiry_before.seconds / expiry.seconds:.2f}x)"
    )
    measured = {n: pair[0] for n, pair in keys.items() if pair[0] is not None}
    for count, (before_keys, job_keys) in keys.items():
        if before_keys is not None:
            by_keycloak = f"by Keycloak {before_keys.seconds:.1f} s "
            by_keycloak += f"({before_keys.seconds / job_keys.seconds:.2f}x)"
        elif measured:
            # Not run: hours of Argon2. Its rate where it ran, said to be an estimate.
            size, slowest = max(measured.items())
            estimate = count * slowest.seconds / size
            by_keycloak = f"by Keycloak not run (at the {size} run's rate: ~{estimate:.0f} s"
            by_keycloak += f", ~{estimate / job_keys.seconds:.1f}x)"
        else:
            by_keycloak = "by Keycloak not run"
        print(
            f"first import of {count} with activation keys: hashed by the job "
            f"{job_keys.seconds:.1f} s ({count / job_keys.seconds:.0f}/s), {by_keycloak}"
        )
    if grid_figures:
        (in_flight, batch), best = max(grid_figures.items(), key=lambda i: -i[1]["seconds"])
        rate = args.grid_students / best["seconds"]
        print(
            f"import grid ({args.grid_students} a pair): best in flight {in_flight}, batch "
            f"{batch}: {rate:.0f}/s = {rate / naive_rate:.1f}x naive; the job's settings "
            f"above: {post_rate / naive_rate:.1f}x"
        )


def provisioning_env(stack: BenchStack) -> dict[str, str]:
    return {
        **os.environ,
        "UM_KEYCLOAK_URL": stack.keycloak.url,
        "UM_PROVISIONING_CLIENT_SECRET": stack.secrets["UM_PROVISIONING_CLIENT_SECRET"],
    }


def reference(stack: BenchStack, kind: str, argument: str) -> Phase:
    command = [sys.executable, __file__, "--reference-job", kind, argument]
    return run_job([], provisioning_env(stack), stack, command)


def fresh(path: Path) -> str:
    """A keys' file is written once: a new name each run."""
    path.unlink(missing_ok=True)
    return str(path)


if __name__ == "__main__":
    main()
