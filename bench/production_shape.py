"""bench/production_shape: the production deployment (devstack.shape: nginx with TLS, the
bridge replicas from the wheel, a Keycloak cluster on PostgreSQL, Redis, the SMTP sink)
under load from this machine, in one run:

1. activation step 1 -> mail, through nginx's public host (HTTPS): 2 bridge replicas and
   2 Keycloak nodes ("2+2", docker-compose.yml's shape) against 1 replica and 1 node
   ("1+1"). Both deployments are up at once, and the load goes to one at a time, in
   slices 2+2 / 1+1 / 1+1 / 2+2 / ... so that both see the same drift of a shared machine;
   the idle one's CPU is measured too (it is small: it is not given the other's half of
   the machine, which running both under load at once would do on 2 cores). Every
   activation is a fresh student (partial import beforehand, group /students, a rescue
   email, no password), so the per-account limits stay as deployed.
2. Keycloak's password login through nginx's public Keycloak host, the university's theme
   (`um-activation`) against the stock `keycloak.v2`, on the 2+2 deployment (the 1+1 one
   is stopped first): the `portal` client's code + PKCE authorization URL, the login form
   posted, the 302 to the redirect URI counted; the realm's loginTheme switched through
   the admin API between slices themed / stock / stock / themed / ..., restored at the end.

    .venv/bin/python bench/production_shape.py [--duration 60] [--login-duration 60]
        [--slices 4] [--concurrency 16] [--warmup 20] [--login-warmup 10] [--rate 40]
        [--login-students 64] [--mail-budget 100000000] [--keep] [--skip-logins]

Figures are printed, never asserted. The load runs in a child process (its own CPU is
reported as "load"), not in this one, which holds both deployments' SMTP sinks.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import html
import itertools
import json
import multiprocessing
import os
import re
import secrets
import shutil
import ssl
import sys
import time
from collections import Counter, deque
from collections.abc import Generator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.activation import CSRF, student
from bench.harness import REPO, cpu_seconds, percentile
from devstack.package import InstalledBridge
from devstack.shape import ProductionShape

THEMED, STOCK = "um-activation", "keycloak.v2"
# A password the realm's policy accepts (10+ characters, two that are not letters).
PASSWORD = "Bench-login-2026!"  # noqa: S105 - the bench's test students'
FORM_ACTION = re.compile(r'<form id="kc-form-login"[^>]*\baction="([^"]+)"', re.S)
# nginx's client_max_body_size on the internal route is 64k: a partial import stays under.
IMPORT_BYTES = 56_000
ASSET = re.compile(r'(?:href|src)="([^"]+\.(?:css|js))(?:\?[^"]*)?"')


def settings(mail_budget: int) -> dict[str, str]:
    """The .env knobs this load needs, and only those: every client is 127.0.0.1, one
    network, so its ceiling and the proof of work would stop the load after 300 (or 10)
    posts; the realm's mail budget (600 a minute) is a cap for the whole university, and
    capacity is measured, not the cap (--mail-budget 600 keeps it). The per-account limits
    stay: each activation is a fresh student."""
    return {
        "UM_ADDRESS_LIMIT": "100000000/60",
        "UM_CHALLENGE_AFTER": "100000000",
        "UM_MAILS_PER_MINUTE": str(mail_budget),
    }


# --- the deployments -------------------------------------------------------------------


class AdminAuth(httpx.Auth):
    """The bootstrap administrator's token (master realm, on nginx's internal route), as
    tests/production/conftest.py gets it; fetched again before it expires (60 s) or when
    refused."""

    def __init__(self, shape: ProductionShape) -> None:
        self.shape = shape
        self.token = ""
        self.expires = 0.0

    def fetch(self) -> None:
        self.token = self.shape.admin_token()
        self.expires = time.monotonic() + 45

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if time.monotonic() > self.expires:
            self.fetch()
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401:
            self.fetch()
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request


@dataclass
class Deployment:
    name: str
    shape: ProductionShape
    tag: str
    # Imported students no activation has used yet.
    unused: deque[str] = field(default_factory=deque)
    imported: int = 0
    import_seconds: float = 0.0
    # Activations that got their 303 (warm-up included): the mails the sink should hold.
    sent: int = 0
    stopped: bool = False

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.shape.internal_url}/admin/realms/um",
            auth=AdminAuth(self.shape),
            timeout=600,
        )

    def import_users(self, users: list[dict[str, Any]]) -> None:
        """Partial imports (minutes saved over one POST each) of at most IMPORT_BYTES each:
        the internal route takes bodies up to 64 KB (deploy/nginx/keycloak-proxy.conf)."""
        started = time.monotonic()
        batches: list[list[dict[str, Any]]] = [[]]
        size = 0
        for user in users:
            length = len(json.dumps(user)) + 2
            if batches[-1] and size + length > IMPORT_BYTES:
                batches.append([])
                size = 0
            batches[-1].append(user)
            size += length
        with self.admin() as admin:
            for batch in batches:
                answer = admin.post(
                    "/partialImport", json={"users": batch, "ifResourceExists": "SKIP"}
                )
                answer.raise_for_status()
        self.import_seconds += time.monotonic() - started

    def fill(self, count: int) -> int:
        """At least `count` unused students; how many were imported for it."""
        missing = count - len(self.unused)
        if missing <= 0:
            return 0
        names = [f"s{self.tag}{n:06d}" for n in range(self.imported, self.imported + missing)]
        users = [
            student(name, n, f"P{self.tag}", ine=False)
            for n, name in enumerate(names, start=self.imported)
        ]
        self.import_users(users)
        self.imported += missing
        self.unused.extend(names)
        return missing

    def take(self, count: int) -> list[str]:
        return [self.unused.popleft() for _ in range(min(count, len(self.unused)))]

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each part (process groups, bench/harness.py); each
        Keycloak node and bridge replica on its own ("Keycloak#1", ...: see totals())."""
        shape = self.shape
        cluster = shape.cluster

        def pid(process: Any) -> int | None:
            return process.pid if process is not None else None

        found: dict[str, float] = {}
        for i, node in enumerate(cluster.nodes if cluster else [], start=1):
            found[f"Keycloak#{i}"] = cpu_seconds(pid(node.process))
        for i, process in shape.bridges.items():
            found[f"bridge#{i + 1}"] = cpu_seconds(pid(process))
        found["nginx"] = cpu_seconds(pid(shape.nginx))
        found["PostgreSQL"] = cpu_seconds(pid(cluster.postgres.process)) if cluster else 0.0
        found["Redis"] = cpu_seconds(pid(shape.redis.process)) if shape.redis else 0.0
        return found

    def threads(self) -> dict[str, float]:
        """Keycloak's JVMs' CPU seconds by kind of thread, all nodes together."""
        found: dict[str, float] = {}
        for node in self.shape.cluster.nodes if self.shape.cluster else []:
            leader = node.process.pid if node.process else None
            for kind, seconds in jvm_threads(leader).items():
                found[kind] = found.get(kind, 0.0) + seconds
        return found

    def postgres(self) -> dict[str, float]:
        """PostgreSQL's live processes' CPU seconds by what they do."""
        cluster = self.shape.cluster
        process = cluster.postgres.process if cluster else None
        return postgres_processes(process.pid if process else None)

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.shape.stop()


