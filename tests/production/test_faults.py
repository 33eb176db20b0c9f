"""Faults in the deployment, nothing lost: a Keycloak node killed (`kill -9`) after the
activation mail left, a bridge replica killed mid-wizard, Redis restarted mid-flow, fifty
parallel requests spread over both replicas against one limit; the killed node rejoins."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from devstack.shape import ProductionShape
from tests.helpers.accounts import ine_of
from tests.helpers.activation import follow, post, start
from tests.helpers.browserless import browser, page_text
from tests.helpers.forms import csrf_token
from tests.helpers.keycloak_pages import NEW_PASSWORD, signs_in, use_link, use_link_in
from tests.helpers.mailbox import action_link, mails_for, wait_for_mails
from tests.helpers.report import report

REFUSED = ("expiré ou a déjà servi", "a expiré")


def test_a_keycloak_node_lost_after_the_mail_then_back(
    shape: ProductionShape, bridge: Any, make_user: Any, network: str
) -> None:
    """The link works through the other node; once the killed node is back in the cluster,
    replaying the link is refused by both nodes (its single use is the cluster's)."""
    assert shape.cluster
    student = make_user(password=None, emailVerified=False)
    with browser(local_address=network) as client:
        start(client, bridge, student["username"])
    link = action_link(wait_for_mails(shape.mail_dir, student["email"])[0])

    shape.cluster.kill(0)
    with browser(local_address=network) as client:
        done = use_link_in(client, link, NEW_PASSWORD)
    assert "votre mot de passe est enregistré" in page_text(done.text), done.text[-1500:]
    assert signs_in(bridge.url, student["username"], NEW_PASSWORD)

    seconds = shape.cluster.restart(0)
    formation = shape.cluster.wait_formed(2)
    report(f"production shape: killed node back and cluster of 2 again in {seconds:.0f}s")
    for i, lines in formation.views.items():
        last = lines[-1].split("ISPN000094: ", 1)[-1] if lines else "(none)"
        report(f"production shape: node {i + 1} says size {formation.sizes[i]}, {last}")
    for node in shape.cluster.nodes:
        # Straight to each node, past nginx: the same path and query.
        direct = link.replace(shape.keycloak_url, node.url)
        with browser() as client:
            replay = use_link_in(client, direct, "Autre-mdp-2026")
        assert any(words in page_text(replay.text) for words in REFUSED), (
            node.url,
            page_text(replay.text)[-600:],
        )
    assert signs_in(bridge.url, student["username"], NEW_PASSWORD)


def test_a_replica_killed_mid_wizard(
    shape: ProductionShape, bridge: Any, make_user: Any, network: str
) -> None:
    """Step 1 and the INE page on both replicas; one is killed with `kill -9`; the INE and
    the rescue address go through the other, and the mail leaves."""
    student = make_user(password=None, email=None, emailVerified=False)
    with browser(local_address=network) as client:
        answer = start(client, bridge, student["username"])
        assert answer.headers["Location"] == "/activation/ine", answer.status_code
        assert "Étape 4" in page_text(follow(client, bridge, answer).text)
        shape.kill_bridge(0)
        try:
            proven = post(client, bridge, "/activation/ine", ine=ine_of(student))
            assert proven.headers.get("Location") == "/activation/rescue-email", proven.text[-500:]
            address = f"perso.{student['username']}@example.net"
            done = post(
                client, bridge, "/activation/rescue-email", email=address, email_confirm=address
            )
            assert "Consultez votre messagerie" in page_text(follow(client, bridge, done).text)
        finally:
            shape.start_bridge(0)
    wait_for_mails(shape.mail_dir, address)


def test_redis_restarted_mid_flow(
    shape: ProductionShape, bridge: Any, make_user: Any, network: str
) -> None:
    """While the counters are down: a clear 503 in French, nothing sent; once Redis is
    back, the same student's next try goes through (the counters start afresh: they are
    short-lived by design, docs/security.md)."""
    assert shape.redis
    student = make_user(password=None)
    with browser(local_address=network) as client:
        client.um_csrf = csrf_token(client.get(f"{bridge.url}/activation").text)  # type: ignore[attr-defined]
        shape.redis.stop()
        try:
            down = post(client, bridge, "/activation", identifier=student["username"])
            assert down.status_code == 503, down.status_code
            assert "Le service des comptes ne répond pas pour le moment" in page_text(down.text)
            for i in range(shape.replicas):
                ready = httpx.get(f"{shape.replica_url(i)}/readyz", timeout=30)
                assert ready.status_code == 503 and ready.json()["component"] == "counters"
        finally:
            shape.redis.start()
        time.sleep(1)
        assert not mails_for(shape.mail_dir, student["email"])
        again = start(client, bridge, student["username"])
        assert again.status_code == 303, again.status_code
        assert "Consultez votre messagerie" in page_text(follow(client, bridge, again).text)
    wait_for_mails(shape.mail_dir, student["email"])


def test_fifty_parallel_requests_over_both_replicas_hold_the_limits(
    shape: ProductionShape, make_user: Any, network: str
) -> None:
    """Fifty step-1 posts at once for one student, through nginx, which spreads them over
    both replicas: one mail (the resend interval), forty-nine refusals. Then twenty wrong
    INEs at once: the network's five failures on the account, exactly."""
    student = make_user(password=None)

    def ask(identifier: str) -> int:
        transport = httpx.HTTPTransport(local_address=network)
        with httpx.Client(timeout=60, transport=transport) as client:
            token = csrf_token(client.get(f"{shape.bridge_url}/activation").text)
            answer = client.post(
                f"{shape.bridge_url}/activation",
                data={"csrf_token": token, "identifier": identifier},
            )
        return answer.status_code

    before = served_by_replica(shape)
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(ask, [student["username"]] * 50))
    assert statuses.count(303) == 1 and statuses.count(429) == 49, statuses
    served = {name: count - before[name] for name, count in served_by_replica(shape).items()}
    assert all(count > 0 for count in served.values()), served
    time.sleep(2)
    assert len(mails_for(shape.mail_dir, student["email"])) == 1

    # Twenty wrong INEs at once on one account, from one network: five count, the rest
    # are refused before the INE is compared.
    without_mail = make_user(password=None, email=None, emailVerified=False)

    def wrong_ine(_: int) -> int:
        transport = httpx.HTTPTransport(local_address=network)
        with httpx.Client(timeout=60, transport=transport) as client:
            token = csrf_token(client.get(f"{shape.bridge_url}/activation").text)
            started = client.post(
                f"{shape.bridge_url}/activation",
                data={"csrf_token": token, "identifier": without_mail["username"]},
            )
            assert started.headers["Location"] == "/activation/ine", started.status_code
            answer = client.post(
                f"{shape.bridge_url}/activation/ine", data={"csrf_token": token, "ine": OTHER_INE}
            )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        ine_statuses = list(pool.map(wrong_ine, range(20)))
    assert ine_statuses.count(400) == 5 and ine_statuses.count(429) == 15, ine_statuses
    report(
        f"production shape: 50 parallel step-1 posts for one student through nginx over "
        f"{served}: 1 mail, 49 refused; 20 parallel wrong INEs: 5 counted, 15 refused"
    )


OTHER_INE = "1234567890V"  # a valid BEA key, no test student's


def served_by_replica(shape: ProductionShape) -> dict[str, int]:
    """POST /activation lines in each replica's access log (uvicorn's)."""
    counts = {}
    for i in range(shape.replicas):
        log = (shape.run_dir / f"bridge-{i + 1}.log").read_text(errors="replace")
        counts[f"bridge-{i + 1}"] = log.count('"POST /activation HTTP')
    return counts


def test_a_link_used_once_is_refused_after_a_node_is_lost(
    shape: ProductionShape, bridge: Any, make_user: Any, network: str
) -> None:
    """The other way round: used while both nodes run, refused by the survivor."""
    assert shape.cluster
    student = make_user(password=None)
    with browser(local_address=network) as client:
        start(client, bridge, student["username"])
    link = action_link(wait_for_mails(shape.mail_dir, student["email"])[0])
    assert "votre mot de passe est enregistré" in page_text(use_link(link).text)
    shape.cluster.kill(1)
    try:
        replay = use_link(link, "Autre-mdp-2026")
        assert any(words in page_text(replay.text) for words in REFUSED), replay.text[-600:]
    finally:
        shape.cluster.restart(1)
        shape.cluster.wait_formed(2)
