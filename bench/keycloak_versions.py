"""bench/keycloak_versions: two Keycloak versions side by side, in one run (docs/keycloak.md,
"Version: 26.5.6 or 26.7.3, measured").

One private stack per version, both up for the whole run (Keycloak `start-dev` on its own
PostgreSQL with the theme cache on, the realm's permissions set up as `make dev` does,
SMTP sink, Redis, the bridge of this tree in its own process), the same students imported
in each, then, the versions always interleaved:

a. the admin calls of activation step 1 -> mail, with the bridge's own scoped service
   account (client credentials): its token, the search by username, the read of the user,
   of its credentials, `execute-actions-email`; one student at a time, each student's
   calls on one version then on the other, the order swapped every student; p50/p95 per
   call and version, and per round (the noise);
b. step 1 -> mail through each version's bridge: one student at a time (alternating), then
   `--concurrency` students at once in `--slices` slices per version, A B B A A B B A (the
   same drift of the shared machine for both): throughput, latency p50/p95, CPU per
   activation, and each slice's throughput (the noise);
c. the ratio of each figure, the other version over the first (the baseline).

The CPU seconds of each version's Keycloak and PostgreSQL over each phase, per unit of work,
are printed too: on a machine that others load, they move less than the latencies do.

    .venv/bin/python bench/keycloak_versions.py [--versions 26.5.6,26.7.3] [--students 40]
        [--rounds 3] [--sequential 40] [--concurrency 8] [--duration 60] [--slices 4]
        [--rate 20] [--database postgres|h2]

About 7 minutes at the defaults (each Keycloak's start included). Figures are printed,
never asserted. The machine's conditions (cores, load average, the Java processes of
others) are printed at the start, in the middle of the load and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.activation import LoadRun, Pool, bridge_path, cpu_now, import_students, load
from bench.harness import REPO, BenchStack, bench_stack, percentile
from devstack.keycloak import KEYCLOAK_VERSION, KNOWN_VERSIONS, find_java_home

NEWEST = "26.7.3"
WARM = 10  # students through each bridge before (b) is measured
CALLS = (
    "POST token (client credentials)",
    "GET users?username=…&exact=true",
    "GET users/{id}",
    "GET users/{id}/credentials",
    "PUT users/{id}/execute-actions-email",
)
# The same search with the realm administrator's token (not scoped by fine-grained
# permissions): tells a cost of the permissions from a cost of the search itself.
CONTROL = "the search, administrator's token"
ADMIN_TOKENS: dict[str, tuple[float, str]] = {}  # Keycloak URL -> (fetched at, token)


def admin_token(stack: BenchStack) -> str:
    """The master realm administrator's token, renewed when 45 s old (it lives 60 s)."""
    fetched, token = ADMIN_TOKENS.get(stack.keycloak.url, (0.0, ""))
    if time.monotonic() - fetched > 45:
        token = stack.keycloak.admin_token()
        ADMIN_TOKENS[stack.keycloak.url] = (time.monotonic(), token)
    return token


def conditions() -> str:
    """Cores, load average, and the Java processes that are not this checkout's."""
    load1, load5, load15 = os.getloadavg()
    try:
        java = subprocess.run(
            ["pgrep", "-fa", "java"],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        ).stdout.splitlines()
    except OSError:
        java = []
    others = [line for line in java if str(REPO) not in line]
    return (
        f"{os.cpu_count()} cores, load average {load1:.2f} / {load5:.2f} / {load15:.2f}, "
        f"{len(others)} other Java process(es) on the machine"
    )


# --- a. the admin calls, with the bridge's service account -------------------------------


