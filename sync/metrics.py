"""Prometheus metrics of the daemon: what each connection moved, spent and how far behind it is.

Counters grow as runs and webhooks happen (records pulled/scored/written, API calls by
category, errors, dead letters, webhook requests by outcome); everything that is a
*state* (sync lag, cursor age, webhook backlog, API budget left) is read when Prometheus
scrapes, from the state store, the webhook queue and the connectors' rate limiters, so
a restarted daemon reports the truth at once. Each daemon has its own registry: tests
and several daemons in one process never collide.

Sync lag is ``now - start of the last successful scheduled run``: every change made
before that instant is scored on the CRM. Webhook-triggered runs only cover the records
they name, so they do not reset it; after a restart the figure starts from the last
successful run recorded in the state store. Cursor age (``now - committed cursor``, per stream) is
exported too; a quiet stream's cursor ages without the connection being behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from leadbridge.core.ratelimit import RateLimiter
from leadbridge.scoring.predictive.feedback import FeedbackReport
from leadbridge.sync.engine import SyncReport
from leadbridge.sync.state import StateStore, cursors, runs

__all__ = ["CONTENT_TYPE", "DaemonMetrics", "limiter_of"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def limiter_of(connector: object) -> RateLimiter | None:
    """The rate limiter behind a connector's HTTP client, if it exposes one."""
    for holder in (connector, getattr(connector, "api", None)):
        http = getattr(holder, "http", None)
        limiter = getattr(http, "limiter", None)
        if isinstance(limiter, RateLimiter):
            return limiter
    return None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class LastRun:
    """The last finished run of a connection, as the health check sees it."""

    status: str
    started_at: datetime
    finished_at: datetime
    elapsed_s: float
    trigger: str


