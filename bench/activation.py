"""bench/activation: step 1 -> activation mail queued, through the bridge, against the same
Keycloak admin calls made directly, in the same run; then N concurrent students.

    .venv/bin/python bench/activation.py [--students 60] [--concurrency 8] [--load 240]

Prints p50/p95 of both paths, their ratio (the bridge's overhead), and the throughput of
the bridge with N concurrent students, with the error count.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import bench_stack, percentile, summary
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
    rep = admin.get(f"/users/{user['id']}").json()
    rep.setdefault("attributes", {})["umMailsSent"] = [f"{dt.date.today()}:1"]
    admin.put(f"/users/{user['id']}", json=rep).raise_for_status()
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


async def load(
    bridge_url: str, usernames: list[str], concurrency: int
) -> tuple[float, list[float], int]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for name in usernames:
        queue.put_nowait(name)
    latencies: list[float] = []
    errors = 0

    async def student() -> None:
        nonlocal errors
        async with httpx.AsyncClient(timeout=60) as client:
            while not queue.empty():
                name = queue.get_nowait()
                client.cookies.clear()
                try:
                    page = await client.get(f"{bridge_url}/activation")
                    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
                    started = time.perf_counter()
                    answer = await client.post(
                        f"{bridge_url}/activation",
                        data={"csrf_token": token.group(1) if token else "", "identifier": name},
                    )
                    latencies.append(time.perf_counter() - started)
                    if answer.status_code != 303:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(student() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=60, help="sequential samples per path")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--load", type=int, default=240, help="students in the concurrent run")
    args = parser.parse_args()

    print("starting a private Keycloak, SMTP sink and bridge ...", flush=True)
    with bench_stack() as stack:
        tag = uuid.uuid4().hex[:4]
        with stack.admin() as admin:
            direct_names = create_students(admin, args.students, tag + "d")
            bridge_names = create_students(admin, args.students, tag + "w")
            load_names = create_students(admin, args.load, tag + "l")
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

        elapsed, latencies, errors = asyncio.run(
            load(stack.bridge_url, load_names, args.concurrency)
        )
        mails = len(list(stack.mail_dir.glob("*.eml")))

    ratio50 = percentile(through, 50) / percentile(direct, 50)
    ratio95 = percentile(through, 95) / percentile(direct, 95)
    print()
    print("step 1 -> activation mail queued (sequential, one student at a time)")
    print(f"  Keycloak admin calls, direct : {summary(direct)}")
    print(f"  through the bridge           : {summary(through)}")
    print(f"  ratio bridge / direct        : p50 {ratio50:.2f}x   p95 {ratio95:.2f}x")
    print()
    print(f"{args.concurrency} concurrent students, {args.load} activations")
    print(
        f"  throughput                   : {len(latencies) / elapsed:.1f} requests/s "
        f"({elapsed:.1f} s)"
    )
    print(f"  latency                      : {summary(latencies)}")
    print(f"  errors                       : {errors}")
    print(f"  mails received by the sink   : {mails}")


if __name__ == "__main__":
    main()