def admin_calls(stack: BenchStack, client: httpx.Client, username: str) -> dict[str, float]:
    """Step 1's admin calls as the bridge makes them (bridge/gateway/keycloak/base.py:
    find_student, send_action_mail), with a token of its own client; plus the read by id
    the other steps make (get_account, _update), and the search again with the
    administrator's token (CONTROL). Each call's time."""
    url = stack.keycloak.url
    admin = f"{url}/admin/realms/um"
    times: dict[str, float] = {}

    def timed(name: str, call: Callable[[], httpx.Response]) -> httpx.Response:
        started = time.perf_counter()
        response = call()
        times[name] = time.perf_counter() - started
        response.raise_for_status()
        return response

    token = timed(
        CALLS[0],
        lambda: client.post(
            f"{url}/realms/um/protocol/openid-connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "bridge",
                "client_secret": stack.secrets["UM_BRIDGE_CLIENT_SECRET"],
            },
        ),
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    query: dict[str, str | int] = {"username": username, "exact": "true", "first": 0, "max": 2}
    found = timed(CALLS[1], lambda: client.get(f"{admin}/users", params=query, headers=headers))
    user_id = found.json()[0]["id"]
    timed(CALLS[2], lambda: client.get(f"{admin}/users/{user_id}", headers=headers))
    timed(CALLS[3], lambda: client.get(f"{admin}/users/{user_id}/credentials", headers=headers))
    admin_headers = {"Authorization": f"Bearer {admin_token(stack)}"}
    timed(CONTROL, lambda: client.get(f"{admin}/users", params=query, headers=admin_headers))
    timed(
        CALLS[4],
        lambda: client.put(
            f"{admin}/users/{user_id}/execute-actions-email",
            params={
                "lifespan": 3600,
                "client_id": "portal",
                "redirect_uri": f"{stack.bridge_url}/portal/login",
            },
            json=["UPDATE_PASSWORD"],
            headers=headers,
        ),
    )
    return times


@dataclass
class CallTimes:
    """Per version: each call's times, over the whole run and per round."""

    runs: dict[str, list[float]] = field(default_factory=dict)
    rounds: list[dict[str, list[float]]] = field(default_factory=list)
    # CPU seconds of the version's servers over the counted rounds (Keycloak, PostgreSQL).
    cpu: dict[str, float] = field(default_factory=dict)

    def add(self, times: dict[str, float]) -> None:
        for name, seconds in times.items():
            self.runs.setdefault(name, []).append(seconds)
            self.rounds[-1].setdefault(name, []).append(seconds)

    def per_group(self) -> list[float]:
        """The sum of the calls of each student (step 1's Keycloak time, plus the read)."""
        return [sum(parts) for parts in zip(*(self.runs[name] for name in CALLS), strict=True)]


def interleaved_calls(
    stacks: dict[str, BenchStack], names: list[str], rounds: int
) -> dict[str, CallTimes]:
    versions = list(stacks)
    results = {version: CallTimes() for version in versions}
    clients = {version: httpx.Client(timeout=60) for version in versions}
    try:
        # Warm-up (JIT, connections, caches): a round, not counted.
        for name in names:
            for version in versions:
                admin_calls(stacks[version], clients[version], name)
        before = server_cpu(stacks)
        for round_number in range(rounds):
            for result in results.values():
                result.rounds.append({})
            for n, name in enumerate(names):
                order = versions if (n + round_number) % 2 == 0 else versions[::-1]
                for version in order:
                    results[version].add(admin_calls(stacks[version], clients[version], name))
        for version, used in cpu_since(stacks, before).items():
            results[version].cpu = used
    finally:
        for client in clients.values():
            client.close()
    return results


# --- b. step 1 -> mail through each version's bridge ---------------------------------------


def server_cpu(stacks: dict[str, BenchStack]) -> dict[str, dict[str, float]]:
    """CPU seconds so far of each version's Keycloak and PostgreSQL."""
    return {
        version: {part: used for part, used in stack.cpu().items() if part != "bridge"}
        for version, stack in stacks.items()
    }


def cpu_since(
    stacks: dict[str, BenchStack], before: dict[str, dict[str, float]]
) -> dict[str, dict[str, float]]:
    now = server_cpu(stacks)
    return {
        version: {part: used - before[version][part] for part, used in now[version].items()}
        for version in stacks
    }


def sequential_bridge(stacks: dict[str, BenchStack], names: list[str]) -> dict[str, list[float]]:
    versions = list(stacks)
    latencies: dict[str, list[float]] = {version: [] for version in versions}
    with httpx.Client(timeout=60) as client:
        for n, name in enumerate(names):
            order = versions if n % 2 == 0 else versions[::-1]
            for version in order:
                client.cookies.clear()
                latencies[version].append(bridge_path(client, stacks[version].bridge_url, name))
    return latencies


def load_slice(
    stack: BenchStack, pool: Pool, concurrency: int, seconds: float, run: LoadRun
) -> None:
    bridge_pid = stack.bridge_pid or 0
    before = cpu_now(stack, bridge_pid)
    asyncio.run(load(stack.bridge_url, pool, concurrency, seconds, run))
    for part, used in cpu_now(stack, bridge_pid).items():
        run.cpu[part] = run.cpu.get(part, 0.0) + used - before[part]


# --- report --------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}"


