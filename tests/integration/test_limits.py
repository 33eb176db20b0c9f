"""The limits under attack (docs/security.md): counted once across replicas, given back when
nothing was sent, believed only from the trusted proxy, and no stale write undoing a change.
Real parts: two `bridge serve` processes, Redis, Keycloak, the SMTP sink, nginx."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from bridge.domain.deadlines import PARIS
from bridge.gateway.keycloak import ProvisioningGateway, StudentsGateway
from devstack.ports import free_ports
from devstack.redis import RedisInstance
from tests.helpers.forms import csrf_token
from tests.helpers.mailbox import mails_for
from tests.helpers.processes import bridge_replicas, nginx_in_front
from tests.helpers.report import report


def ask_activation(url: str, identifier: str, **client: Any) -> int:
    with httpx.Client(timeout=60, **client) as http:
        token = csrf_token(http.get(f"{url}/activation").text)
        answer = http.post(
            f"{url}/activation", data={"csrf_token": token, "identifier": identifier}
        )
    return answer.status_code


def test_fifty_parallel_requests_over_two_replicas_send_exactly_the_limit(
    stack: Any, make_user: Any
) -> None:
    student = make_user(password=None)
    with (
        bridge_replicas(stack, free_ports(2), UM_MAILS_PER_DAY="5", UM_RESEND_INTERVAL="0") as urls,
        ThreadPoolExecutor(max_workers=50) as pool,
    ):
        statuses = list(
            pool.map(lambda n: ask_activation(urls[n % 2], student["username"]), range(50))
        )
    assert statuses.count(303) == 5, statuses
    assert statuses.count(429) == 45, statuses
    today = dt.datetime.now(PARIS).date().isoformat()
    assert stack.counter(f"mail:day:{student['id']}:{today}") == 5
    deadline = time.monotonic() + 30
    while len(mails_for(stack.mail_dir, student["email"])) < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2)  # and no sixth one arrives late
    report(
        f"limits: 50 parallel activations for one account over 2 replicas: "
        f"{statuses.count(303)} sent, {statuses.count(429)} refused, "
        f"{len(mails_for(stack.mail_dir, student['email']))} mails"
    )
    assert len(mails_for(stack.mail_dir, student["email"])) == 5


def test_counters_down_means_503_and_nothing_sent(
    stack: Any, make_user: Any, tmp_path: Path
) -> None:
    student = make_user(password=None)
    counters = RedisInstance(tmp_path / "redis", free_ports(1)[0])
    counters.start()
    try:
        with bridge_replicas(stack, free_ports(1), UM_REDIS_URL=counters.url) as [url]:
            counters.stop()
            status = ask_activation(url, student["username"])
            ready = httpx.get(f"{url}/readyz", timeout=30)
    finally:
        counters.stop()
    assert status == 503
    assert ready.status_code == 503 and ready.json()["component"] == "counters"
    time.sleep(1)
    assert not mails_for(stack.mail_dir, student["email"])


def test_a_spoofed_forwarded_for_resets_no_limit(stack: Any, tmp_path: Path) -> None:
    """Through Debian's nginx with the repository's proxy settings: the client writes any
    X-Forwarded-For it likes, the bridge counts the address nginx saw."""
    bridge_port, nginx_port = free_ports(2)
    with (
        bridge_replicas(
            stack, [bridge_port], UM_TRUSTED_PROXIES="127.0.0.1", UM_ADDRESS_LIMIT="3/600"
        ) as [url],
        nginx_in_front(tmp_path / "nginx", nginx_port, url) as proxy,
    ):
        client = {"transport": httpx.HTTPTransport(local_address="127.0.0.2")}
        statuses = [
            ask_activation(
                proxy, f"zzinconnu{n:03d}", headers={"X-Forwarded-For": f"10.9.8.{n}"}, **client
            )
            for n in range(5)
        ]
        # Straight to the bridge, not from the proxy: the header is not believed at all
        # (were it, 127.0.0.2 would already be over its limit).
        direct = ask_activation(
            url,
            "zzinconnu999",
            headers={"X-Forwarded-For": "127.0.0.2"},
            transport=httpx.HTTPTransport(local_address="127.0.0.3"),
        )
    assert statuses == [404, 404, 404, 429, 429], statuses
    assert direct == 404


@pytest.mark.anyio
async def test_expiry_and_mail_bookkeeping_never_re_enable(
    stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """The expiry job disables while the bridge records a mail on the same account (the
    limits let one mail an account at a time): only what each write changes is sent, so the
    bookkeeping's copy never turns the account back on. Ten rounds of the race."""
    bridge = StudentsGateway.service_account(
        stack.url, "um", "bridge", stack.secrets["UM_BRIDGE_CLIENT_SECRET"]
    )
    jobs = ProvisioningGateway.service_account(
        stack.url, "um", "provisioning", stack.secrets["UM_PROVISIONING_CLIENT_SECRET"]
    )
    for _ in range(10):
        student = make_user(password=None)
        account = await bridge.get_account(student["id"])
        now = dt.datetime.now(PARIS)
        _, disabled, _ = await asyncio.gather(
            bridge.record_mail_sent(account, now),
            jobs.disable_expired(account),
            bridge.record_mail_sent(account, now),
        )
        assert disabled is True
        stored = admin.get(f"/users/{student['id']}").json()
        assert stored["enabled"] is False
        assert stored["attributes"]["umLastMailAt"]