# Keycloak's JVM threads by what they do (/proc's names, cut at 15 characters).
THREAD_CLASSES = (
    ("requests", ("executor-thread", "vert.x-", "agroal")),
    ("JIT", ("C1 CompilerThre", "C2 CompilerThre")),
    ("GC", ("GC Thread", "G1 ", "VM Thread", "VM Periodic")),
    (
        "cluster",
        ("jgroups", "non-blocking", "blocking-thread", "timeout-thread", "TQ-", "TcpServer"),
    ),
)


def jvm_threads(leader: int | None) -> dict[str, float]:
    """CPU seconds of the live threads of the JVMs in a process group, by THREAD_CLASSES
    ("other": the rest; threads that ended are not counted)."""
    found: dict[str, float] = {}
    if leader is None:
        return found
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != leader or (stat.parent / "comm").read_text().strip() != "java":
                continue
            tasks = list((stat.parent / "task").glob("*/stat"))
        except OSError:
            continue
        for task in tasks:
            try:
                text = task.read_text()
            except OSError:
                continue
            name = text[text.index("(") + 1 : text.rindex(")")]
            values = text.rsplit(")", 1)[1].split()
            kind = next((k for k, prefixes in THREAD_CLASSES if name.startswith(prefixes)), "other")
            found[kind] = found.get(kind, 0.0) + (int(values[11]) + int(values[12])) / tick
    return found


def postgres_processes(postmaster: int | None) -> dict[str, float]:
    """CPU seconds (own, not reaped children's) of the postmaster's live children, by their
    process title: Keycloak's connections ("backends"), autovacuum workers, the rest
    ("background": checkpointer, WAL writer...)."""
    found: dict[str, float] = {}
    if postmaster is None:
        return found
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != postmaster:
                continue
            title = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue
        if "autovacuum worker" in title:
            kind = "autovacuum"
        elif re.search(r"\d+\.\d+\.\d+\.\d+\(\d+\)", title):
            kind = "backends"
        else:
            kind = "background"
        found[kind] = found.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return found


def start_shape(shape: ProductionShape, installed: InstalledBridge | None) -> None:
    """shape.start(); with `installed`, its replicas run that venv (the first deployment's:
    the same wheel, as two deployments of one image) instead of building the wheel and a
    venv again."""
    shape.installed = installed
    shape.start()


