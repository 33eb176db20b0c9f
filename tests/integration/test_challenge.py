"""The proof of work past the threshold per client network (docs/security.md, "Proof of
work"), over HTTP against real `bridge serve` processes, the session's Keycloak, Redis and
SMTP sink. Each test posts from its own loopback address, so its network starts at zero.
The challenges are cheap (UM_CHALLENGE_COST=100) so that Python solves them in a moment."""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
from collections.abc import Iterator
from typing import Any

import altcha
import httpx
import pytest

from bridge.domain.deadlines import PARIS
from bridge.flows.challenge_policy import address_key
from bridge.web.challenge import ChallengeKeys, new_challenge
from devstack.ports import free_ports
from tests.helpers.forms import csrf_token
from tests.helpers.mailbox import mails_for, wait_for_mails
from tests.helpers.processes import bridge_replicas
from tests.helpers.report import report

THRESHOLD = 2
ENV = {"UM_CHALLENGE_AFTER": str(THRESHOLD), "UM_CHALLENGE_COST": "100"}


def fresh_address() -> str:
    """A loopback address no other test posts from (127.0.0.x is theirs)."""
    return f"127.{random.randint(10, 250)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def client(address: str) -> httpx.Client:
    return httpx.Client(
        timeout=60, transport=httpx.HTTPTransport(local_address=address), follow_redirects=False
    )


def post_form(http: httpx.Client, url: str, path: str, **fields: str) -> httpx.Response:
    """Open the page, post its form with its CSRF token (and `fields`)."""
    token = csrf_token(http.get(f"{url}{path}").text)
    return http.post(f"{url}{path}", data={"csrf_token": token, **fields})


def solved(url: str, http: httpx.Client) -> str:
    """What the widget would post: a challenge from GET /challenge, solved by the library."""
    answer = http.get(f"{url}/challenge")
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    challenge = altcha.Challenge.from_dict(answer.json())
    solution = altcha.solve_challenge(challenge)
    assert solution is not None
    return altcha.Payload(challenge, solution).to_base64()


def addresses_count(stack: Any, address: str) -> int:
    return int(stack.counter(address_key(address, 600, dt.datetime.now(PARIS))))


def mail_count(stack: Any, student: dict[str, Any]) -> int:
    today = dt.datetime.now(PARIS).date().isoformat()
    return int(stack.counter(f"mail:day:{student['id']}:{today}"))


@pytest.fixture(scope="module")
def replicas(stack: Any) -> Iterator[list[str]]:
    """Two `bridge serve` processes sharing Redis and one UM_SESSION_SECRET."""
    with bridge_replicas(stack, free_ports(2), UM_RESEND_INTERVAL="0", **ENV) as urls:
        yield urls


def test_past_the_threshold_a_post_needs_a_solved_challenge_once(
    stack: Any, make_user: Any, replicas: list[str]
) -> None:
    url, address = replicas[0], fresh_address()
    student = make_user(password=None)
    with client(address) as http:
        # Under the threshold: no widget, the posts go through.
        assert "<altcha-widget" not in http.get(f"{url}/activation").text
        for n in range(THRESHOLD):
            assert (
                post_form(http, url, "/activation", identifier=f"zzinconnu{n:03d}").status_code
                == 404
            )
        # At the threshold: the page shows the widget, and a post without a solution is
        # refused before anything is looked up or sent.
        page = http.get(f"{url}/activation")
        assert '<altcha-widget id="um-altcha" challenge="/challenge" name="altcha"' in page.text
        assert 'language="fr"' in page.text and "<noscript>" in page.text
        refused = post_form(http, url, "/activation", identifier=student["username"])
        assert refused.status_code == 429
        assert 'data-code="challenge.missing"' in refused.text
        assert 'href="/activation"' in refused.text  # back to the form
        assert "Rien n&#39;a été envoyé ni modifié" in refused.text
        assert addresses_count(stack, address) == THRESHOLD + 1  # the post was counted, only
        assert mail_count(stack, student) == 0
        time.sleep(1)
        assert not mails_for(stack.mail_dir, student["email"])

        # With a solved challenge: the flow proceeds, one mail.
        payload = solved(url, http)
        done = post_form(http, url, "/activation", identifier=student["username"], altcha=payload)
        assert done.status_code == 303 and done.headers["Location"] == "/activation/mail-sent"
        wait_for_mails(stack.mail_dir, student["email"])
        assert mail_count(stack, student) == 1

        # The same solution again, on the resend form: refused, nothing sent.
        mail_sent = http.get(f"{url}/activation/mail-sent")
        assert "<altcha-widget" in mail_sent.text
        token = csrf_token(mail_sent.text)
        replayed = http.post(
            f"{url}/activation/resend", data={"csrf_token": token, "altcha": payload}
        )
        assert replayed.status_code == 429
        assert 'data-code="challenge.refused"' in replayed.text
        assert 'href="/activation/mail-sent"' in replayed.text
        # A fresh one: the resend goes out.
        resent = http.post(
            f"{url}/activation/resend", data={"csrf_token": token, "altcha": solved(url, http)}
        )
        assert resent.status_code == 303
        wait_for_mails(stack.mail_dir, student["email"], count=2)
    time.sleep(1)
    assert len(mails_for(stack.mail_dir, student["email"])) == 2
    assert mail_count(stack, student) == 2


