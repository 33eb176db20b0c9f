"""`python -m devstack`: the local dev tooling (run it from the checkout's root)."""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devstack.cluster import Formation, KeycloakCluster


def cmd_keycloak_fetch(args: argparse.Namespace) -> int:
    from devstack.keycloak import fetch_distribution, selected_version

    started = time.monotonic()
    version = selected_version()
    home = fetch_distribution(version)
    print(f"Keycloak {version} ready at {home} ({time.monotonic() - started:.1f}s)")
    return 0


def cmd_keycloak_start(args: argparse.Namespace) -> int:
    from devstack.keycloak import KeycloakInstance

    instance = KeycloakInstance(
        Path(args.dir), http_port=args.port, management_port=args.management_port
    )
    started = time.monotonic()
    instance.install(fresh=args.fresh)
    instance.start()
    print(
        f"Keycloak ready on {instance.url} in {time.monotonic() - started:.1f}s "
        f"(JDK {instance.java_major}); Ctrl-C stops it",
        flush=True,
    )
    try:
        while instance.process and instance.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        instance.stop()
    return 0


def cmd_mail_sink(args: argparse.Namespace) -> int:
    from devstack.mailsink import start_mail_sink

    sink = start_mail_sink(Path(args.dir), port=args.port)
    print(f"SMTP sink on 127.0.0.1:{args.port}, storing into {args.dir}; Ctrl-C stops it")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    from devstack.stack import run_dev

    with contextlib.suppress(KeyboardInterrupt):
        run_dev(fresh=args.fresh)
    return 0


def cmd_totp(args: argparse.Namespace) -> int:
    """The code an authenticator app set up with the demo staff member's key shows now."""
    from devstack.stack import SECRETS_FILE, STAFF_TOTP_SECRET, load_or_create_secrets
    from devstack.totp import PERIOD, totp

    secret = args.secret
    if secret is None:
        if not SECRETS_FILE.is_file():
            print(f"no {SECRETS_FILE}: start `make dev` once, or pass --secret", file=sys.stderr)
            return 1
        secret = load_or_create_secrets(SECRETS_FILE)[STAFF_TOTP_SECRET]
    left = PERIOD - int(time.time()) % PERIOD
    print(f"{totp(secret)}  (the app shows it {left} s more; Keycloak takes it 30 s longer)")
    return 0


