"""The bridge's Prometheus metrics: every one is defined here, and served at /metrics
(docs/operations.md lists them with their meaning).

- One registry per app, never the library's global one (the tests build several apps in
  one process), and no multiprocess mode: each replica is a process of its own, scraped on
  its own, and Prometheus sums them.
- Counted in the web layer, from the typed outcomes the flows return (a mail sent or
  refused, a limit, an INE that did not match); the gateway only reports each Keycloak
  call to an observer (Gateway.observe) and knows no metrics library.
- The jobs run in other processes (the scheduler's): their outcomes are read from Redis
  at scrape time (JobRunsCollector). Every replica shows the same values for them:
  aggregate those with max, not sum.
- Labels take values from fixed vocabularies only: a route's template, never its path;
  an outcome's code, never an identifier or an address.

/metrics answers anyone who reaches it: it is for the internal network's Prometheus, and
the public reverse proxy refuses the path (docs/operations.md).

The staff dashboard (docs/dashboard.md) needs the same counts over a chosen period, which
per-process counters that restart at zero cannot answer: the counters a dashboard measure
comes from also tell an optional activity sink (`Metrics.activity`), which adds them, as
counts only, to hourly buckets the replicas share (bridge.gateway.activity_counts).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bridge.domain.errors import ServiceUnavailable
from bridge.flows.outcomes import Invalid, Limited, Notified, Refused, Sent, Unavailable
from bridge.flows.staff_actions import Done
from bridge.gateway.job_runs import JobRecords, JobState

log = logging.getLogger("bridge.web.metrics")

# The `_created` series double every counter for no use here.
disable_created_metrics()  # type: ignore[no-untyped-call]

UNMATCHED = "(unmatched)"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HTTP_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KEYCLOAK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

MailOutcome = Sent | Notified | Done | Limited | Unavailable | Refused | Invalid

# um_mails_total's `kind` for the forgotten-identifier mail (bridge/web/students/
# identifier_recovery.py): its own kind, apart from lost password's, so that the help desk
# sees how often students ask for it.
IDENTIFIER_KIND = "identifier"
# ... and for the link that confirms a new rescue address asked from the account page.
RESCUE_CHANGE_KIND = "rescue_change"


# The dashboard's sink: (field, count), e.g. ("mail.activation.sent", 1). Never raises into
# the request: bridge.gateway.activity_counts.ActivityCounts.add only adds in memory.
ActivitySink = Callable[[str, int], None]


class _CountedChild:
    def __init__(self, child: Any, name: str, metrics: Metrics) -> None:
        self._child = child
        self._name = name
        self._metrics = metrics

    def inc(self, amount: float = 1) -> None:
        self._child.inc(amount)
        self._metrics.count_activity(self._name, int(amount))


class CountedCounter:
    """A labelled Prometheus counter whose increments also reach the activity sink, under
    `<family>.<label values>`: the pages keep calling .labels(...).inc() as before."""

    def __init__(self, counter: Counter, family: str, metrics: Metrics) -> None:
        self.counter = counter
        self._family = family
        self._metrics = metrics

    def labels(self, *values: str) -> _CountedChild:
        name = ".".join((self._family, *values))
        return _CountedChild(self.counter.labels(*values), name, self._metrics)


def mail_outcome(outcome: MailOutcome) -> str:
    """The `outcome` label of um_mails_total: sent, or refused_<the flow's reason>."""
    if isinstance(outcome, Sent | Notified | Done):
        return "sent"
    if isinstance(outcome, Limited):
        return "refused_limit"
    if isinstance(outcome, Unavailable):
        return "refused_unavailable"  # Keycloak or the SMTP relay failed
    return "refused_" + outcome.code.rsplit(".", 1)[-1]


class Metrics:
    def __init__(self, job_records: JobRecords | None = None) -> None:
        self.activity: ActivitySink | None = None  # set by create_app when Redis is there
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        r = self.registry
        self.http_requests = Counter(
            "um_http_requests_total",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "um_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.activation_lookups = CountedCounter(
            Counter(
                "um_activation_lookups_total",
                "Activation step 1 (an identifier posted), by what it led to.",
                ["result"],
                registry=r,
            ),
            "lookup",
            self,
        )
        self.mails = Counter(
            "um_mails_total",
            "Mails to a rescue address the bridge asked for, sent or refused, by kind and "
            "outcome (refused_<reason>).",
            ["kind", "outcome"],
            registry=r,
        )
        self.ine_failures = CountedCounter(
            Counter(
                "um_ine_failures_total",
                "INEs refused at activation step 4, by reason (mismatch: well formed, not the "
                "account's; format, check_key: typos, not counted against the limits; "
                "none_on_file: no INE on the account, sent to the desk, not counted).",
                ["reason"],
                registry=r,
            ),
            "ine",
            self,
        )
        self.limit_refusals = Counter(
            "um_limit_refusals_total",
            "Requests a rate limit refused, by limit (the flows' codes).",
            ["limit"],
            registry=r,
        )
        self.challenges = CountedCounter(
            Counter(
                "um_challenges_total",
                "Proofs of work on form posts past the threshold: passed, missing or refused.",
                ["outcome"],
                registry=r,
            ),
            "challenge",
            self,
        )
        self.keycloak_duration = Histogram(
            "um_keycloak_request_duration_seconds",
            "Time of a call to Keycloak's APIs, by operation.",
            ["operation"],
            buckets=KEYCLOAK_BUCKETS,
            registry=r,
        )
        self.keycloak_errors = Counter(
            "um_keycloak_errors_total",
            "Calls to Keycloak that failed, by operation and kind (unavailable, not_found, "
            "not_allowed, conflict, rejected, other).",
            ["operation", "kind"],
            registry=r,
        )
        if job_records is not None:
            r.register(JobRunsCollector(job_records))

    # --- what the web layer counts --------------------------------------------------------

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in METHODS else "OTHER"
        self.http_requests.labels(route, method, str(status)).inc()
        self.http_duration.labels(route).observe(seconds)

    def keycloak_call(self, operation: str, seconds: float, error: str | None) -> None:
        """bridge.gateway.keycloak.base.CallObserver."""
        self.keycloak_duration.labels(operation).observe(seconds)
        if error is not None:
            self.keycloak_errors.labels(operation, error).inc()

    def mail(self, kind: str, outcome: MailOutcome) -> None:
        """A limit's refusal is also counted by the page that answers it (limited())."""
        self.mails.labels(kind, mail_outcome(outcome)).inc()
        self.count_activity(f"mail.{kind}.{mail_outcome(outcome)}")

    def limited(self, outcome: Limited) -> None:
        self.limit_refusals.labels(outcome.code).inc()
        self.count_activity(f"limit.{outcome.code}")

    def count_activity(self, name: str, amount: int = 1) -> None:
        if self.activity is None:
            return
        try:
            self.activity(name, amount)
        except Exception:  # a count lost is better than an answer lost
            log.exception("activity count %s lost", name)

    def sample_names(self) -> set[str]:
        """Every series name /metrics can show (the dashboard's test checks against it)."""
        families = [*self.registry.collect(), *JobRunsCollector.families([], readable=True)]
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_sum", "_count"),
            "summary": ("", "_sum", "_count"),
            "info": ("_info",),
        }
        return {f.name + s for f in families for s in suffixes.get(f.type, ("",))}