def test_a_challenge_signed_with_another_key_is_refused(
    stack: Any, make_user: Any, replicas: list[str]
) -> None:
    url, address = replicas[0], fresh_address()
    student = make_user(password=None)
    stranger = ChallengeKeys.from_secret(secrets.token_urlsafe(32))
    challenge = altcha.Challenge.from_dict(new_challenge(stranger, 100))
    solution = altcha.solve_challenge(challenge)
    assert solution is not None
    forged = altcha.Payload(challenge, solution).to_base64()
    with client(address) as http:
        for n in range(THRESHOLD):
            post_form(http, url, "/lost-password", login=f"zzinconnu{n:03d}")
        answer = post_form(http, url, "/lost-password", login=student["username"], altcha=forged)
    assert answer.status_code == 429
    assert 'data-code="challenge.refused"' in answer.text
    time.sleep(2)  # lost password mails after answering: nothing must follow
    assert not mails_for(stack.mail_dir, student["email"])
    assert mail_count(stack, student) == 0


def test_a_solution_used_on_one_replica_is_refused_on_the_other(
    stack: Any, make_user: Any, replicas: list[str]
) -> None:
    first, second = replicas
    address = fresh_address()
    students = [make_user(password=None) for _ in range(3)]
    with client(address) as http:
        for n in range(THRESHOLD):
            post_form(http, first, "/activation", identifier=f"zzinconnu{n:03d}")
        # A challenge from replica A solves a post on replica B (one key, derived from the
        # secret they share) ...
        payload = solved(first, http)
        on_b = post_form(
            http, second, "/activation", identifier=students[0]["username"], altcha=payload
        )
        assert on_b.status_code == 303
        # ... once: neither replica takes it again.
        again_a = post_form(
            http, first, "/activation", identifier=students[1]["username"], altcha=payload
        )
        again_b = post_form(
            http, second, "/activation", identifier=students[2]["username"], altcha=payload
        )
    assert again_a.status_code == again_b.status_code == 429
    assert 'data-code="challenge.refused"' in again_a.text
    wait_for_mails(stack.mail_dir, students[0]["email"])
    time.sleep(1)
    assert not mails_for(stack.mail_dir, students[1]["email"])
    assert not mails_for(stack.mail_dir, students[2]["email"])
    report("proof of work: one solution used on replica B, refused on A and on B afterwards")


def test_the_hard_ceiling_stays(stack: Any) -> None:
    """Past UM_ADDRESS_LIMIT even a solved challenge gets the per-address refusal."""
    with bridge_replicas(stack, free_ports(1), UM_ADDRESS_LIMIT="3/600", **ENV) as [url]:
        address = fresh_address()
        with client(address) as http:
            statuses = [
                post_form(
                    http,
                    url,
                    "/activation",
                    identifier=f"zzinconnu{n:03d}",
                    altcha=solved(url, http),
                ).status_code
                for n in range(4)
            ]
            last = post_form(
                http, url, "/activation", identifier="zzinconnu999", altcha=solved(url, http)
            )
    assert statuses == [404, 404, 404, 429], statuses
    assert "Trop de demandes depuis votre connexion" in last.text