def _user_events(cluster: KeycloakCluster, i: int) -> list[str]:
    """A sign-in of the bootstrap admin through node i as a browser behind the proxy
    would make it (authorization code with PKCE, for the admin console), one with a
    wrong password, and a refresh: then the node's keycloak_user_events_total lines."""
    import base64
    import hashlib
    import html
    import re
    import secrets

    import httpx

    node = cluster.nodes[i]
    public = cluster.public_url.rstrip("/")
    parts = public.split("://", 1)
    # This client is on 127.0.0.1, the address the node trusts as its proxy: what the
    # proxy would forward.
    forwarded = {"X-Forwarded-Proto": parts[0], "X-Forwarded-Host": parts[1]}
    redirect = f"{public}/admin/master/console/"
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    cookies: dict[str, str] = {}

    def call(
        method: str,
        url: str,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
    ) -> httpx.Response:
        # Keycloak's cookies are Secure; the hop to the node is plain HTTP, where a cookie
        # jar would not send them: kept by hand.
        headers = {**forwarded, "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
        response = httpx.request(method, url, headers=headers, params=params, data=data, timeout=30)
        for value in response.headers.get_list("set-cookie"):
            name, _, rest = value.partition("=")
            cookies[name] = rest.split(";", 1)[0]
        return response

    def sign_in(password: str) -> httpx.Response:
        page = call(
            "GET",
            f"{node.url}/realms/master/protocol/openid-connect/auth",
            params={
                "client_id": "security-admin-console",
                "redirect_uri": redirect,
                "response_type": "code",
                "scope": "openid",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            },
        )
        page.raise_for_status()
        match = re.search(r'action="([^"]+)"', page.text)
        if not match:
            raise RuntimeError("no login form on the sign-in page")
        action = html.unescape(match.group(1)).replace(public, node.url, 1)
        return call("POST", action, data={"username": node.admin_user, "password": password})

    sign_in("not-the-password")
    answer = sign_in(node.admin_password)
    location = answer.headers.get("location", "")
    code = re.search(r"[?&]code=([^&]+)", location)
    if answer.status_code != 302 or not code:
        raise RuntimeError(
            f"sign-in refused ({answer.status_code}): {location or answer.text[:200]}"
        )
    token_url = f"{node.url}/realms/master/protocol/openid-connect/token"
    tokens = call(
        "POST",
        token_url,
        data={
            "grant_type": "authorization_code",
            "client_id": "security-admin-console",
            "code": code.group(1),
            "redirect_uri": redirect,
            "code_verifier": verifier,
        },
    )
    tokens.raise_for_status()
    call(
        "POST",
        token_url,
        data={
            "grant_type": "refresh_token",
            "client_id": "security-admin-console",
            "refresh_token": tokens.json()["refresh_token"],
        },
    ).raise_for_status()
    return [
        line
        for line in cluster.metrics(i).splitlines()
        if line.startswith("keycloak_user_events_total")
    ]


def _serves(cluster: KeycloakCluster, i: int, say: Callable[[str], None]) -> bool:
    """Node i answers the realm's discovery document and says it is ready."""
    import httpx

    node = cluster.nodes[i]
    discovery = httpx.get(f"{node.url}/realms/um/.well-known/openid-configuration", timeout=10)
    ready = httpx.get(f"{node.management_url}/health/ready", timeout=10)
    document = discovery.json() if discovery.status_code == 200 else {}
    say(
        f"  node{i + 1}: openid-configuration {discovery.status_code} (issuer "
        f"{document.get('issuer')}, token endpoint {document.get('token_endpoint')}); "
        f"/health/ready {ready.status_code} {ready.json().get('status')}"
    )
    if discovery.status_code == 200 and ready.status_code == 200:
        return True
    say(f"  node{i + 1} does not serve: FAILED")
    return False


def cmd_cluster(args: argparse.Namespace) -> int:
    """A two-node cluster behind a (dummy) proxy URL: formed, node 2 killed, node 1 still
    serving, node 2 restarted, formed again; the evidence and the timings."""
    from devstack.cluster import CLUSTER_SIZE_METRIC, KeycloakCluster

    def say(text: str) -> None:
        print(text, flush=True)

    def show(formation: Formation) -> None:
        for i, size in formation.sizes.items():
            say(f"  node{i + 1}: {CLUSTER_SIZE_METRIC} = {size}")
            for line in formation.views.get(i, [])[-args.view_lines :]:
                say(f"    {line}")

    if args.nodes < 2:
        print("a cluster check needs 2 nodes or more", file=sys.stderr)
        return 2
    created = time.monotonic()
    cluster = KeycloakCluster.create(Path(args.dir), args.public_url, size=args.nodes)
    say(f"installed {args.nodes} nodes under {args.dir} in {time.monotonic() - created:.1f}s")
    try:
        cluster.start()
        for i, node in enumerate(cluster.nodes):
            say(f"node{i + 1}: {node.url} (management {node.management_url}), {node.mode}")
        formation = cluster.wait_formed(args.nodes)
        say(f"formed ({args.nodes}) {formation.waited:.1f}s after the last node was ready:")
        show(formation)

        say("user event metrics on node1 after a failed and a good sign-in and a refresh:")
        for line in _user_events(cluster, 0):
            say(f"  {line}")

        last = len(cluster.nodes) - 1
        killed = time.monotonic()
        cluster.kill(last)
        say(f"node{last + 1} killed (SIGKILL)")
        formation = cluster.wait_formed(args.nodes - 1)
        cluster.timings[f"view without node{last + 1}"] = time.monotonic() - killed
        say(f"the others saw it gone after {time.monotonic() - killed:.1f}s:")
        show(formation)
        if not all(_serves(cluster, i, say) for i in cluster.running):
            return 1
        say(f"a sign-in through node1 with node{last + 1} gone:")
        for line in _user_events(cluster, 0):
            if 'event="login"' in line or 'event="code_to_token"' in line:
                say(f"  {line}")

        restarted = time.monotonic()
        cluster.restart(last)
        formation = cluster.wait_formed(args.nodes)
        cluster.timings[f"rejoin node{last + 1}"] = time.monotonic() - restarted
        ready_in = cluster.timings[f"restart node{last + 1}"]
        say(
            f"node{last + 1} restarted: ready in {ready_in:.1f}s, "
            f"cluster of {args.nodes} again {formation.waited:.1f}s later:"
        )
        show(formation)
        if not all(_serves(cluster, i, say) for i in cluster.running):
            return 1
        say("timings (s):")
        for name, seconds in cluster.timings.items():
            say(f"  {name}: {seconds:.1f}")
    finally:
        cluster.stop()
        say("stopped")
    return 0


def cmd_shape(args: argparse.Namespace) -> int:
    """docker-compose.yml's deployment, natively, until Ctrl-C (what the production-shape
    stage of `make test` starts): to try it by hand, or to look at what a test saw."""
    import signal

    from devstack.shape import ProductionShape

    shape = ProductionShape(Path(args.dir), replicas=args.replicas, nodes=args.nodes)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        shape.start()
        print(f"bridge (students, console, portal): {shape.bridge_url}/", flush=True)
        print(f"Keycloak's public host:             {shape.keycloak_url}/realms/um/account")
        print(f"internal route (admin console):     {shape.internal_url}/admin/")
        admin = shape.values["KC_BOOTSTRAP_ADMIN_PASSWORD"]
        print(f"administrator:                      admin / {admin}")
        print(f"trust the run's CA in your browser: {shape.tls.ca}")
        print(f"mails: {shape.mail_dir}; logs and the .env: {shape.run_dir}")
        for what, seconds in shape.timings.items():
            print(f"  {what}: {seconds:.1f}s")
        print("Ctrl-C stops everything.", flush=True)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        shape.stop()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    keycloak = sub.add_parser("keycloak", help="the pinned Keycloak: fetch or start it locally")
    kc_sub = keycloak.add_subparsers(dest="action", required=True)
    fetch = kc_sub.add_parser("fetch", help="download (Maven), verify and unpack once")
    fetch.set_defaults(func=cmd_keycloak_fetch)
    start = kc_sub.add_parser("start", help="start an instance with the realm and the theme")
    start.add_argument("--dir", default="var/keycloak")
    start.add_argument("--port", type=int, default=8080)
    start.add_argument("--management-port", type=int, default=9000)
    start.add_argument("--fresh", action="store_true", help="drop the instance's data first")
    start.set_defaults(func=cmd_keycloak_start)

    sink = sub.add_parser("mail-sink", help="the dev SMTP sink (.eml files)")
    sink.add_argument("--port", type=int, default=1025)
    sink.add_argument("--dir", default="var/mail")
    sink.set_defaults(func=cmd_mail_sink)

    dev = sub.add_parser("dev", help="the whole stack locally, with demo data (make dev)")
    dev.add_argument("--fresh", action="store_true", help="drop dev data and re-import the realm")
    dev.set_defaults(func=cmd_dev)

    cluster = sub.add_parser(
        "cluster",
        help="a Keycloak cluster behind a (dummy) proxy URL: form it, kill a node, restart it",
    )
    cluster.add_argument("--dir", default="var/cluster")
    cluster.add_argument("--nodes", type=int, default=2)
    cluster.add_argument(
        "--public-url", default="https://localhost:18443", help="the proxy's URL (--hostname)"
    )
    cluster.add_argument("--view-lines", type=int, default=3, help="ISPN000094 lines per node")
    cluster.set_defaults(func=cmd_cluster)

    shape = sub.add_parser(
        "shape", help="docker-compose.yml's deployment, natively (nginx, replicas, cluster)"
    )
    shape.add_argument("--dir", default="var/shape")
    shape.add_argument("--replicas", type=int, default=2)
    shape.add_argument("--nodes", type=int, default=2)
    shape.set_defaults(func=cmd_shape)

    code = sub.add_parser(
        "totp", help="the demo staff member's current one-time code (the key of make dev)"
    )
    code.add_argument("--secret", help="another base32 key than var/dev/secrets.env's")
    code.set_defaults(func=cmd_totp)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
