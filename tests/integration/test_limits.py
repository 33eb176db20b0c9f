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
from bridge.gateway.redis_counters import RedisCounters
from devstack.ports import free_ports
from devstack.redis import RedisInstance
from tests.helpers.accounts import ine_of
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
        bridge_replicas(
            stack, free_ports(2), UM_MAILS_PER_NETWORK="5", UM_RESEND_INTERVAL="0"
        ) as urls,
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


def test_fifty_networks_in_parallel_send_exactly_the_account_ceiling(
    stack: Any, make_user: Any
) -> None:
    """Strangers spread over fifty networks (each within its own allowance), over two
    replicas: the account's ceiling still holds, the rescue mailbox gets exactly 10."""
    student = make_user(password=None)
    ceiling = 10
    with (
        bridge_replicas(
            stack, free_ports(2), UM_TRUSTED_PROXIES="127.0.0.1", UM_RESEND_INTERVAL="0"
        ) as urls,
        ThreadPoolExecutor(max_workers=50) as pool,
    ):
        statuses = list(
            pool.map(
                lambda n: ask_activation(
                    urls[n % 2], student["username"], headers=from_network(f"198.51.100.{n}")
                ),
                range(50),
            )
        )
    assert statuses.count(303) == ceiling, statuses
    assert statuses.count(429) == 50 - ceiling, statuses
    deadline = time.monotonic() + 30
    while (
        len(mails_for(stack.mail_dir, student["email"])) < ceiling and time.monotonic() < deadline
    ):
        time.sleep(0.2)
    time.sleep(2)
    mails = len(mails_for(stack.mail_dir, student["email"]))
    report(f"limits: 50 parallel activations from 50 networks over 2 replicas: {mails} mails")
    assert mails == ceiling


def test_a_stranger_cannot_use_up_the_students_allowance(stack: Any, make_user: Any) -> None:
    """Someone who knows the identifier asks, again and again, from one network: mails stop
    there after three; the student, from home, still gets one. Wrong INEs likewise: the
    stranger's network is locked for the day, the student's right INE still goes through."""
    with_mail, without_mail = (
        make_user(password=None),
        make_user(password=None, email=None, emailVerified=False),
    )
    stranger, home = from_network("203.0.113.66"), from_network("192.0.2.10")
    with bridge_replicas(
        stack,
        free_ports(2),
        UM_TRUSTED_PROXIES="127.0.0.1",
        UM_RESEND_INTERVAL="0",
        UM_INE_BACKOFF="0",
    ) as [one, two]:
        asked = [ask_activation(one, with_mail["username"], headers=stranger) for _ in range(6)]
        assert asked == [303, 303, 303, 429, 429, 429]
        assert ask_activation(two, with_mail["username"], headers=home) == 303

        wrong = [try_ine(one, without_mail["username"], OTHER_INE, stranger) for _ in range(6)]
        assert wrong == [400] * 5 + [429]
        assert try_ine(two, without_mail["username"], ine_of(without_mail), stranger) == 429
        assert try_ine(two, without_mail["username"], ine_of(without_mail), home) == 303
    deadline = time.monotonic() + 30
    while len(mails_for(stack.mail_dir, with_mail["email"])) < 4 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    assert len(mails_for(stack.mail_dir, with_mail["email"])) == 4


def from_network(address: str) -> dict[str, str]:
    """Through the trusted proxy (the replicas trust 127.0.0.1, the tests' own address)."""
    return {"X-Forwarded-For": address}


OTHER_INE = "1234567890V"  # a valid BEA key, no test student's


def try_ine(url: str, identifier: str, ine: str, headers: dict[str, str]) -> int:
    with httpx.Client(timeout=60, headers=headers) as http:
        token = csrf_token(http.get(f"{url}/activation").text)
        started = http.post(
            f"{url}/activation", data={"csrf_token": token, "identifier": identifier}
        )
        assert started.headers["Location"] == "/activation/ine", started.status_code
        answer = http.post(f"{url}/activation/ine", data={"csrf_token": token, "ine": ine})
    return answer.status_code


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
async def test_expiry_and_a_wizard_write_never_re_enable(
    stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    """The expiry job disables while the wizard writes a rescue address on the same account
    (from an account read before the expiry). Keycloak writes a user's whole row without a
    version check, so two overlapping writes lose one (measured: without turns, runs of
    ten races lost the address or the disabling): the bridge and the jobs
    take turns on the account in the shared store, as deployed, and each write sends only
    what it changes. Ten rounds: the account ends disabled, with the new address."""
    turns = RedisCounters(stack.redis_url)
    bridge = StudentsGateway.service_account(
        stack.url, "um", "bridge", stack.secrets["UM_BRIDGE_CLIENT_SECRET"]
    ).serialize_writes(turns)
    jobs = ProvisioningGateway.service_account(
        stack.url, "um", "provisioning", stack.secrets["UM_PROVISIONING_CLIENT_SECRET"]
    ).serialize_writes(turns)
    for _ in range(10):
        student = make_user(password=None)
        account = await bridge.get_account(student["id"])
        address = f"course.{student['username']}@example.net"
        _, disabled = await asyncio.gather(
            bridge.set_rescue_email(account, address), jobs.disable_expired(account)
        )
        assert disabled is True
        stored = admin.get(f"/users/{student['id']}").json()
        assert stored["enabled"] is False
        assert stored["email"] == address