def machine_busy() -> float:
    """CPU seconds all processes of the machine have used (/proc/stat, every core)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# --- the load (in a child process) -----------------------------------------------------


def _client(ca: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=ca),
        timeout=60,
        follow_redirects=False,
        headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
    )


async def _activations(
    bridge_url: str, ca: str, names: list[str], concurrency: int, duration: float
) -> dict[str, Any]:
    """`concurrency` students at once, each a new browser session (cookies cleared, the
    connection to nginx kept): the step 1 page (its CSRF token), then the identifier
    posted; the latency is the post's. Stops taking students after `duration`, or when
    the imported ones run out."""
    queue = deque(names)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    ran_out = False
    stop_at = time.perf_counter() + duration

    async def one_browser() -> None:
        nonlocal ran_out
        async with _client(ca) as client:
            while time.perf_counter() < stop_at:
                if not queue:
                    ran_out = True
                    return
                name = queue.popleft()
                client.cookies.clear()
                try:
                    page = await client.get(f"{bridge_url}/activation")
                    token = CSRF.search(page.text)
                    if page.status_code != 200 or token is None:
                        errors[f"page HTTP {page.status_code}"] += 1
                        continue
                    started = time.perf_counter()
                    answer = await client.post(
                        f"{bridge_url}/activation",
                        data={"csrf_token": token.group(1), "identifier": name},
                    )
                    elapsed = time.perf_counter() - started
                except httpx.HTTPError as error:
                    errors[type(error).__name__] += 1
                    continue
                location = answer.headers.get("location", "")
                if answer.status_code == 303 and location.endswith("/activation/mail-sent"):
                    latencies.append(elapsed)
                elif answer.status_code == 303:
                    errors[f"303 to {location}"] += 1
                else:
                    errors[f"HTTP {answer.status_code}"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_browser() for _ in range(concurrency)))
    return {
        "elapsed": time.perf_counter() - started,
        "latencies": latencies,
        "errors": dict(errors),
        "consumed": len(names) - len(queue),
        "ran_out": ran_out,
    }


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization_params(redirect_uri: str) -> dict[str, str]:
    """The portal's code + PKCE authorization request (tests/production/test_flows.py)."""
    _, challenge = _pkce()
    return {
        "client_id": "portal",
        "response_type": "code",
        "scope": "openid profile email",
        "redirect_uri": redirect_uri,
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


async def _logins(
    keycloak_url: str,
    ca: str,
    redirect_uri: str,
    names: list[str],
    concurrency: int,
    duration: float,
) -> dict[str, Any]:
    """`concurrency` browsers at once, each login a new session (cookies cleared, the
    connection kept): the authorization URL (Keycloak's login page), then the form posted;
    a success is the 302 to the redirect URI with a code. The students take turns."""
    authorize = f"{keycloak_url}/realms/um/protocol/openid-connect/auth"
    turn = itertools.count()
    pages: list[float] = []
    posts: list[float] = []
    wholes: list[float] = []
    errors: Counter[str] = Counter()
    stop_at = time.perf_counter() + duration

    async def one_browser() -> None:
        async with _client(ca) as client:
            while time.perf_counter() < stop_at:
                name = names[next(turn) % len(names)]
                client.cookies.clear()
                try:
                    started = time.perf_counter()
                    page = await client.get(authorize, params=authorization_params(redirect_uri))
                    shown = time.perf_counter()
                    action = FORM_ACTION.search(page.text)
                    if page.status_code != 200 or action is None:
                        errors[f"page HTTP {page.status_code}"] += 1
                        continue
                    answer = await client.post(
                        html.unescape(action.group(1)),
                        data={"username": name, "password": PASSWORD, "credentialId": ""},
                    )
                    done = time.perf_counter()
                except httpx.HTTPError as error:
                    errors[type(error).__name__] += 1
                    continue
                location = answer.headers.get("location", "")
                if (
                    answer.status_code == 302
                    and location.startswith(redirect_uri)
                    and "code=" in location
                ):
                    pages.append(shown - started)
                    posts.append(done - shown)
                    wholes.append(done - started)
                else:
                    errors[f"HTTP {answer.status_code}"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_browser() for _ in range(concurrency)))
    return {
        "elapsed": time.perf_counter() - started,
        "latencies": wholes,
        "pages": pages,
        "posts": posts,
        "errors": dict(errors),
    }


def load_in_child(kind: str, *args: Any) -> dict[str, Any]:
    """Run in the load process: one slice, with the CPU seconds it took this process."""
    cpu = time.process_time()
    if kind == "activation":
        result = asyncio.run(_activations(*args))
    else:
        result = asyncio.run(_logins(*args))
    result["cpu"] = time.process_time() - cpu
    return result


# --- slices and their figures ------------------------------------------------------------