def metrics_of(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


# --- requests --------------------------------------------------------------------------


def route_template(routes: Sequence[BaseRoute], scope: Scope, prefix: str = "") -> str | None:
    """The template of the route that will answer (a Mount's prefix included), matched as
    the router matches; None when none will. A method the route does not take still names
    it (the answer is its 405)."""
    partial = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.NONE:
            continue
        path = prefix + str(getattr(route, "path", ""))
        if isinstance(route, Mount):
            inner = route.routes
            if not inner:  # an ASGI app (the stylesheet's files): the rest is its own
                template: str | None = path + "/{path}"
            else:
                template = route_template(inner, {**scope, **child}, path)
        else:
            template = path or "/"
        if template is not None and match is Match.FULL:
            return template
        partial = partial or template
    return partial


class MetricsMiddleware:
    """Counts and times every HTTP answer by route template (outermost: a 413 or a 500
    is counted too)."""

    def __init__(self, app: ASGIApp, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_template(self.routes, scope) or UNMATCHED
        status = 500  # unless an answer starts: an exception that escapes is a 500
        started = time.perf_counter()

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            self.metrics.request(route, scope["method"], status, time.perf_counter() - started)


async def endpoint(request: Request) -> Response:
    """The exposition, in the format the scraper asks for. Built off the event loop: the
    jobs' collector reads Redis with a blocking client."""
    registry = metrics_of(request).registry
    generate, content_type = choose_encoder(request.headers.get("accept", ""))
    body = await run_in_threadpool(generate, registry)
    return Response(body, media_type=content_type)


# --- the jobs' outcomes, from Redis ----------------------------------------------------


class JobRunsCollector(Collector):
    """The scheduled jobs' last runs and counters as recorded in Redis by the jobs
    (bridge.gateway.job_runs), read at each scrape."""

    def __init__(self, records: JobRecords) -> None:
        self.records = records

    def describe(self) -> Iterable[Metric]:
        return self.families([], readable=True)

    def collect(self) -> Iterable[Metric]:
        try:
            states = self.records.read_all()
        except ServiceUnavailable as error:
            log.warning("the jobs' records could not be read: %s", error)
            return self.families([], readable=False)
        return self.families(states, readable=True)

    @staticmethod
    def families(states: Sequence[JobState], *, readable: bool) -> Iterator[Metric]:
        def gauge(name: str, doc: str, value: Any) -> GaugeMetricFamily:
            family = GaugeMetricFamily(name, doc, labels=["job"])
            for state in states:
                if value(state) is not None:
                    family.add_metric([state.job], float(value(state)))
            return family

        yield GaugeMetricFamily(
            "um_job_records_readable",
            "1 when the jobs' records could be read from Redis at this scrape, else 0.",
            value=1.0 if readable else 0.0,
        )
        yield gauge(
            "um_job_last_run_timestamp_seconds",
            "When the job's last run ended (runs refused by the lock excepted).",
            lambda s: s.last_ended,
        )
        yield gauge(
            "um_job_last_success_timestamp_seconds",
            "When the job's last completed run ended (exit 0, or 1: rows rejected).",
            lambda s: s.last_success,
        )
        yield gauge(
            "um_job_last_exit_code",
            "The exit code of the job's last run (bridge/cli/common.py).",
            lambda s: s.last_exit_code,
        )
        yield gauge(
            "um_job_last_duration_seconds",
            "How long the job's last run took.",
            lambda s: s.last_duration,
        )
        runs = CounterMetricFamily(
            "um_job_runs_total",
            "The job's runs, by outcome (ok, rejected, unavailable, locked, crashed...).",
            labels=["job", "outcome"],
        )
        items = CounterMetricFamily(
            "um_job_items_total",
            "What the job's runs did, summed (created, updated, disabled, sent...).",
            labels=["job", "item"],
        )
        for state in states:
            for outcome, count in sorted(state.runs.items()):
                runs.add_metric([state.job, outcome], count)
            for item, count in sorted(state.items.items()):
                items.add_metric([state.job, item], count)
        yield runs
        yield items
