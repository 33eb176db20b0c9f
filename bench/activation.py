"""bench/activation: step 1 -> activation mail queued, through the bridge, against the same
Keycloak admin calls made directly, in the same run (the baseline); then a bounded load
test: N concurrent students through step 1 -> mail for a fixed duration, on loopback.

    .venv/bin/python bench/activation.py [--students 60] [--concurrency 16] [--duration 60]
                                         [--database postgres|h2]

Prints p50/p95 of both paths and their ratio (the bridge's overhead), then the load run's
throughput, p50/p95/p99 latency, error count and the mails the SMTP sink received.
Each student of the load run is a fresh account (a student gets few mails a day), created
beforehand by partial import. `make bench` runs it with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import BenchStack, bench_stack, percentile, summary
from bridge.domain.deadlines import PARIS, seconds_until_end_of_day


def create_students(admin: httpx.Client, count: int, tag: str) -> list[str]:
    names = []
    for n in range(count):
        username = f"b{tag}{n:05d}"
        response = admin.post(
            "/users",
            json={
                "username": username,
                "enabled": True,
                "firstName": "Bench",
                "lastName": f"N{n}",
                "email": f"{username}@example.org",
                "emailVerified": False,
                "groups": ["/students"],
                "attributes": {
                    "ine": ["0123456789M"],
                    "supannEtuId": [f"{tag}{n}"],
                    "institutionalEmail": [f"{username}@etu.example"],
                    "eduPersonAffiliation": ["student"],
                },
            },
        )
        response.raise_for_status()
        names.append(username)
    return names


def direct_path(admin: httpx.Client, username: str, portal: str) -> float:
    """What the bridge asks of Keycloak for step 1 -> mail, made directly."""
    import datetime as dt

    started = time.perf_counter()
    user = admin.get(
        "/users", params={"username": username, "exact": "true", "first": 0, "max": 2}
    ).json()[0]
    admin.get(f"/users/{user['id']}/credentials").raise_for_status()
    lifespan = seconds_until_end_of_day(dt.datetime.now(PARIS))
    admin.put(
        f"/users/{user['id']}/execute-actions-email",
        params={"lifespan": lifespan, "client_id": "portal", "redirect_uri": portal},
        json=["UPDATE_PASSWORD"],
    ).raise_for_status()
    # What the bridge then records for staff: the time of the last mail (its counters are
    # in Redis), an update with the attributes and the profile's own fields only.
    rep = admin.get(f"/users/{user['id']}").json()
    attributes = rep.get("attributes") or {}
    attributes["umLastMailAt"] = [dt.datetime.now(dt.UTC).isoformat()]
    profile = {k: rep[k] for k in ("username", "email", "firstName", "lastName") if k in rep}
    admin.put(f"/users/{user['id']}", json={**profile, "attributes": attributes}).raise_for_status()
    return time.perf_counter() - started


def bridge_path(client: httpx.Client, bridge_url: str, username: str) -> float:
    page = client.get(f"{bridge_url}/activation")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    started = time.perf_counter()
    answer = client.post(
        f"{bridge_url}/activation", data={"csrf_token": token.group(1), "identifier": username}
    )
    elapsed = time.perf_counter() - started
    if answer.status_code != 303 or answer.headers["location"] != "/activation/mail-sent":
        raise RuntimeError(f"{username}: {answer.status_code} {answer.text[:200]}")
    return elapsed


def import_students(stack: BenchStack, count: int, tag: str) -> list[str]:
    """Fresh students for the load run, 500 per partial import (minutes saved over POSTs),
    each with a new admin token (they live 60 s)."""
    names = [f"l{tag}{n:06d}" for n in range(count)]
    for first in range(0, count, 500):
        users = [
            {
                "username": name,
                "enabled": True,
                "firstName": "Charge",
                "lastName": f"N{n}",
                "email": f"{name}@example.org",
                "emailVerified": False,
                "groups": ["/students"],
                "attributes": {
                    "supannEtuId": [f"L{tag}{n}"],
                    "institutionalEmail": [f"{name}@etu.example"],
                    "eduPersonAffiliation": ["student"],
                },
            }
            for n, name in enumerate(names[first : first + 500], start=first)
        ]
        with stack.admin() as admin:
            response = admin.post(
                "/partialImport", json={"users": users, "ifResourceExists": "SKIP"}, timeout=600
            )
            response.raise_for_status()
    return names


@dataclass
class LoadRun:
    elapsed: float
    latencies: list[float]
    errors: dict[str, int]
    ran_out: bool


async def load(bridge_url: str, usernames: list[str], concurrency: int, duration: float) -> LoadRun:
    """`concurrency` students at once, each a new browser session: the step 1 page, then the
    identifier posted; the latency is the post's (the bridge finds the account, has
    Keycloak send the mail, records it). Stops taking new students after `duration`."""
    pending = iter(usernames)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    ran_out = False
    stop_at = time.perf_counter() + duration

    async def student() -> None:
        nonlocal ran_out
        async with httpx.AsyncClient(timeout=60) as client:
            while time.perf_counter() < stop_at:
                name = next(pending, None)
                if name is None:
                    ran_out = True
                    return
                client.cookies.clear()
                try:
                    page = await client.get(f"{bridge_url}/activation")
                    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                    started = time.perf_counter()
                    answer = await client.post(
                        f"{bridge_url}/activation",
                        data={"csrf_token": token.group(1) if token else "", "identifier": name},
                    )
                    elapsed = time.perf_counter() - started
                except httpx.HTTPError as error:
                    errors[type(error).__name__] += 1
                    continue
                if answer.status_code == 303 and answer.headers["location"].endswith("mail-sent"):
                    latencies.append(elapsed)
                else:
                    errors[f"HTTP {answer.status_code}"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(student() for _ in range(concurrency)))
    return LoadRun(time.perf_counter() - started, latencies, dict(errors), ran_out)


def wait_for_mail_count(mail_dir: Path, expected: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while True:
        count = len(list(mail_dir.glob("*.eml")))
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=60, help="sequential samples per path")
    parser.add_argument("--concurrency", type=int, default=16, help="students at once")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument(
        "--pool", type=int, default=0, help="accounts for the load run (default: enough)"
    )
    parser.add_argument("--database", choices=("postgres", "h2"), default="postgres")
    args = parser.parse_args()
    pool = args.pool or int(args.duration * 60)  # well above what this machine sustains

    print(f"starting a private Keycloak ({args.database}), SMTP sink and bridge ...", flush=True)
    with bench_stack(database=args.database) as stack:
        tag = uuid.uuid4().hex[:4]
        with stack.admin() as admin:
            direct_names = create_students(admin, args.students, tag + "d")
            bridge_names = create_students(admin, args.students, tag + "w")
        print(f"importing {pool} students for the load run ...", flush=True)
        load_names = import_students(stack, pool, tag)
        portal = f"{stack.bridge_url}/portal/login"
        # Warm both paths (JIT, connection pools) before measuring.
        with stack.admin() as admin:
            warm = create_students(admin, 10, tag + "x")
            for name in warm[:5]:
                direct_path(admin, name, portal)
        with httpx.Client(timeout=60) as client:
            for name in warm[5:]:
                client.cookies.clear()
                bridge_path(client, stack.bridge_url, name)

        direct: list[float] = []
        through: list[float] = []
        with stack.admin() as admin, httpx.Client(timeout=60) as client:
            # Interleaved, so that both paths see the same machine state.
            for d, w in zip(direct_names, bridge_names, strict=True):
                direct.append(direct_path(admin, d, portal))
                client.cookies.clear()
                through.append(bridge_path(client, stack.bridge_url, w))

        before = len(list(stack.mail_dir.glob("*.eml")))
        print(
            f"load: {args.concurrency} students at once for {args.duration:.0f} s ...", flush=True
        )
        cpu_before = stack.cpu()
        run = asyncio.run(load(stack.bridge_url, load_names, args.concurrency, args.duration))
        cpu = {name: used - cpu_before[name] for name, used in stack.cpu().items()}
        mails = wait_for_mail_count(stack.mail_dir, before + len(run.latencies)) - before
        database = stack.database

    ratio50 = percentile(through, 50) / percentile(direct, 50)
    ratio95 = percentile(through, 95) / percentile(direct, 95)
    lat = run.latencies
    print()
    print(f"Keycloak on {database}; step 1 -> activation mail queued")
    print("sequential, one student at a time (baseline: the same Keycloak calls made directly)")
    print(f"  Keycloak admin calls, direct : {summary(direct)}")
    print(f"  through the bridge           : {summary(through)}")
    print(f"  ratio bridge / direct        : p50 {ratio50:.2f}x   p95 {ratio95:.2f}x")
    print()
    print(f"load: {args.concurrency} concurrent students for {run.elapsed:.1f} s")
    print(f"  activations completed        : {len(lat)}")
    print(f"  throughput                   : {len(lat) / run.elapsed:.1f} activations/s")
    if lat:
        print(
            f"  latency                      : p50 {percentile(lat, 50) * 1000:.0f} ms   "
            f"p95 {percentile(lat, 95) * 1000:.0f} ms   p99 {percentile(lat, 99) * 1000:.0f} ms"
        )
        sequential = len(lat) / run.elapsed * percentile(through, 50)
        print(f"  throughput / sequential rate : {sequential:.2f}x (1 / p50 of the bridge alone)")
    print(f"  errors                       : {sum(run.errors.values())} {run.errors or ''}")
    shares = "   ".join(f"{name} {used / run.elapsed:.2f}" for name, used in cpu.items())
    print(f"  CPU cores used (of 2)        : {shares}")
    print(f"  mails received by the sink   : {mails}")
    if run.ran_out:
        print("  (the load ran out of students before the end: raise --pool)")


if __name__ == "__main__":
    main()