@dataclass
class Figures:
    """What one variant's slices added up to."""

    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    pages: list[float] = field(default_factory=list)
    posts: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    cpu: dict[str, float] = field(default_factory=dict)
    slices: list[float] = field(default_factory=list)  # each slice's rate
    ran_out: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def add(self, result: dict[str, Any], cpu: dict[str, float]) -> None:
        self.elapsed += result["elapsed"]
        self.latencies += result["latencies"]
        self.pages += result.get("pages", [])
        self.posts += result.get("posts", [])
        self.errors.update(result["errors"])
        for part, seconds in cpu.items():
            self.cpu[part] = self.cpu.get(part, 0.0) + seconds
        self.ran_out += bool(result.get("ran_out"))
        self.slices.append(len(result["latencies"]) / result["elapsed"])


def run_slice(
    executor: ProcessPoolExecutor,
    deployments: list[Deployment],
    args: tuple[Any, ...],
    active: Deployment | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    """One slice in the load process; the CPU seconds each part used meanwhile: the
    deployment under load's parts, the idle deployment (if any), the load, this process
    (the SMTP sinks), the whole machine and what the rest of it ran (other users)."""
    before = {d.name: d.cpu() for d in deployments}
    watched = active or deployments[0]
    threads = watched.threads()
    postgres = watched.postgres()
    own, machine = time.process_time(), machine_busy()
    result = executor.submit(load_in_child, *args).result()
    cpu: dict[str, float] = {}
    for kind, seconds in watched.threads().items():
        cpu[f"thread:{kind}"] = seconds - threads.get(kind, 0.0)
    keycloak_before = totals(before[watched.name]).get("Keycloak", 0.0)
    live = sum(v for k, v in cpu.items() if k.startswith("thread:"))
    # The JVM's own count includes its threads that ended meanwhile (pools shrink).
    cpu["thread:ended"] = totals(watched.cpu()).get("Keycloak", 0.0) - keycloak_before - live
    for kind, seconds in watched.postgres().items():
        cpu[f"pg:{kind}"] = seconds - postgres.get(kind, 0.0)
    # The rest of PostgreSQL's count: the processes that ended meanwhile (autovacuum
    # workers, closed connections), reaped by the postmaster, and the postmaster itself.
    cpu["pg:ended"] = (
        totals(watched.cpu()).get("PostgreSQL", 0.0)
        - totals(before[watched.name]).get("PostgreSQL", 0.0)
        - sum(v for k, v in cpu.items() if k.startswith("pg:"))
    )
    for d in deployments:
        used = {part: seconds - before[d.name][part] for part, seconds in d.cpu().items()}
        if active is None or d is active:
            cpu.update(used)
        else:
            cpu["idle other"] = sum(used.values())
    cpu["load"] = result["cpu"]
    cpu["bench"] = time.process_time() - own
    ours = sum(v for k, v in cpu.items() if ":" not in k)
    cpu["machine"] = machine_busy() - machine
    cpu["others"] = max(cpu["machine"] - ours, 0.0)
    return result, cpu


def slice_order(a: str, b: str, slices: int) -> list[str]:
    """a b b a a b b a ...: `slices` of each, both as often first as second."""
    pattern = [a, b, b, a]
    return [pattern[i % 4] for i in range(2 * slices)]


def ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p) * 1000:7.0f}" if values else "      -"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def p50_ratio(a: list[float], b: list[float]) -> str:
    return ratio(percentile(a, 50), percentile(b, 50)) if a and b else "-"


CPU_PARTS = ("Keycloak", "bridge", "nginx", "PostgreSQL", "Redis", "load", "bench")


def idle_cpu(deployments: list[Deployment], seconds: float) -> dict[str, dict[str, float]]:
    """Each deployment's parts' cores while nothing loads them (both up)."""
    before = {d.name: d.cpu() for d in deployments}
    time.sleep(seconds)
    return {
        d.name: {
            part: used / seconds
            for part, used in totals({k: v - before[d.name][k] for k, v in d.cpu().items()}).items()
        }
        for d in deployments
    }


def totals(cpu: Mapping[str, float]) -> dict[str, float]:
    """Each node's and replica's seconds added into their part's."""
    merged: dict[str, float] = {}
    for part, seconds in cpu.items():
        name = part.split("#", 1)[0]
        merged[name] = merged.get(name, 0.0) + seconds
    return merged


def split(cpu: Mapping[str, float], part: str) -> str:
    """How the part's CPU was shared between its nodes or replicas (nginx's balancing)."""
    members = {k: v for k, v in cpu.items() if k.startswith(f"{part}#")}
    whole = sum(members.values())
    if len(members) < 2 or not whole:
        return ""
    return f"{part} " + " / ".join(f"{v / whole:.0%}" for _, v in sorted(members.items()))