def ratio(other: float, base: float) -> str:
    return f"{other / base:5.2f}x" if base else "  n/a"


def report_calls(results: dict[str, CallTimes], base: str, other: str) -> None:
    print(f"  {'call':<40} {'version':<8} {'p50 ms':>8} {'p95 ms':>8}   per round p50 (noise)")
    rows = [*CALLS, "all five, per student", CONTROL]
    for name in rows:
        for version in (base, other):
            result = results[version]
            if name in result.runs:
                values = result.runs[name]
                rounds = [r[name] for r in result.rounds]
            else:
                values = result.per_group()
                groups = []
                for r in result.rounds:
                    groups.append(
                        [sum(parts) for parts in zip(*(r[c] for c in CALLS), strict=True)]
                    )
                rounds = groups
            per_round = " ".join(ms(percentile(r, 50)).strip() for r in rounds)
            print(
                f"  {name:<40} {version:<8} {ms(percentile(values, 50))}  "
                f"{ms(percentile(values, 95))}   {per_round}"
            )
        b = results[base].runs.get(name) or results[base].per_group()
        o = results[other].runs.get(name) or results[other].per_group()
        print(
            f"  {'':<40} {'ratio':<8} {ratio(percentile(o, 50), percentile(b, 50)):>8} "
            f"{ratio(percentile(o, 95), percentile(b, 95)):>8}"
        )