class DaemonMetrics:
    """The daemon's metrics registry and the hooks that feed it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.records = Counter(
            "leadbridge_records",
            "Records moved, by stage (pulled, activities, scored, written, unchanged).",
            ["connection", "stage"],
            registry=r,
        )
        self.api_calls = Counter(
            "leadbridge_api_calls",
            "CRM API calls, by category.",
            ["connection", "category"],
            registry=r,
        )
        self.errors = Counter(
            "leadbridge_errors",
            "Errors reported by runs and webhook processing.",
            ["connection", "source"],
            registry=r,
        )
        self.dead_letters = Counter(
            "leadbridge_dead_letters",
            "Records or events set aside (rejects, refused writes, poison webhook events).",
            ["connection", "kind"],
            registry=r,
        )
        self.runs = Counter(
            "leadbridge_runs",
            "Finished sync runs, by trigger and status.",
            ["connection", "trigger", "status"],
            registry=r,
        )
        self.run_duration = Gauge(
            "leadbridge_last_run_duration_seconds",
            "Duration of the last run.",
            ["connection"],
            registry=r,
        )
        self.run_finished = Gauge(
            "leadbridge_last_run_timestamp_seconds",
            "When the last run finished (Unix time).",
            ["connection"],
            registry=r,
        )
        self.run_ok = Gauge(
            "leadbridge_last_run_success",
            "1 if the last run ended ok, else 0.",
            ["connection"],
            registry=r,
        )
        self.webhook_requests = Counter(
            "leadbridge_webhook_events",
            "Webhook events by outcome (accepted, duplicate, rejected_<reason>).",
            ["connection", "outcome"],
            registry=r,
        )
        self.webhook_latency = Histogram(
            "leadbridge_webhook_processing_seconds",
            "From a webhook's acknowledgement to its score written on the CRM.",
            ["connection"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
            registry=r,
        )
        self.model_cycles = Counter(
            "leadbridge_model_cycles",
            "Predictive feedback cycles, by result (promoted, kept, cold_start, failed).",
            ["connection", "result"],
            registry=r,
        )
        self.model_drift = Gauge(
            "leadbridge_model_drift",
            "1 if the last feedback cycle flagged drift (feature PSI or recent AUC), else 0.",
            ["connection"],
            registry=r,
        )
        self.model_recent_auc = Gauge(
            "leadbridge_model_recent_auc",
            "The champion's ROC AUC on the most recent decided outcomes.",
            ["connection"],
            registry=r,
        )
        self.chores = Counter(
            "leadbridge_chores",
            "Daemon-wide scheduled tasks (e.g. retention), by status.",
            ["chore", "status"],
            registry=r,
        )
        self.chore_success = Gauge(
            "leadbridge_chore_last_success_timestamp_seconds",
            "When each daemon-wide task last succeeded (Unix time).",
            ["chore"],
            registry=r,
        )
        self._lock = threading.Lock()
        self._feedback: dict[str, dict[str, Any]] = {}
        self._last: dict[str, LastRun] = {}
        self._synced: dict[str, datetime] = {}
        self._limiters: dict[str, RateLimiter] = {}
        self._state = _StateCollector(self)
        r.register(self._state)

    # -- feeding --------------------------------------------------------------------

    def observe_report(self, report: SyncReport, *, trigger: str = "schedule") -> None:
        """Count what one run did."""
        c = report.connection
        for stage, value in (
            ("pulled", report.leads_pulled),
            ("activities", report.activities_pulled),
            ("scored", report.leads_scored),
            ("written", report.leads_written),
            ("unchanged", report.leads_unchanged),
            ("deleted", report.deleted),
        ):
            if value:
                self.records.labels(c, stage).inc(value)
        for category, calls in report.api_calls.items():
            if calls > 0:
                self.api_calls.labels(c, category).inc(calls)
        if report.errors:
            self.errors.labels(c, "run").inc(len(report.errors))
        if report.rejects:
            self.dead_letters.labels(c, "reject").inc(report.rejects)
        if report.write_failures:
            self.dead_letters.labels(c, "write").inc(report.write_failures)
        self.runs.labels(c, trigger, report.status).inc()
        if trigger == "webhook":
            return  # a webhook run covers the records it names, not the connection
        finished = datetime.now(UTC)
        self.run_duration.labels(c).set(report.elapsed_s)
        self.run_finished.labels(c).set(finished.timestamp())
        self.run_ok.labels(c).set(1 if report.status == "ok" else 0)
        with self._lock:
            self._last[c] = LastRun(
                report.status, report.started_at, finished, report.elapsed_s, trigger
            )
            if report.status == "ok":
                self._synced[c] = max(self._synced.get(c, report.started_at), report.started_at)

    def run_failed(self, connection: str, started_at: datetime, *, trigger: str) -> None:
        """A run that raised instead of reporting."""
        finished = datetime.now(UTC)
        self.errors.labels(connection, "run").inc()
        self.runs.labels(connection, trigger, "failed").inc()
        self.run_ok.labels(connection).set(0)
        self.run_finished.labels(connection).set(finished.timestamp())
        elapsed = (finished - started_at).total_seconds()
        with self._lock:
            self._last[connection] = LastRun("failed", started_at, finished, elapsed, trigger)

    def observe_feedback(self, connection: str, report: FeedbackReport) -> None:
        """Count a feedback cycle and keep its headline for ``/health``."""
        decision = report.decision
        if report.cold_start:
            result = "cold_start"
        else:
            result = "promoted" if decision is not None and decision.promoted else "kept"
        self.model_cycles.labels(connection, result).inc()
        drift = report.drift
        if drift is not None:
            self.model_drift.labels(connection).set(1 if drift.flagged else 0)
            if drift.recent_auc is not None:
                self.model_recent_auc.labels(connection).set(drift.recent_auc)
        with self._lock:
            self._feedback[connection] = {
                "at": datetime.now(UTC).isoformat(),
                "result": result,
                "detail": report.cold_start or (decision.reason if decision else None),
                "drift_flagged": None if drift is None else drift.flagged,
                "drift": [] if drift is None else list(drift.messages),
            }

    def chore_done(self, chore: str, *, ok: bool) -> None:
        """Count a daemon-wide task's run."""
        self.chores.labels(chore, "ok" if ok else "failed").inc()
        if ok:
            self.chore_success.labels(chore).set(datetime.now(UTC).timestamp())

    def feedback_failed(self, connection: str) -> None:
        """A feedback cycle that raised."""
        self.model_cycles.labels(connection, "failed").inc()
        self.errors.labels(connection, "model").inc()

    def last_feedback(self, connection: str) -> dict[str, Any] | None:
        """The last feedback cycle's headline, or None if none ran yet."""
        with self._lock:
            found = self._feedback.get(connection)
            return None if found is None else dict(found)

    def observe_connector(self, connection: str, connector: object) -> None:
        """Remember a connector's rate limiter, to export the API budget it has left."""
        limiter = limiter_of(connector)
        if limiter is not None:
            with self._lock:
                self._limiters[connection] = limiter

    def webhook_request(self, connection: str, outcome: str, *, events: int = 1) -> None:
        if events > 0:
            self.webhook_requests.labels(connection, outcome).inc(events)

    def webhook_processed(self, connection: str, latencies_s: Iterable[float]) -> None:
        child = self.webhook_latency.labels(connection)
        for value in latencies_s:
            child.observe(max(value, 0.0))

    def webhook_failed(self, connection: str, *, dead: int = 0) -> None:
        self.errors.labels(connection, "webhook").inc()
        if dead:
            self.dead_letters.labels(connection, "webhook").inc(dead)

    def attach(
        self,
        *,
        store: StateStore | None = None,
        backlog: Callable[[], dict[str, datetime]] | None = None,
        depth: Callable[[], dict[tuple[str, str], int]] | None = None,
    ) -> None:
        """Sources read at scrape time: the state store, the webhook queue."""
        self._state.store = store
        self._state.seed()  # before this process records webhook runs of its own
        self._state.backlog = backlog
        self._state.depth = depth

    # -- reading --------------------------------------------------------------------

    def last_runs(self) -> dict[str, LastRun]:
        with self._lock:
            return dict(self._last)

    def last_ok(self) -> dict[str, datetime]:
        """Start of each connection's last successful scheduled run."""
        found = self._state.seed()
        with self._lock:
            for connection, at in self._synced.items():
                found[connection] = max(found.get(connection, at), at)
        return found

    def limiters(self) -> dict[str, RateLimiter]:
        with self._lock:
            return dict(self._limiters)

    def render(self) -> bytes:
        """The text exposition format for ``GET /metrics``."""
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Gauges computed when scraped: lag, cursor age, backlog, API budget."""

    def __init__(self, owner: DaemonMetrics) -> None:
        self.owner = owner
        self.store: StateStore | None = None
        self.backlog: Callable[[], dict[str, datetime]] | None = None
        self.depth: Callable[[], dict[tuple[str, str], int]] | None = None
        self._seed: dict[str, datetime] | None = None

    def describe(self) -> list[Metric]:
        return []  # computed on scrape; nothing fixed to pre-register

    def seed(self) -> dict[str, datetime]:
        """Last successful runs recorded before this process started (read once)."""
        if self._seed is None:
            self._seed = self._recorded()
        return dict(self._seed)

    def _recorded(self) -> dict[str, datetime]:
        if self.store is None:
            return {}
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(runs.c.connection, sa.func.max(runs.c.started_at))
                .where(runs.c.status == "ok")
                .group_by(runs.c.connection)
            ).all()
        return {r[0]: _utc(r[1]) for r in rows if r[1] is not None}

    def _cursor_ages(self, now: datetime) -> Iterator[tuple[str, str, float]]:
        if self.store is None:
            return
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(cursors.c.connection, cursors.c.stream, cursors.c.value).where(
                    cursors.c.value.is_not(None)
                )
            ).all()
        for connection, stream, value in rows:
            yield connection, stream, (now - _utc(value)).total_seconds()

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        lag = GaugeMetricFamily(
            "leadbridge_sync_lag_seconds",
            "Seconds since the start of the last successful run (changes before are scored).",
            labels=["connection"],
        )
        for connection, started in self.owner.last_ok().items():
            lag.add_metric([connection], (now - started).total_seconds())
        yield lag
        age = GaugeMetricFamily(
            "leadbridge_cursor_age_seconds",
            "Seconds between now and each stream's committed cursor.",
            labels=["connection", "stream"],
        )
        for connection, stream, seconds in self._cursor_ages(now):
            age.add_metric([connection, stream], seconds)
        yield age
        budget = GaugeMetricFamily(
            "leadbridge_api_budget_remaining",
            "Calls left in the CRM's daily allocation, where the CRM reports it.",
            labels=["connection"],
        )
        allocation = GaugeMetricFamily(
            "leadbridge_api_budget_limit",
            "The CRM's daily call allocation, where it reports it.",
            labels=["connection"],
        )
        for connection, limiter in self.owner.limiters().items():
            if limiter.daily_remaining is not None:
                budget.add_metric([connection], float(limiter.daily_remaining))
            if limiter.daily_limit is not None:
                allocation.add_metric([connection], float(limiter.daily_limit))
        yield budget
        yield allocation
        yield from self._queue(now)

    def _queue(self, now: datetime) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "leadbridge_webhook_queue_events",
            "Webhook events in the durable queue, by status.",
            labels=["connection", "status"],
        )
        if self.depth is not None:
            for (connection, status), count in self.depth().items():
                depth.add_metric([connection, status], float(count))
        yield depth
        oldest = GaugeMetricFamily(
            "leadbridge_webhook_backlog_seconds",
            "Age of the oldest unprocessed webhook event.",
            labels=["connection"],
        )
        if self.backlog is not None:
            for connection, received in self.backlog().items():
                oldest.add_metric([connection], (now - received).total_seconds())
        yield oldest