def print_cpu(figures: dict[str, Figures], per: str) -> None:
    print(f"  CPU: cores used on average during the slices (of 2), and ms per {per}")
    merged = {name: totals(f.cpu) for name, f in figures.items()}
    parts = [
        p
        for p in (*CPU_PARTS, "idle other", "others", "machine")
        if any(m.get(p) for m in merged.values())
    ]
    print("    " + " " * 14 + "".join(f"{p:>11}" for p in parts))
    for name, f in figures.items():
        cores = "".join(f"{merged[name].get(p, 0.0) / f.elapsed:11.2f}" for p in parts)
        print(f"    {name:<14}{cores}   cores")
        n = max(len(f.latencies), 1)
        each = "".join(f"{merged[name].get(p, 0.0) / n * 1000:11.1f}" for p in parts)
        print(f"    {'':<14}{each}   ms per {per}")
    for name, f in figures.items():
        n = max(len(f.latencies), 1)
        kinds = ", ".join(
            f"{k.removeprefix('thread:')} {v / n * 1000:.1f}"
            for k, v in sorted(f.cpu.items(), key=lambda kv: -kv[1])
            if k.startswith("thread:")
        )
        print(f"    {name}: Keycloak's CPU ms per {per} by thread: {kinds}")
        pg = ", ".join(
            f"{k.removeprefix('pg:')} {v / n * 1000:.1f}"
            for k, v in sorted(f.cpu.items(), key=lambda kv: -kv[1])
            if k.startswith("pg:")
        )
        print(f"    {name}: PostgreSQL's CPU ms per {per} by process: {pg}")
    for name, f in figures.items():
        shares = ", ".join(x for x in (split(f.cpu, "Keycloak"), split(f.cpu, "bridge")) if x)
        if shares:
            print(f"    {name}: CPU shared between the nodes / replicas: {shares}")
    print(
        "    (idle other: the other deployment, up and unloaded; bench: this process, "
        "both SMTP sinks; others: the rest of the machine, other users' processes)"
    )


def keycloak_ms(cpu: dict[str, float], result: dict[str, Any]) -> str:
    return f"{totals(cpu)['Keycloak'] / max(len(result['latencies']), 1) * 1000:.0f}"


def paired(figures: dict[str, Figures], a: str, b: str, slices: int) -> list[float]:
    """a's rate over b's in each pair of adjacent slices (a b, b a, a b, ...): the drift
    of the machine between pairs drops out; their spread is the noise."""
    left = {name: deque(f.slices) for name, f in figures.items()}
    sequence = [(name, left[name].popleft()) for name in slice_order(a, b, slices)]
    ratios = []
    for first, second in zip(sequence[::2], sequence[1::2], strict=True):
        rates = dict((first, second))
        if rates.get(b):
            ratios.append(rates[a] / rates[b])
    return ratios


def deployment_ms(f: Figures) -> float:
    """CPU ms per operation of the deployment's own parts (not the load, not others)."""
    merged = totals(f.cpu)
    used = sum(merged.get(p, 0.0) for p in ("Keycloak", "bridge", "nginx", "PostgreSQL", "Redis"))
    return used / max(len(f.latencies), 1) * 1000


def print_capacity(figures: dict[str, Figures], a: str, b: str, what: str, slices: int) -> None:
    pairs = paired(figures, a, b, slices)
    if pairs:
        print(
            f"  {a} / {b} in each pair of adjacent slices: "
            + " ".join(f"{r:.2f}" for r in pairs)
            + f"  (median {sorted(pairs)[len(pairs) // 2]:.2f}, "
            f"spread {min(pairs):.2f}-{max(pairs):.2f})"
        )
    fa, fb = figures[a], figures[b]
    ka = totals(fa.cpu).get("Keycloak", 0.0) / max(len(fa.latencies), 1) * 1000
    kb = totals(fb.cpu).get("Keycloak", 0.0) / max(len(fb.latencies), 1) * 1000
    da, db = deployment_ms(fa), deployment_ms(fb)
    if ka and kb and da and db:
        print(
            f"  {what} per CPU-second, whatever the rest of the machine takes: of Keycloak "
            f"{a} {1000 / ka:.1f}, {b} {1000 / kb:.1f} ({ratio(kb, ka)}); of the whole "
            f"deployment {a} {1000 / da:.1f}, {b} {1000 / db:.1f} ({ratio(db, da)})"
        )


def errors_text(errors: Counter[str]) -> str:
    return f"{sum(errors.values())}" + (f" {dict(errors)}" if errors else "")


# --- part 1: activations -----------------------------------------------------------------


