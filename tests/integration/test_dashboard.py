"""The staff activation dashboard against the real Keycloak and Redis: real flows move its
counts by exactly what they did; only staff reach it; the CSV carries counts only; hostile
periods get a worded 400; two processes counting in the same hour add up exactly."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import multiprocessing
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.cli.common import EXIT_OK
from bridge.cli.scheduling import JobResult, run_scheduled
from bridge.domain.dashboard import MEASURES, hour_key
from bridge.domain.deadlines import PARIS
from bridge.gateway.activity_counts import PREFIX, ActivityCounts, add_counts
from bridge.settings import JobSettings
from tests.helpers.activation import follow, post, start
from tests.helpers.browserless import browser, submit_login
from tests.helpers.console import console_login
from tests.helpers.hostile import query_strings
from tests.helpers.keycloak_pages import NEW_PASSWORD, signs_in, use_link
from tests.helpers.lost_password import ask, settle
from tests.helpers.mailbox import action_link, wait_for_mails

PAGE = "/console/tableau-de-bord"
PATHS = (PAGE, f"{PAGE}.csv")
TOTAL = re.compile(r'id="um-dashboard-total-([a-z_]+)">(\d+)<')


@pytest.fixture
def staff(make_user: Any) -> dict[str, Any]:
    return make_user(groups=("/staff",), password="Staff-pass-2026!")


@pytest.fixture
def console(bridge_url: str, staff: dict[str, Any]) -> Iterator[httpx.Client]:
    with browser() as client:
        landed = console_login(
            client, bridge_url, staff["username"], staff["password"], staff["otp_secret"]
        )
        assert landed.status_code == 303
        yield client


def totals(console: httpx.Client, bridge_url: str) -> dict[str, int]:
    # The last 7 days: a test that runs across midnight still sees both days.
    page = console.get(f"{bridge_url}{PAGE}", params={"preset": "7d"})
    assert page.status_code == 200, page.text[:500]
    found = {name: int(value) for name, value in TOTAL.findall(page.text)}
    assert set(found) == set(MEASURES)
    return found


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {m: after[m] - before[m] for m in MEASURES if after[m] != before[m]}


def test_real_flows_move_the_counts_by_exactly_what_they_did(
    console: httpx.Client, bridge: Any, stack: Any, make_user: Any, admin: httpx.Client
) -> None:
    student = make_user(password=None)  # a rescue address on file: step 3 mails at once
    other = make_user(password=None)
    before = totals(console, bridge.url)

    with browser() as client:
        assert follow(client, bridge, start(client, bridge, student["username"])).status_code == 200
        assert post(client, bridge, "/activation/resend").status_code == 429  # too soon
        assert start(client, bridge, f"zz{uuid.uuid4().hex[:8]}").status_code == 404
    link = action_link(wait_for_mails(stack.mail_dir, student["email"])[-1])
    assert "votre mot de passe est enregistré" in use_link(link).text
    assert signs_in(bridge.url, student["username"], NEW_PASSWORD)
    assert signs_in(bridge.url, student["username"], NEW_PASSWORD)  # a second: not a first
    use_link(link)  # used again: refused by Keycloak, still a link used
    with browser() as client:
        assert ask(client, bridge, other["username"]).status_code in (200, 303)
    settle(bridge)
    # Keycloak's brute-force detection (realm: 10 failures) locks the account once.
    for _ in range(10):
        with browser() as client:
            login = client.get(f"{bridge.url}/portal/login")
            submit_login(
                client, client.get(login.headers["Location"]), student["username"], "Wrong-pass-1"
            )

    after = totals(console, bridge.url)
    assert moved(before, after) == {
        "lookups": 2,  # the student's, the unknown identifier
        "mails_sent": 1,
        "links_opened": 2,  # used, then refused as used
        "passwords_set": 1,
        "first_sign_ins": 1,
        "limit_refusals": 1,
        "lost_password_requests": 1,
        "accounts_locked": 1,
    }

    # The scheduled jobs' runs, recorded as the scheduler records them: the expiry's
    # disabled accounts and the provisioning's re-enabled ones count, nothing else they did.
    jobs = JobSettings(stack.url, "um", "provisioning", "unused", redis_url=stack.redis_url)
    lock = f"dashboard-test-{uuid.uuid4().hex[:8]}"
    expiry = JobResult(EXIT_OK, "test", {"disabled": 3, "already_disabled": 5})
    provisioning = JobResult(EXIT_OK, "test", {"reenabled": 2, "created": 7, "updated": 4})
    assert run_scheduled("expire", lock, jobs, lambda: expiry) == EXIT_OK
    assert run_scheduled("provision", lock, jobs, lambda: provisioning) == EXIT_OK
    last = totals(console, bridge.url)
    assert moved(after, last) == {"accounts_expired": 3, "accounts_reenabled": 2}


def test_the_csv_has_one_row_a_day_and_counts_only(
    console: httpx.Client, bridge: Any, stack: Any, make_user: Any
) -> None:
    student = make_user(password=None)
    with browser() as client:
        start(client, bridge, student["username"])
    wait_for_mails(stack.mail_dir, student["email"])
    today = dt.datetime.now(PARIS).date()
    first = today - dt.timedelta(days=2)
    answer = console.get(
        f"{bridge.url}{PAGE}.csv",
        params={"from": first.isoformat(), "to": (first + dt.timedelta(days=1)).isoformat()},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8"))))
    assert rows[0] == ["day", *MEASURES]
    assert [row[0] for row in rows[1:]] == [
        first.isoformat(),
        (first + dt.timedelta(days=1)).isoformat(),
    ]
    assert all(cell.isdigit() for row in rows[1:] for cell in row[1:])
    # This period's CSV, and the page's own link, carry no identifier, address or INE.
    page = console.get(f"{bridge.url}{PAGE}", params={"preset": "today"})
    assert 'id="um-dashboard-csv"' in page.text
    full = console.get(f"{bridge.url}{PAGE}.csv", params={"preset": "today"}).text
    for secret in (student["username"], student["email"], student["id"], "@"):
        assert secret not in full and secret not in page.text
    ine = (student.get("attributes") or {}).get("ine", [""])[0]
    if ine:
        assert ine not in full and ine not in page.text


@pytest.mark.parametrize(
    ("params", "words_fr", "words_en"),
    [
        ({"from": "garbage", "to": "2026-01-01"}, "AAAA-MM-JJ", "YYYY-MM-DD"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "date de fin", "end date"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "400 jours", "400 days"),
        ({"from": "2026-01-01"}, "date de début", "start date"),
        ({"preset": "'; DROP"}, "période prédéfinie", "preset"),
        ({"from": "3000-01-01", "to": "3000-01-02"}, "aujourd'hui", "today"),
    ],
)
def test_hostile_periods_get_a_worded_400(
    console: httpx.Client, bridge_url: str, params: dict[str, str], words_fr: str, words_en: str
) -> None:
    for lang, words in (("fr", words_fr), ("en", words_en)):
        page = console.get(f"{bridge_url}{PAGE}", params={**params, "lang": lang})
        assert page.status_code == 400
        assert words in page.text.replace("&#39;", "'"), page.text[-2000:]
        assert 'id="um-error-summary"' in page.text
        exported = console.get(f"{bridge_url}{PAGE}.csv", params={**params, "lang": lang})
        assert exported.status_code == 400
        assert words in exported.text


def test_hostile_query_strings_get_a_page_or_a_400(console: httpx.Client, bridge_url: str) -> None:
    seen: set[int] = set()

    @settings(
        deadline=None, database=None, max_examples=60, suppress_health_check=list(HealthCheck)
    )
    @given(query=query_strings(("from", "to", "preset", "lang")), path=st.sampled_from(PATHS))
    def case(query: str, path: str) -> None:
        answer = console.get(f"{bridge_url}{path}?{query}")
        seen.add(answer.status_code)
        assert answer.status_code in (200, 400), (query[:300], answer.status_code)
        assert "Traceback" not in answer.text

    case()
    assert 400 in seen


def test_only_staff_reach_the_dashboard(bridge_url: str, make_user: Any) -> None:
    with browser() as client:
        for path in (PAGE, f"{PAGE}.csv"):
            anonymous = client.get(f"{bridge_url}{path}")
            assert anonymous.status_code == 303
            assert anonymous.headers["Location"].startswith("/console/login")
    student = make_user()
    with browser() as client:
        answer = console_login(client, bridge_url, student["username"], student["password"])
        assert answer.status_code == 403
        for path in (PAGE, f"{PAGE}.csv"):
            assert client.get(f"{bridge_url}{path}").status_code == 303
            assert "um-dashboard" not in client.get(f"{bridge_url}{path}").text


# --- two processes, one hour -----------------------------------------------------------

HOUR = dt.datetime(2001, 2, 3, 4, 5, tzinfo=dt.UTC)


def _count_in_a_process(url: str, name: str, times: int) -> None:
    async def counting() -> None:
        counts = ActivityCounts(url)
        for _ in range(times):
            counts.add(name, HOUR)
            await asyncio.sleep(0)
        await counts.flush()

    asyncio.run(counting())
    for _ in range(times):
        add_counts(url, {name: 1}, HOUR)


def test_two_processes_counting_the_same_hour_add_up_exactly(stack: Any) -> None:
    name = f"test.{uuid.uuid4().hex[:8]}"
    spawn = multiprocessing.get_context("spawn")
    workers = [
        spawn.Process(target=_count_in_a_process, args=(stack.redis_url, name, 150))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    import redis

    client = redis.Redis.from_url(stack.redis_url)
    key = PREFIX + hour_key(HOUR)
    assert int(client.hget(key, name) or 0) == 2 * 150 * 2
    assert 0 < client.ttl(key) <= 400 * 86400
    client.hdel(key, name)
