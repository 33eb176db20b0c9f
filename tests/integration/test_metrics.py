"""/metrics on the session's bridge: what a student's steps move, read before and after
from the exposition itself (docs/operations.md lists the metrics)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.activation import follow, post, start
from tests.helpers.browserless import browser
from tests.helpers.mailbox import wait_for_mails

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(bridge: Any) -> Series:
    answer = httpx.get(f"{bridge.url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(series: Series, name: str, **labels: str) -> float:
    return series.get((name, frozenset(labels.items())), 0.0)


def label_values(series: Series, name: str, label: str) -> set[str]:
    return {dict(labels)[label] for (sample, labels) in series if sample == name}


def moved(before: Series, after: Series, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_an_activation_mail_moves_its_counters(bridge: Any, stack: Any, make_user: Any) -> None:
    student = make_user(password=None)  # a rescue address on file: step 3 mails at once
    before = scrape(bridge)
    with browser() as client:
        posted = start(client, bridge, student["username"])
        assert follow(client, bridge, posted).status_code == 200
    wait_for_mails(stack.mail_dir, student["email"])
    after = scrape(bridge)

    def delta(name: str, **labels: str) -> float:
        return moved(before, after, name, **labels)

    assert delta("um_activation_lookups_total", result="send_mail") == 1
    assert delta("um_mails_total", kind="activation", outcome="sent") == 1
    assert delta("um_mails_total", kind="activation", outcome="refused_limit") == 0
    # The route is the template the router matched: the page, its post, the redirect's page.
    for method, route, status in (
        ("GET", "/activation", "200"),
        ("POST", "/activation", "303"),
        ("GET", "/activation/mail-sent", "200"),
    ):
        assert delta("um_http_requests_total", route=route, method=method, status=status) == 1
    assert delta("um_http_request_duration_seconds_count", route="/activation") == 2
    # The bridge's own Keycloak calls: finding the student, then Keycloak's send.
    assert delta("um_keycloak_request_duration_seconds_count", operation="users.search") >= 1
    assert delta("um_keycloak_request_duration_seconds_count", operation="action_mail.send") == 1
    failed = {"operation": "action_mail.send", "kind": "unavailable"}
    assert delta("um_keycloak_errors_total", **failed) == 0


def test_a_limit_and_an_unknown_identifier_are_counted(bridge: Any, make_user: Any) -> None:
    student = make_user(password=None)
    with browser() as client:
        start(client, bridge, student["username"])  # the first mail
        before = scrape(bridge)
        assert post(client, bridge, "/activation/resend").status_code == 429  # too soon
        assert start(client, bridge, f"zz{uuid.uuid4().hex[:8]}").status_code == 404
    after = scrape(bridge)
    assert moved(before, after, "um_limit_refusals_total", limit="mail.too_soon") == 1
    refused = {"kind": "activation", "outcome": "refused_limit"}
    assert moved(before, after, "um_mails_total", **refused) == 1
    assert moved(before, after, "um_activation_lookups_total", result="unknown") == 1


def test_a_route_with_parameters_is_counted_by_its_template(bridge: Any) -> None:
    before = scrape(bridge)
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for user_id in ids:
        # Not signed in: the console sends the browser to its sign-in (303), whatever the id.
        answer = httpx.get(f"{bridge.url}/console/accounts/{user_id}", follow_redirects=False)
        assert answer.status_code == 303
    after = scrape(bridge)
    labels = {"route": "/console/accounts/{user_id}", "method": "GET", "status": "303"}
    assert moved(before, after, "um_http_requests_total", **labels) == 3
    routes = label_values(after, "um_http_requests_total", "route")
    assert not any(user_id in route for route in routes for user_id in ids)


def test_unknown_paths_make_no_new_label_value(bridge: Any) -> None:
    before = scrape(bridge)
    for _ in range(3):
        assert httpx.get(f"{bridge.url}/no-such-page-{uuid.uuid4().hex}").status_code == 404
    after = scrape(bridge)
    routes = label_values(after, "um_http_requests_total", "route")
    assert not any("no-such-page" in route for route in routes)
    assert routes - label_values(before, "um_http_requests_total", "route") <= {"(unmatched)"}
    labels = {"route": "(unmatched)", "method": "GET", "status": "404"}
    assert moved(before, after, "um_http_requests_total", **labels) == 3