def activation_part(
    executor: ProcessPoolExecutor,
    deployments: list[Deployment],
    options: argparse.Namespace,
) -> dict[str, Figures]:
    slice_seconds = options.duration / options.slices
    # Students for this many activations a second are imported before each slice: --rate,
    # or the best slice so far if faster (a slice can run several times faster than the
    # one before when the rest of the machine calms down).
    ceiling = float(options.rate)
    # Warm both (the JIT, the connection pools, the templates), uncounted.
    for d in deployments:
        d.fill(int(options.rate * options.warmup) + options.concurrency)
        names = d.take(len(d.unused))
        result, _ = run_slice(
            executor,
            deployments,
            (
                "activation",
                d.shape.bridge_url,
                str(d.shape.tls.ca),
                names,
                options.concurrency,
                options.warmup,
            ),
            d,
        )
        d.unused.extend(names[result["consumed"] :])
        d.sent += len(result["latencies"])
        print(
            f"  warm-up {d.name}: {len(result['latencies'])} activations in "
            f"{result['elapsed']:.1f} s, errors {result['errors'] or 0}",
            flush=True,
        )
        ceiling = max(ceiling, len(result["latencies"]) / result["elapsed"])

    by_name = {d.name: d for d in deployments}
    figures = {d.name: Figures() for d in deployments}
    order = slice_order(deployments[0].name, deployments[1].name, options.slices)
    print(f"  slices of {slice_seconds:.0f} s: {' / '.join(order)}", flush=True)
    for name in order:
        d = by_name[name]
        # Fresh students for the slice, imported before it (never during it), with half as
        # many again to spare.
        imported = d.fill(int(ceiling * slice_seconds * 1.5) + options.concurrency)
        names = d.take(len(d.unused))
        result, cpu = run_slice(
            executor,
            deployments,
            (
                "activation",
                d.shape.bridge_url,
                str(d.shape.tls.ca),
                names,
                options.concurrency,
                slice_seconds,
            ),
            d,
        )
        d.unused.extend(names[result["consumed"] :])
        d.sent += len(result["latencies"])
        figures[name].add(result, cpu)
        ceiling = max(ceiling, figures[name].slices[-1])
        print(
            f"    {name}: {len(result['latencies'])} in {result['elapsed']:.1f} s "
            f"({len(result['latencies']) / result['elapsed']:.1f}/s, Keycloak "
            f"{keycloak_ms(cpu, result)} CPU ms each; {imported} students "
            f"imported before it), errors {result['errors'] or 0}"
            + (" -- ran out of students" if result["ran_out"] else ""),
            flush=True,
        )
    return figures


def wait_for_mails(directory: Path, expected: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while True:
        count = len(list(directory.glob("*.eml")))
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.5)


# --- part 2: logins --------------------------------------------------------------------


def set_theme(d: Deployment, theme: str) -> None:
    with d.admin() as admin:
        admin.put("", json={"loginTheme": theme}).raise_for_status()


def theme_on_each_node(d: Deployment, redirect_uri: str) -> dict[str, bool]:
    """Whether each Keycloak node, asked directly (past nginx), shows the themed page."""
    assert d.shape.cluster
    found = {}
    for i, node in enumerate(d.shape.cluster.nodes, start=1):
        page = httpx.get(
            f"{node.url}/realms/um/protocol/openid-connect/auth",
            params=authorization_params(redirect_uri),
            timeout=60,
        )
        found[f"node {i}"] = "css/um.css" in page.text
    return found


def page_weight(d: Deployment, redirect_uri: str) -> tuple[int, int, int]:
    """The login page's bytes through nginx, and the stylesheets and scripts it links
    (count, bytes): what a browser's first visit fetches besides the page."""
    verify = ssl.create_default_context(cafile=str(d.shape.tls.ca))
    with httpx.Client(verify=verify, timeout=60) as client:
        page = client.get(
            f"{d.shape.keycloak_url}/realms/um/protocol/openid-connect/auth",
            params=authorization_params(redirect_uri),
        )
        assets = sorted(set(ASSET.findall(page.text)))
        size = 0
        for asset in assets:
            url = html.unescape(asset)
            if url.startswith("/"):
                url = d.shape.keycloak_url + url
            size += len(client.get(url).content)
    return len(page.content), len(assets), size