def report_cpu(
    cpu: dict[str, dict[str, float]], count: int, base: str, other: str, unit: str
) -> None:
    """CPU ms of each version's Keycloak and PostgreSQL per `unit` (`count` each)."""
    each = {
        version: {part: used / max(count, 1) * 1000 for part, used in parts.items()}
        for version, parts in cpu.items()
    }
    for version in (base, other):
        line = "   ".join(f"{part} {value:6.1f}" for part, value in each[version].items())
        print(f"  CPU ms per {unit}, {version:<8} {line}")
    line = "   ".join(
        f"{part} {ratio(each[other][part], value)}" for part, value in each[base].items()
    )
    print(f"  CPU ms per {unit}, ratio    {line}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--versions",
        default=f"{KEYCLOAK_VERSION},{NEWEST}",
        help="two of devstack.keycloak.KNOWN_VERSIONS: the baseline, then the other",
    )
    parser.add_argument("--students", type=int, default=40, help="students per round of (a)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (a)")
    parser.add_argument("--sequential", type=int, default=40, help="activations per version, (b)")
    parser.add_argument("--concurrency", type=int, default=8, help="students at once, (b)")
    parser.add_argument(
        "--duration", type=float, default=60, help="seconds of load per version, all slices"
    )
    parser.add_argument(
        "--slices", type=int, default=4, help="load slices per version (even: A B B A A B B A)"
    )
    parser.add_argument(
        "--rate", type=float, default=20, help="activations/s the load's students are imported for"
    )
    parser.add_argument("--database", choices=("postgres", "h2"), default="postgres")
    args = parser.parse_args()
    versions = args.versions.split(",")
    if len(versions) != 2 or any(v not in KNOWN_VERSIONS for v in versions):
        parser.error(f"--versions: two of {', '.join(KNOWN_VERSIONS)}")
    base, other = versions
    if args.slices < 2 or args.slices % 2:
        parser.error("--slices: an even number, 2 or more")
    slice_seconds = args.duration / args.slices

    started_run = time.monotonic()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    _, jdk = find_java_home()
    print(f"{when}; JDK {jdk}; {conditions()}", flush=True)
    with contextlib.ExitStack() as resources:
        stacks: dict[str, BenchStack] = {}
        for version in versions:
            print(f"starting Keycloak {version} ({args.database}), its bridge ...", flush=True)
            up = time.monotonic()
            stacks[version] = resources.enter_context(
                bench_stack(
                    database=args.database,
                    theme_cache=True,
                    name=f"bench-kcver-{version}",
                    version=version,
                )
            )
            print(f"  ready in {time.monotonic() - up:.0f} s", flush=True)

        tag = uuid.uuid4().hex[:4]
        calls_names = [f"a{tag}{n:05d}" for n in range(args.students)]
        sequential_names = [f"s{tag}{n:05d}" for n in range(args.sequential + WARM)]
        print("importing the same students into each ...", flush=True)
        pools: dict[str, Pool] = {}
        for version, stack in stacks.items():
            import_students(stack, calls_names + sequential_names, tag)
            pools[version] = Pool(stack, tag, int(slice_seconds * args.rate))

        print(
            f"a. admin calls, bridge's service account: {args.rounds} rounds x "
            f"{args.students} students, interleaved ...",
            flush=True,
        )
        calls = interleaved_calls(stacks, calls_names, args.rounds)

        print(f"b. through the bridge, one at a time: {args.sequential} each ...", flush=True)
        warm, measured = sequential_names[:WARM], sequential_names[WARM:]
        sequential_bridge(stacks, warm)
        before = server_cpu(stacks)
        sequential = sequential_bridge(stacks, measured)
        sequential_cpu = cpu_since(stacks, before)

        slices = [base, other, other, base] * (args.slices // 2)
        print(
            f"b. load: {args.concurrency} at once, {slice_seconds:.0f} s slices "
            f"{' / '.join(slices)} ...",
            flush=True,
        )
        runs = {version: LoadRun() for version in versions}
        mid_conditions = ""
        per_slice: list[tuple[str, float]] = []
        for n, version in enumerate(slices):
            pools[version].fill(int(slice_seconds * args.rate))
            run = runs[version]
            count, elapsed = len(run.latencies), run.elapsed
            load_slice(stacks[version], pools[version], args.concurrency, slice_seconds, run)
            per_slice.append((version, (len(run.latencies) - count) / (run.elapsed - elapsed)))
            if n == len(slices) // 2 - 1:
                mid_conditions = conditions()
        for pool in pools.values():
            pool.join()
        database = stacks[base].database

    total = time.monotonic() - started_run
    print()
    print(f"Keycloak {base} (baseline) and {other}, start-dev on {database}, theme cache on")
    print(f"conditions mid-load: {mid_conditions}; at the end: {conditions()}")
    print()
    print("a. admin calls of step 1 (and the read by id), bridge's scoped service account,")
    print(
        f"   {args.rounds} rounds x {args.students} students, each student on both versions in turn"
    )
    report_calls(calls, base, other)
    report_cpu(
        {version: result.cpu for version, result in calls.items()},
        args.rounds * args.students,
        base,
        other,
        "student (six calls)",
    )
    print()
    print(f"b. step 1 -> mail through each version's bridge, one at a time (n={args.sequential})")
    for version in versions:
        values = sequential[version]
        print(
            f"  {version:<8} p50 {ms(percentile(values, 50))} ms   "
            f"p95 {ms(percentile(values, 95))} ms"
        )
    b, o = sequential[base], sequential[other]
    print(
        f"  ratio    p50 {ratio(percentile(o, 50), percentile(b, 50))}       "
        f"p95 {ratio(percentile(o, 95), percentile(b, 95))}"
    )
    report_cpu(sequential_cpu, args.sequential, base, other, "activation")
    print()
    print(f"b. load: {args.concurrency} students at once, slices {' / '.join(slices)}")
    rates: dict[str, float] = {}
    p50s: dict[str, float] = {}
    p95s: dict[str, float] = {}
    for version in versions:
        run = runs[version]
        lat = run.latencies
        rates[version] = len(lat) / run.elapsed if run.elapsed else 0.0
        p50s[version] = percentile(lat, 50) if lat else 0.0
        p95s[version] = percentile(lat, 95) if lat else 0.0
        cores = "  ".join(f"{part} {used / run.elapsed:.2f}" for part, used in run.cpu.items())
        each = "  ".join(
            f"{part} {used / max(len(lat), 1) * 1000:.1f}"
            for part, used in run.cpu.items()
            if part in ("bridge", "Keycloak", "PostgreSQL")
        )
        print(
            f"  {version:<8} {len(lat):5d} activations in {run.elapsed:5.1f} s = "
            f"{rates[version]:5.1f}/s   latency p50 {p50s[version] * 1000:.0f} / "
            f"p95 {p95s[version] * 1000:.0f} ms   errors {sum(run.errors.values())} "
            f"{dict(run.errors) or ''}"
        )
        print(f"           CPU cores used (of 2): {cores}")
        print(f"           CPU ms per activation: {each}")
        if run.ran_out:
            print(f"           students ran out {run.ran_out} times (raise --rate)")
    print("  per slice: " + ", ".join(f"{v} {rate:.1f}/s" for v, rate in per_slice))
    print(
        f"  ratio    throughput {ratio(rates[other], rates[base])}   "
        f"p50 {ratio(p50s[other], p50s[base])}   p95 {ratio(p95s[other], p95s[base])}"
    )
    print(f"\n(whole run: {total:.0f} s)")


if __name__ == "__main__":
    main()
