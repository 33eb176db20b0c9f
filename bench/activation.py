"""bench/activation: step 1 -> activation mail queued, in one run:

1. the bridge's overhead: the bridge (current tree) against the same Keycloak admin calls
   made directly (the baseline), one student at a time, interleaved; p50/p95 and ratios;
2. Keycloak calls per activation, before and after the limits' counters left Keycloak:
   the bridge as of BEFORE (the parent of 302ebff: counters in user attributes, read-modify-
   write of the whole representation) and the current tree, each reaching the same Keycloak
   through a counting proxy (bench/countproxy.py), with the direct baseline through it too;
   per call: how many, Keycloak's time to answer, the bytes sent; the rest of the latency is
   the bridge's own (or, for the baseline, the bench's HTTP client);
3. load: N concurrent students for a fixed time through each of the two bridges (through
   their proxies, so that the calls under load are counted too), in slices after / before /
   before / after so that both see the same drift of a shared machine.

    .venv/bin/python bench/activation.py [--students 60] [--per-bridge 20] [--concurrency 16]
        [--duration 60] [--rate 45] [--before 6315251] [--database postgres|h2]
        [--no-theme-cache]

Figures are printed, never asserted. Every student is a fresh account (a student gets few
mails a day); the load's accounts are created by partial import before each slice, for
`--rate` activations/s, and more in batches if a slice uses them up (said in the output).
`make bench` runs it with the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import re
import sys
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.countproxy import CONNECTIONS
from bench.harness import (
    BenchStack,
    Bridge,
    CountProxy,
    Row,
    bench_stack,
    bridge_process,
    count_proxy,
    cpu_seconds,
    percentile,
    source_tree,
    summary,
)
from bridge.domain.deadlines import PARIS, seconds_until_end_of_day
from devstack.ports import free_ports

# The parent of 302ebff, which moved the limits' counters from Keycloak into Redis.
BEFORE = "6315251078bb8bdbe0a688a4c65ed072b4e94eb5"


def student(username: str, n: int, tag: str, ine: bool) -> dict[str, object]:
    attributes = {
        "supannEtuId": [f"{tag}{n}"],
        "institutionalEmail": [f"{username}@etu.example"],
        "eduPersonAffiliation": ["student"],
    }
    if ine:
        attributes["ine"] = ["0123456789M"]
    return {
        "username": username,
        "enabled": True,
        "firstName": "Bench",
        "lastName": f"N{n}",
        "email": f"{username}@example.org",
        "emailVerified": False,
        "groups": ["/students"],
        "attributes": attributes,
    }


def create_students(admin: httpx.Client, count: int, tag: str) -> list[str]:
    names = []
    for n in range(count):
        username = f"b{tag}{n:05d}"
        admin.post("/users", json=student(username, n, tag, ine=True)).raise_for_status()
        names.append(username)
    return names


def import_students(stack: BenchStack, names: list[str], tag: str) -> None:
    """Fresh students, 500 per partial import (minutes saved over POSTs), each with a new
    admin token (they live 60 s)."""
    for first in range(0, len(names), 500):
        users = [
            student(name, n, f"L{tag}", ine=False)
            for n, name in enumerate(names[first : first + 500], start=first)
        ]
        with stack.admin() as admin:
            response = admin.post(
                "/partialImport", json={"users": users, "ifResourceExists": "SKIP"}, timeout=600
            )
            response.raise_for_status()


def service_token(stack: BenchStack, keycloak_url: str | None = None) -> str:
    """The bridge's own credential: its client's service-account token (realm um)."""
    response = httpx.post(
        f"{keycloak_url or stack.keycloak.url}/realms/um/protocol/openid-connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "bridge",
            "client_secret": stack.secrets["UM_BRIDGE_CLIENT_SECRET"],
        },
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


class TokenAuth(httpx.Auth):
    """A bearer token fetched once and reused, fetched again when Keycloak refuses it (the
    administrator's lives 60 s), as a service keeps its token."""

    def __init__(self, fetch: Callable[[], str]) -> None:
        self.fetch = fetch
        self.token = fetch()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        response = yield request
        if response.status_code == 401:
            self.token = self.fetch()
            request.headers["Authorization"] = f"Bearer {self.token}"
            yield request


def admin_client(base_url: str, fetch: Callable[[], str]) -> httpx.Client:
    return httpx.Client(base_url=f"{base_url}/admin/realms/um", auth=TokenAuth(fetch), timeout=60)


def direct_path(admin: httpx.Client, username: str, portal: str) -> float:
    """What the bridge asks of Keycloak for step 1 -> mail, made directly."""
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
    # Nothing more: the counters are in Redis, and staff read the send from Keycloak's
    # admin event (the bridge of 6315251 also wrote a counter and the time of the mail).
    return time.perf_counter() - started


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def bridge_path(client: httpx.Client, bridge_url: str, username: str) -> float:
    page = client.get(f"{bridge_url}/activation")
    token = CSRF.search(page.text)
    assert token
    started = time.perf_counter()
    answer = client.post(
        f"{bridge_url}/activation", data={"csrf_token": token.group(1), "identifier": username}
    )
    elapsed = time.perf_counter() - started
    if answer.status_code != 303 or answer.headers["location"] != "/activation/mail-sent":
        raise RuntimeError(f"{username}: {answer.status_code} {answer.text[:200]}")
    return elapsed


# --- Keycloak calls per activation -------------------------------------------------------


@dataclass
class Calls:
    """What a proxy counted over `activations` activations, and their latencies."""

    activations: int
    counted: dict[str, Row]
    latencies: list[float] = field(default_factory=list)

    @property
    def rows(self) -> dict[str, Row]:
        """The requests, by method and path pattern."""
        return {key: row for key, row in self.counted.items() if key != CONNECTIONS}

    def connections(self) -> int:
        return int(self.counted.get(CONNECTIONS, [0])[0])

    def per_activation(self) -> float:
        return sum(r[0] for r in self.rows.values()) / max(self.activations, 1)

    def admin_per_activation(self) -> float:
        admin = sum(r[0] for key, r in self.rows.items() if " /admin/" in key)
        return admin / max(self.activations, 1)

    def keycloak_seconds(self) -> float:
        """Keycloak's time to answer, summed over the calls of one activation (mean)."""
        return sum(r[1] for r in self.rows.values()) / max(self.activations, 1)


def merge(rows: list[dict[str, Row]]) -> dict[str, Row]:
    total: dict[str, Row] = {}
    for table in rows:
        for key, row in table.items():
            into = total.setdefault(key, [0, 0.0, 0])
            for i, value in enumerate(row):
                into[i] += value
    return total


def counted_paths(
    proxy: CountProxy,
    paths: dict[str, Callable[[str], float]],
    names: dict[str, list[str]],
) -> dict[str, Calls]:
    """Each path through its own proxy port, one activation of each in turn (the same
    machine state for all), then what each port counted."""
    proxy.reset()
    latencies: dict[str, list[float]] = {path: [] for path in paths}
    for turn in zip(*(names[path] for path in paths), strict=True):
        for (path, run), username in zip(paths.items(), turn, strict=True):
            latencies[path].append(run(username))
    counts = proxy.counts()
    return {
        path: Calls(len(latencies[path]), counts.get(path, {}), latencies[path]) for path in paths
    }


def mail_link(mail_dir: Path, address: str) -> str | None:
    """The action link of the newest mail to `address` the sink received."""
    for path in sorted(mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address not in str(message.get("To", "")):
            continue
        for part in message.walk():
            if part.get_content_maintype() == "text":
                found = re.search(r'https?://[^\s"<>]*action-token[^\s"<>]*', part.get_content())
                if found:
                    return found.group(0).replace("&amp;", "&")
    return None


def check_link(stack: BenchStack, address: str) -> str:
    """The mail sent through a proxy still carries Keycloak's own link, and it opens."""
    link = None
    for _ in range(20):
        link = mail_link(stack.mail_dir, address)
        if link:
            break
        time.sleep(0.5)
    if link is None:
        return "no mail found"
    if not link.startswith(stack.keycloak.url + "/"):
        return f"link to {link.split('/realms', 1)[0]} (not Keycloak's own URL)"
    status = httpx.get(link, timeout=30).status_code
    return f"Keycloak's own URL, opens with HTTP {status}"


# --- load ----------------------------------------------------------------------------------


class Pool:
    """Fresh students for the load, used once each; topped up by partial import (in a
    thread) when fewer than `low` are left."""

    def __init__(self, stack: BenchStack, tag: str, size: int, low: int = 200) -> None:
        self.stack, self.tag, self.low = stack, tag, low
        self.next_number = 0
        self.names: deque[str] = deque()
        self.top_ups = 0
        self._busy = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.add(size)

    def _new_names(self, count: int) -> list[str]:
        first, self.next_number = self.next_number, self.next_number + count
        return [f"l{self.tag}{n:06d}" for n in range(first, first + count)]

    def add(self, count: int) -> None:
        names = self._new_names(count)
        import_students(self.stack, names, self.tag)
        self.names.extend(names)

    def fill(self, count: int) -> None:
        if len(self.names) < count:
            self.add(count - len(self.names))

    def take(self) -> str | None:
        if len(self.names) < self.low and self._busy.acquire(blocking=False):

            def top_up() -> None:
                try:
                    self.add(500)
                    self.top_ups += 1
                finally:
                    self._busy.release()

            thread = threading.Thread(target=top_up, daemon=True)
            self._threads.append(thread)
            thread.start()
        try:
            return self.names.popleft()
        except IndexError:
            return None

    def join(self) -> None:
        """Imports under way end before the stack stops."""
        for thread in self._threads:
            thread.join()


@dataclass
class LoadRun:
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    ran_out: int = 0
    cpu: dict[str, float] = field(default_factory=dict)
    calls: list[dict[str, Row]] = field(default_factory=list)
    mails_before: int = 0


async def load(
    bridge_url: str, pool: Pool, concurrency: int, duration: float, run: LoadRun
) -> None:
    """`concurrency` students at once, each a new browser session: the step 1 page, then the
    identifier posted; the latency is the post's (the bridge finds the account, has
    Keycloak send the mail, records it). Stops taking new students after `duration`."""
    stop_at = time.perf_counter() + duration

    async def one_student() -> None:
        async with httpx.AsyncClient(timeout=60) as client:
            while time.perf_counter() < stop_at:
                name = pool.take()
                if name is None:
                    run.ran_out += 1
                    await asyncio.sleep(0.2)
                    continue
                client.cookies.clear()
                try:
                    page = await client.get(f"{bridge_url}/activation")
                    token = CSRF.search(page.text)
                    started = time.perf_counter()
                    answer = await client.post(
                        f"{bridge_url}/activation",
                        data={"csrf_token": token.group(1) if token else "", "identifier": name},
                    )
                    elapsed = time.perf_counter() - started
                except httpx.HTTPError as error:
                    run.errors[type(error).__name__] += 1
                    continue
                if answer.status_code == 303 and answer.headers["location"].endswith("mail-sent"):
                    run.latencies.append(elapsed)
                else:
                    run.errors[f"HTTP {answer.status_code}"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_student() for _ in range(concurrency)))
    run.elapsed += time.perf_counter() - started


def cpu_now(stack: BenchStack, bridge_pid: int) -> dict[str, float]:
    process = stack.keycloak.process
    return {
        "bridge": cpu_seconds(bridge_pid),
        "Keycloak": cpu_seconds(process.pid if process else None),
        "PostgreSQL": cpu_seconds(stack.postgres_pid),
        "bench": time.process_time(),
    }


def load_slice(
    stack: BenchStack,
    proxy: CountProxy,
    name: str,
    bridge: Bridge,
    pool: Pool,
    concurrency: int,
    duration: float,
    run: LoadRun,
) -> None:
    proxy.reset()
    cpu_before = cpu_now(stack, bridge.pid)
    asyncio.run(load(bridge.url, pool, concurrency, duration, run))
    for part, used in cpu_now(stack, bridge.pid).items():
        run.cpu[part] = run.cpu.get(part, 0.0) + used - cpu_before[part]
    run.calls.append(proxy.counts().get(name, {}))


def wait_for_mail_count(mail_dir: Path, expected: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while True:
        count = len(list(mail_dir.glob("*.eml")))
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.5)


# --- report --------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def print_calls(label: str, calls: Calls, order: list[str]) -> None:
    n = max(calls.activations, 1)
    mean = sum(calls.latencies) / len(calls.latencies) if calls.latencies else 0.0
    keycloak = calls.keycloak_seconds()
    print(
        f"  {label}: {calls.per_activation():.2f} calls per activation "
        f"({calls.admin_per_activation():.2f} admin API), over {calls.activations} activations"
    )
    for key in order:
        if key in calls.rows:
            count, seconds, sent = calls.rows[key]
            print(
                f"      {count / n:5.2f} x  {key:<58} Keycloak {ms(seconds / count):>9} each"
                f"   {sent / count:6.0f} B sent"
            )
    print(
        f"      latency mean {ms(mean)} = Keycloak answering {ms(keycloak)} "
        f"+ the rest {ms(mean - keycloak)} (the caller's own work, HTTP, Redis, the proxy hop)"
    )
    print(f"      TCP connections to Keycloak opened: {calls.connections()}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=200, help="sequential samples per path")
    parser.add_argument(
        "--per-bridge", type=int, default=20, help="counted activations per bridge and baseline"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="students at once")
    parser.add_argument(
        "--duration", type=float, default=60, help="seconds of load per bridge (two slices)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=45,
        help="activations/s the load's accounts are imported for, before each slice",
    )
    parser.add_argument("--before", default=BEFORE, help="the commit of the 'before' bridge")
    parser.add_argument("--database", choices=("postgres", "h2"), default="postgres")
    parser.add_argument(
        "--no-theme-cache",
        action="store_true",
        help="Keycloak re-reads its templates for every mail (start-dev's default)",
    )
    args = parser.parse_args()
    pool_size = int(args.duration / 2 * args.rate)

    started_run = time.monotonic()
    print(
        f"starting a private Keycloak ({args.database}), SMTP sink, Redis, bridge ...", flush=True
    )
    with contextlib.ExitStack() as resources:
        stack = resources.enter_context(
            bench_stack(database=args.database, theme_cache=not args.no_theme_cache)
        )
        proxy = resources.enter_context(
            count_proxy(stack.keycloak.url, ["after", "before", "direct", "direct_sa"])
        )
        old = resources.enter_context(source_tree(args.before))
        print(
            f"starting the bridge as of {args.before[:7]} and the current one, proxied ...",
            flush=True,
        )
        before_port, after_port = free_ports(2)
        # The old settings read no UM_REDIS_URL (its counters were in Keycloak); the rest
        # of the environment is the same.
        before = resources.enter_context(
            bridge_process(stack.bridge_env, before_port, old, UM_KEYCLOAK_URL=proxy.urls["before"])
        )
        after = resources.enter_context(
            bridge_process(stack.bridge_env, after_port, UM_KEYCLOAK_URL=proxy.urls["after"])
        )
        bridges = {"before": before, "after": after}

        tag = uuid.uuid4().hex[:4]
        with stack.admin() as admin:
            direct_names = create_students(admin, args.students, tag + "d")
            service_names = create_students(admin, args.students, tag + "s")
            bridge_names = create_students(admin, args.students, tag + "w")
            counted = {
                name: create_students(admin, args.per_bridge, tag + suffix)
                for name, suffix in (
                    ("after", "a"),
                    ("before", "o"),
                    ("direct", "c"),
                    ("direct_sa", "e"),
                )
            }
            warm = create_students(admin, 20, tag + "x")
        print(f"importing {pool_size} students for the load ...", flush=True)
        imported = time.perf_counter()
        pool = Pool(stack, tag, pool_size)
        print(f"  ({time.perf_counter() - imported:.0f} s)", flush=True)
        portal = f"{stack.bridge_url}/portal/login"

        # Warm every path (JIT, connection pools) before measuring.
        with stack.admin() as admin:
            for name in warm[:3]:
                direct_path(admin, name, portal)
        with admin_client(stack.keycloak.url, lambda: service_token(stack)) as service:
            for name in warm[3:5]:
                direct_path(service, name, portal)
        with httpx.Client(timeout=60) as client:
            for url, names in (
                (stack.bridge_url, warm[5:10]),
                (before.url, warm[10:15]),
                (after.url, warm[15:20]),
            ):
                for name in names:
                    client.cookies.clear()
                    bridge_path(client, url, name)

        print("sequential: bridge and direct calls, interleaved ...", flush=True)
        direct: list[float] = []
        direct_sa: list[float] = []
        through: list[float] = []
        with (
            admin_client(stack.keycloak.url, stack.keycloak.admin_token) as admin,
            admin_client(stack.keycloak.url, lambda: service_token(stack)) as service,
            httpx.Client(timeout=60) as client,
        ):
            for d, s, w in zip(direct_names, service_names, bridge_names, strict=True):
                direct.append(direct_path(admin, d, portal))
                direct_sa.append(direct_path(service, s, portal))
                client.cookies.clear()
                through.append(bridge_path(client, stack.bridge_url, w))

        print("counting Keycloak calls per activation ...", flush=True)
        with (
            httpx.Client(timeout=60) as client,
            # One token each, fetched beforehand and reused, as a service would.
            admin_client(proxy.urls["direct"], stack.keycloak.admin_token) as admin,
            admin_client(proxy.urls["direct_sa"], lambda: service_token(stack)) as service,
        ):

            def via_bridge(url: str) -> Callable[[str], float]:
                def run(username: str) -> float:
                    client.cookies.clear()
                    return bridge_path(client, url, username)

                return run

            calls = counted_paths(
                proxy,
                {
                    "before": via_bridge(before.url),
                    "after": via_bridge(after.url),
                    "direct": lambda username: direct_path(admin, username, portal),
                    "direct_sa": lambda username: direct_path(service, username, portal),
                },
                counted,
            )
        links = {
            name: check_link(stack, f"{counted[name][-1]}@example.org")
            for name in ("before", "after")
        }

        slices = ["after", "before", "before", "after"]
        print(
            f"load: {args.concurrency} students at once, {args.duration / 2:.0f} s slices "
            f"{' / '.join(slices)} ...",
            flush=True,
        )
        runs = {name: LoadRun() for name in bridges}
        mails_before = len(list(stack.mail_dir.glob("*.eml")))
        for name in slices:
            # Enough fresh students for the slice, imported before it (not during it).
            pool.fill(int(args.duration / 2 * args.rate))
            load_slice(
                stack,
                proxy,
                name,
                bridges[name],
                pool,
                args.concurrency,
                args.duration / 2,
                runs[name],
            )
        pool.join()
        completed = sum(len(run.latencies) for run in runs.values())
        mails = wait_for_mail_count(stack.mail_dir, mails_before + completed) - mails_before
        database = stack.database
        keycloak_mode = "theme cache off" if args.no_theme_cache else "theme cache on"

    total_run = time.monotonic() - started_run
    report(
        args, database, keycloak_mode, (direct, direct_sa, through), calls, links, runs, pool, mails
    )
    print(f"\n(whole run: {total_run:.0f} s)")


def report(
    args: argparse.Namespace,
    database: str,
    keycloak_mode: str,
    sequential: tuple[list[float], list[float], list[float]],
    calls: dict[str, Calls],
    links: dict[str, str],
    runs: dict[str, LoadRun],
    pool: Pool,
    mails: int,
) -> None:
    direct, direct_sa, through = sequential

    def ratios(baseline: list[float]) -> str:
        r50 = percentile(through, 50) / percentile(baseline, 50)
        r95 = percentile(through, 95) / percentile(baseline, 95)
        return f"p50 {r50:.2f}x   p95 {r95:.2f}x"

    print()
    print(f"Keycloak start-dev on {database}, {keycloak_mode}; step 1 -> activation mail queued")
    print()
    print("1. sequential, one student at a time, interleaved (baseline: the same Keycloak")
    print("   calls made directly, with the realm administrator's token or the bridge's own)")
    print(f"  direct, administrator's token   : {summary(direct)}")
    print(f"  direct, bridge's service account: {summary(direct_sa)}")
    print(f"  through the bridge              : {summary(through)}")
    print(f"  ratio bridge / direct (admin)   : {ratios(direct)}")
    print(f"  ratio bridge / direct (service) : {ratios(direct_sa)}")
    print()
    before = args.before[:7]
    print(f"2. Keycloak calls per activation, through the counting proxy (before = {before})")
    order = sorted(set().union(*(c.rows for c in calls.values())), key=call_order)
    print_calls(f"before ({before}, counters in Keycloak)", calls["before"], order)
    print_calls("after (current tree, counters in Redis)", calls["after"], order)
    print_calls("direct baseline, administrator's token", calls["direct"], order)
    print_calls("direct baseline, bridge's service-account token", calls["direct_sa"], order)
    b, a = calls["before"], calls["after"]
    print(
        f"  after / before: {a.per_activation():.2f} / {b.per_activation():.2f} calls, "
        f"Keycloak answering {ms(a.keycloak_seconds())} / {ms(b.keycloak_seconds())}"
    )
    for name, verdict in links.items():
        print(f"  mail sent through the {name} proxy: {verdict}")
    print()
    print(f"3. load: {args.concurrency} concurrent students, slices after/before/before/after")
    for name, run in runs.items():
        lat = run.latencies
        rate = len(lat) / run.elapsed if run.elapsed else 0.0
        total_calls = merge(run.calls)
        under_load = Calls(len(lat), total_calls)
        print(
            f"  {name:<6} {len(lat):5d} activations in {run.elapsed:5.1f} s = {rate:5.1f}/s", end=""
        )
        if lat:
            print(
                f"   latency p50 {percentile(lat, 50) * 1000:.0f} / p95 "
                f"{percentile(lat, 95) * 1000:.0f} / p99 {percentile(lat, 99) * 1000:.0f} ms"
            )
        else:
            print()
        calls_line = "  ".join(
            f"{short(key)} {row[0] / max(len(lat), 1):.2f}"
            for key, row in sorted(under_load.rows.items(), key=lambda kv: call_order(kv[0]))
        )
        print(
            f"         calls per activation under load {under_load.per_activation():.2f}"
            f" ({calls_line}); TCP connections opened {under_load.connections()}"
        )
        shares = "  ".join(f"{part} {used / run.elapsed:.2f}" for part, used in run.cpu.items())
        print(f"         CPU cores used (of 2): {shares}")
        if lat:
            each = "  ".join(
                f"{part} {used / len(lat) * 1000:.1f}"
                for part, used in run.cpu.items()
                if part in ("bridge", "Keycloak")
            )
            print(f"         CPU ms per activation (page + post): {each}")
        print(f"         errors: {sum(run.errors.values())} {dict(run.errors) or ''}")
    after, before = runs["after"], runs["before"]
    if after.elapsed and before.elapsed and before.latencies:
        gain = (len(after.latencies) / after.elapsed) / (len(before.latencies) / before.elapsed)
        print(f"  throughput after / before: {gain:.2f}x")
    activations = len(after.latencies) + len(before.latencies)
    print(f"  mails received by the sink: {mails} (activations: {activations})")
    if pool.top_ups or any(run.ran_out for run in runs.values()):
        print(
            f"  students imported during the load: {pool.top_ups} x 500"
            + (
                "; some students waited for them (raise --rate)"
                if any(r.ran_out for r in runs.values())
                else ""
            )
        )


# The order of step 1's calls.
ORDER = (
    "POST token",
    "GET users",
    "GET users/{id}/credentials",
    "PUT users/{id}/execute-actions-email",
    "GET users/{id}",
    "PUT users/{id}",
)


def short(key: str) -> str:
    method, path = key.split(" ", 1)
    if path.endswith("/token"):
        return f"{method} token"
    return f"{method} {path.removeprefix('/admin/realms/{realm}/')}"


def call_order(key: str) -> tuple[int, str]:
    name = short(key)
    return (ORDER.index(name) if name in ORDER else len(ORDER), key)


if __name__ == "__main__":
    main()