def login_part(
    executor: ProcessPoolExecutor, d: Deployment, options: argparse.Namespace
) -> tuple[dict[str, Figures], dict[str, Any]]:
    redirect_uri = f"{d.shape.values['UM_PORTAL_URL']}/test-callback"
    names = [f"w{d.tag}{n:04d}" for n in range(options.login_students)]
    users = []
    for n, name in enumerate(names):
        user = student(name, n, f"W{d.tag}", ine=False)
        user["emailVerified"] = True
        user["credentials"] = [{"type": "password", "value": PASSWORD, "temporary": False}]
        users.append(user)
    started = time.monotonic()
    d.import_users(users)
    print(
        f"  {len(names)} students with a password imported in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    with d.admin() as admin:
        original = admin.get("").json().get("loginTheme")
    notes: dict[str, Any] = {"original": original, "seen": {}, "weight": {}}
    slice_seconds = options.login_duration / options.slices
    figures = {THEMED: Figures(), STOCK: Figures()}

    def load(theme: str, seconds: float) -> tuple[dict[str, Any], dict[str, float]]:
        return run_slice(
            executor,
            [d],
            (
                "login",
                d.shape.keycloak_url,
                str(d.shape.tls.ca),
                redirect_uri,
                names,
                options.concurrency,
                seconds,
            ),
        )

    try:
        for theme in (THEMED, STOCK):
            set_theme(d, theme)
            notes["seen"][theme] = theme_on_each_node(d, redirect_uri)
            notes["weight"][theme] = page_weight(d, redirect_uri)
            result, _ = load(theme, options.login_warmup)
            print(
                f"  warm-up {theme}: {len(result['latencies'])} logins in "
                f"{result['elapsed']:.1f} s, errors {result['errors'] or 0}",
                flush=True,
            )
        order = slice_order(THEMED, STOCK, options.slices)
        print(f"  slices of {slice_seconds:.0f} s: {' / '.join(order)}", flush=True)
        current = STOCK
        for theme in order:
            if theme != current:
                set_theme(d, theme)
                current = theme
                # The realm's new representation reaches both nodes (cache invalidation),
                # and the first pages after the switch are not counted.
                seen = theme_on_each_node(d, redirect_uri)
                if any(shown != (theme == THEMED) for shown in seen.values()):
                    print(f"    (after the switch to {theme}, the nodes show {seen})")
                load(theme, 2)
            result, cpu = load(theme, slice_seconds)
            figures[theme].add(result, cpu)
            print(
                f"    {theme}: {len(result['latencies'])} in {result['elapsed']:.1f} s "
                f"({len(result['latencies']) / result['elapsed']:.1f}/s, Keycloak "
                f"{keycloak_ms(cpu, result)} CPU ms each), "
                f"errors {result['errors'] or 0}",
                flush=True,
            )
    finally:
        if original:
            set_theme(d, original)
    return figures, notes


# --- report ------------------------------------------------------------------------------


def print_activations(
    figures: dict[str, Figures],
    deployments: list[Deployment],
    mails: dict[str, tuple[int, int]],
    options: argparse.Namespace,
) -> None:
    a, b = (deployments[0].name, deployments[1].name)
    print()
    print(
        f"1. activation step 1 -> mail, through nginx (HTTPS, keep-alive), "
        f"{options.concurrency} concurrent students, {options.slices} slices of "
        f"{options.duration / options.slices:.0f} s each, interleaved"
    )
    print(
        f"    {'':<8}{'activations':>12}{'seconds':>9}{'per s':>8}"
        f"{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}   slices (per s)   errors"
    )
    for name, f in figures.items():
        lat = f.latencies
        print(
            f"    {name:<8}{len(lat):12d}{f.elapsed:9.1f}{f.rate:8.1f}"
            f"{ms(lat, 50):>8}{ms(lat, 95):>8}{ms(lat, 99):>8}   "
            f"{' '.join(f'{r:.1f}' for r in f.slices):<16} {errors_text(f.errors)}"
        )
    fa, fb = figures[a], figures[b]
    print(
        f"  {a} / {b}: throughput {ratio(fa.rate, fb.rate)}, "
        + ", ".join(
            f"p{p} {ratio(percentile(fa.latencies, p), percentile(fb.latencies, p))}"
            for p in (50, 95, 99)
            if fa.latencies and fb.latencies
        )
    )
    print_capacity(figures, a, b, "activations", options.slices)
    print_cpu(figures, "activation")
    for name, (received, expected) in mails.items():
        print(f"  mails in {name}'s sink: {received} (activations, warm-up included: {expected})")
    if any(f.ran_out for f in figures.values()):
        print("  some slices ran out of imported students (raise --rate)")


def print_logins(
    figures: dict[str, Figures], notes: dict[str, Any], name: str, slices: int
) -> None:
    print()
    print(
        f"2. password login through nginx's Keycloak host (portal, code + PKCE), on {name}: "
        "page + post, interleaved"
    )
    print(
        f"    {'':<14}{'logins':>7}{'seconds':>9}{'per s':>8}{'p50 ms':>8}{'p95 ms':>8}"
        f"{'page p50':>10}{'page p95':>10}{'post p50':>10}{'post p95':>10}   slices   errors"
    )
    for theme, f in figures.items():
        print(
            f"    {theme:<14}{len(f.latencies):7d}{f.elapsed:9.1f}{f.rate:8.1f}"
            f"{ms(f.latencies, 50):>8}{ms(f.latencies, 95):>8}"
            f"{ms(f.pages, 50):>10}{ms(f.pages, 95):>10}{ms(f.posts, 50):>10}{ms(f.posts, 95):>10}"
            f"   {' '.join(f'{r:.1f}' for r in f.slices)}   {errors_text(f.errors)}"
        )
    themed, stock = figures[THEMED], figures[STOCK]
    if stock.rate:
        verdict = "met" if themed.rate / stock.rate >= 0.95 else "NOT met"
        print(
            f"  themed / stock: logins per second {ratio(themed.rate, stock.rate)} "
            f"(goal >= 0.95x: {verdict}); p50 {p50_ratio(themed.latencies, stock.latencies)}, "
            f"login page p50 {p50_ratio(themed.pages, stock.pages)}"
        )
    print_capacity(figures, THEMED, STOCK, "logins", slices)
    print_cpu(figures, "login")
    for theme, (page, count, size) in notes["weight"].items():
        print(
            f"  {theme}: login page {page / 1024:.1f} KB, links {count} stylesheets/scripts "
            f"of {size / 1024:.0f} KB (a first visit; the bench fetches the page only)"
        )
    for theme, seen in notes["seen"].items():
        print(f"  after switching to {theme}, the themed page on: {seen}")
    print(f"  loginTheme restored to {notes['original']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--concurrency", type=int, default=16, help="browsers at once")
    parser.add_argument(
        "--duration", type=float, default=60, help="seconds of activation load per deployment"
    )
    parser.add_argument(
        "--login-duration", type=float, default=60, help="seconds of login load per theme"
    )
    parser.add_argument("--slices", type=int, default=4, help="slices per variant")
    parser.add_argument(
        "--warmup", type=float, default=20, help="seconds of activations per deployment, uncounted"
    )
    parser.add_argument(
        "--login-warmup", type=float, default=10, help="seconds of logins per theme, uncounted"
    )
    parser.add_argument(
        "--rate", type=float, default=40, help="activations/s the first students are imported for"
    )
    parser.add_argument("--login-students", type=int, default=64)
    parser.add_argument(
        "--mail-budget",
        type=int,
        default=100_000_000,
        help="UM_MAILS_PER_MINUTE (the deployed default is 600)",
    )
    parser.add_argument(
        "--directory", type=Path, default=REPO / "var" / "bench-shape", help="the deployments'"
    )
    parser.add_argument("--keep", action="store_true", help="keep the deployments' files")
    parser.add_argument("--skip-logins", action="store_true")
    options = parser.parse_args()

    started_run = time.monotonic()
    print(
        f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at the start",
        flush=True,
    )
    deployments: list[Deployment] = []
    completed = False
    spawn = multiprocessing.get_context("spawn")
    with contextlib.ExitStack() as resources:
        executor = resources.enter_context(ProcessPoolExecutor(1, mp_context=spawn))
        executor.submit(time.sleep, 0).result()  # the load process, started before
        for name, replicas, nodes in (("2+2", 2, 2), ("1+1", 1, 1)):
            shape = ProductionShape(
                options.directory / name.replace("+", "x"),
                replicas=replicas,
                nodes=nodes,
                settings=settings(options.mail_budget),
            )
            d = Deployment(name, shape, secrets.token_hex(2))
            resources.callback(d.stop)
            deployments.append(d)
            print(
                f"starting {name}: {replicas} bridge replica(s), {nodes} Keycloak node(s) ...",
                flush=True,
            )
            start_shape(shape, deployments[0].shape.installed if len(deployments) > 1 else None)
            timings = ", ".join(f"{what} {s:.0f} s" for what, s in shape.timings.items())
            print(f"  {timings}", flush=True)

        idle = idle_cpu(deployments, 5)
        for name, parts in idle.items():
            line = ", ".join(f"{part} {cores:.3f}" for part, cores in parts.items())
            print(f"  {name} up, unloaded (5 s), cores used: {line}", flush=True)
        print("activations ...", flush=True)
        activations = activation_part(executor, deployments, options)
        mails = {}
        for d in deployments:
            mails[d.name] = (wait_for_mails(d.shape.mail_dir, d.sent), d.sent)
        imports = ", ".join(
            f"{d.name} {d.imported} in {d.import_seconds:.0f} s" for d in deployments
        )
        # Part 1's figures now: a failure in part 2 does not lose them.
        print_activations(activations, deployments, mails, options)
        for name, parts in idle.items():
            line = ", ".join(f"{part} {cores:.3f}" for part, cores in parts.items())
            print(f"  {name} up and unloaded (5 s before the load), cores: {line}")
        print(f"  students imported (partial import, group /students): {imports}")
        print(flush=True)

        if not options.skip_logins:
            deployments[1].stop()  # the machine to the one under load
            print(f"logins on {deployments[0].name} ...", flush=True)
            logins = login_part(executor, deployments[0], options)
            print_logins(*logins, deployments[0].name, options.slices)
        completed = True

    print(
        f"\n(whole run: {time.monotonic() - started_run:.0f} s; "
        f"settings {settings(options.mail_budget)})"
    )
    if completed and not options.keep:
        shutil.rmtree(options.directory, ignore_errors=True)


if __name__ == "__main__":
    main()
