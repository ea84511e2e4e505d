"""The scheduled sync daemon: every connection on its own schedule, stopped gracefully.

APScheduler runs one job per connection (an interval or a cron expression, with jitter
and a misfire grace time). `max_instances=1` means a connection never runs twice at
once; `coalesce` folds missed runs into one. A per-connection lock, shared with the
webhook dispatcher, keeps a webhook refresh from running alongside a scheduled run of
the same connection. On SIGTERM or SIGINT the daemon sets a stop event that the engine
checks between write batches: the batch in flight is finished and acknowledged,
nothing new starts, and the process exits.

With `retrain` (the `[predictive]` feedback cycle), each connection also gets a cron job
that retrains its model from the synced outcomes, promotes the challenger only if it
beats the champion on recent outcomes, and flags drift (log, metrics, ``/health``). It
runs outside the connection's lock -- it only reads the mirror -- and a promotion drops
the cached webhook handler so the next event scores with the new champion.

`chores` are daemon-wide tasks on their own crontab, such as enforcing the retention
policy (GDPR storage limitation) every night.

With `service` settings the daemon also serves ``/health`` (JSON; 200 healthy, 503 not),
``/metrics`` (Prometheus) and, with `webhooks`, ``POST /webhooks/<connection>``, whose
events a dispatcher thread turns into fresh scores within seconds.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from leadbridge.core.errors import ConfigError, LeadbridgeError
from leadbridge.scoring.predictive.feedback import FeedbackReport
from leadbridge.sync.config import ConnectionConfig
from leadbridge.sync.engine import SyncReport
from leadbridge.sync.metrics import DaemonMetrics
from leadbridge.sync.state import StateStore
from leadbridge.sync.webhooks.config import ServiceSettings
from leadbridge.sync.webhooks.dispatcher import Dispatcher
from leadbridge.sync.webhooks.queue import EventQueue
from leadbridge.sync.webhooks.receivers import Endpoint, WebhookReceiver
from leadbridge.sync.webhooks.refresh import EventHandler
from leadbridge.sync.webhooks.service import HttpService, build_app

__all__ = [
    "Chore",
    "Daemon",
    "RetrainConnection",
    "RetrainSetup",
    "RunConnection",
    "WebhookSetup",
]

log = logging.getLogger("leadbridge.daemon")

RunConnection = Callable[[ConnectionConfig, threading.Event], SyncReport]
"""Runs one sync of one connection, honouring the stop event between batches."""

RetrainConnection = Callable[[ConnectionConfig], FeedbackReport]
"""Runs one feedback cycle (retrain, compare, promote, drift) for one connection."""

BACKLOG_LIMIT_S = 300.0
"""A webhook event unprocessed for longer makes the daemon unhealthy."""


@dataclass(frozen=True)
class WebhookSetup:
    """What the daemon needs to receive webhooks: the queue, endpoints and handlers."""

    queue: EventQueue
    endpoints: Sequence[Endpoint]
    open_handler: Callable[[ConnectionConfig], EventHandler]


@dataclass(frozen=True)
class RetrainSetup:
    """When the predictive feedback cycle runs (a UTC crontab) and what it runs."""

    cron: str
    run: RetrainConnection


@dataclass(frozen=True)
class Chore:
    """A daemon-wide task on a UTC crontab; `run` returns a one-line summary for the log."""

    name: str
    cron: str
    run: Callable[[], str]


def _crontab(expression: str, key: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(expression, timezone="UTC")
    except ValueError as exc:
        raise ConfigError(f"invalid cron expression: {exc}", key=key) from None


class Daemon:
    """Schedules every connection, serves health/metrics/webhooks, stops cleanly."""

    def __init__(
        self,
        connections: Sequence[ConnectionConfig],
        run: RunConnection,
        *,
        on_report: Callable[[SyncReport], None] | None = None,
        default_every_minutes: float = 15.0,
        service: ServiceSettings | None = None,
        webhooks: WebhookSetup | None = None,
        store: StateStore | None = None,
        metrics: DaemonMetrics | None = None,
        dispatch: bool = True,
        retrain: RetrainSetup | None = None,
        chores: Sequence[Chore] = (),
    ) -> None:
        if not connections:
            raise ConfigError("no [[connection]] to run", key="connection")
        self.connections = list(connections)
        self._by_name = {c.name: c for c in self.connections}
        self._run = run
        self._on_report = on_report
        self.stop_event = threading.Event()
        self._done = threading.Event()
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.reports: list[SyncReport] = []
        self._lock = threading.Lock()
        self._locks = {c.name: threading.Lock() for c in self.connections}
        self.metrics = metrics or DaemonMetrics()
        self.service_settings = service
        self.webhooks = webhooks
        self.started_at = datetime.now(UTC)
        self._periods: dict[str, float] = {}
        self._handlers: dict[str, EventHandler] = {}
        self._handlers_lock = threading.Lock()
        for conn in self.connections:
            trigger: IntervalTrigger | CronTrigger
            if conn.cron:
                trigger = _crontab(conn.cron, f"connection.{conn.name}.cron")
                self._periods[conn.name] = _cron_period_s(trigger)
            else:
                minutes = conn.every_minutes or default_every_minutes
                trigger = IntervalTrigger(
                    seconds=minutes * 60, jitter=conn.jitter_s or None, timezone="UTC"
                )
                self._periods[conn.name] = minutes * 60 + conn.jitter_s
            self.scheduler.add_job(
                self._job,
                trigger,
                args=[conn],
                id=conn.name,
                name=f"sync {conn.name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=conn.misfire_grace_s,
                next_run_time=None,
            )
        if retrain is not None:
            self._schedule_retrain(retrain)
        for chore in chores:
            self.scheduler.add_job(
                self._chore_job,
                _crontab(chore.cron, f"{chore.name}.schedule"),
                args=[chore],
                id=f"chore:{chore.name}",
                name=chore.name,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=3600,
            )
        self.metrics.attach(
            store=store,
            backlog=webhooks.queue.oldest_pending if webhooks else None,
            depth=webhooks.queue.depth if webhooks else None,
        )
        self.dispatcher: Dispatcher | None = None
        if webhooks is not None:
            self.dispatcher = Dispatcher(
                webhooks.queue,
                self._handler_for,
                self.lock_for,
                stop=self.stop_event,
                metrics=self.metrics,
                store=store,
                max_attempts={e.connection: e.settings.max_attempts for e in webhooks.endpoints},
                retention_s=service.retention_s if service else 172_800.0,
            )
        self._dispatch = dispatch
        self.http: HttpService | None = None
        if service is not None:
            extra = []
            if webhooks is not None:
                receiver = WebhookReceiver(
                    webhooks.endpoints,
                    webhooks.queue,
                    on_queued=self.dispatcher.wake if self.dispatcher and dispatch else None,
                    metrics=self.metrics,
                    max_body_bytes=service.max_body_bytes,
                )
                extra = receiver.routes()
            app = build_app(self.metrics, self.health, extra)
            self.http = HttpService(app, host=service.host, port=service.port)

    def _schedule_retrain(self, retrain: RetrainSetup) -> None:
        trigger = _crontab(retrain.cron, "predictive.retrain_cron")
        for conn in self.connections:
            self.scheduler.add_job(
                self._retrain_job,
                trigger,
                args=[conn, retrain.run],
                id=f"{conn.name}:retrain",
                name=f"retrain {conn.name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=3600,
            )

    # -- scheduled runs -------------------------------------------------------------

    def lock_for(self, connection: str) -> threading.Lock:
        """The lock that serialises everything that writes for `connection`."""
        return self._locks[connection]

    def _job(self, conn: ConnectionConfig) -> None:
        if self.stop_event.is_set():
            return
        started = datetime.now(UTC)
        with self._locks[conn.name]:
            if self.stop_event.is_set():
                return
            try:
                report = self._run(conn, self.stop_event)
            except LeadbridgeError as exc:
                log.error("%s: sync failed: %s", conn.name, exc)
                self.metrics.run_failed(conn.name, started, trigger="schedule")
                return
        self.metrics.observe_report(report, trigger="schedule")
        with self._lock:
            self.reports.append(report)
        if self._on_report is not None:
            self._on_report(report)

    def _retrain_job(self, conn: ConnectionConfig, run: RetrainConnection) -> None:
        if self.stop_event.is_set():
            return
        try:
            report = run(conn)
        except LeadbridgeError as exc:
            log.error("%s: model retrain failed: %s", conn.name, exc)
            self.metrics.feedback_failed(conn.name)
            return
        self.metrics.observe_feedback(conn.name, report)
        if report.cold_start:
            log.info("%s: %s", conn.name, report.cold_start)
        if report.decision is not None:
            log.info("%s: %s", conn.name, report.decision.reason)
            if report.decision.promoted:
                self._drop_handler(conn.name)
        if report.drift is not None and report.drift.flagged:
            log.warning("%s: model drift: %s", conn.name, "; ".join(report.drift.messages))

    def _chore_job(self, chore: Chore) -> None:
        if self.stop_event.is_set():
            return
        try:
            summary = chore.run()
        except LeadbridgeError as exc:
            log.error("%s failed: %s", chore.name, exc)
            self.metrics.chore_done(chore.name, ok=False)
            return
        log.info("%s: %s", chore.name, summary)
        self.metrics.chore_done(chore.name, ok=True)

    def _drop_handler(self, connection: str) -> None:
        with self._handlers_lock:
            handler = self._handlers.pop(connection, None)
        if handler is not None:
            with self._locks[connection]:
                handler.close()

    def _handler_for(self, connection: str) -> EventHandler | None:
        conn = self._by_name.get(connection)
        if conn is None or self.webhooks is None:
            return None
        with self._handlers_lock:
            handler = self._handlers.get(connection)
            if handler is None:
                handler = self._handlers[connection] = self.webhooks.open_handler(conn)
            return handler

    # -- health ---------------------------------------------------------------------

    def stale_after_s(self, connection: str) -> float:
        """How old the last good run may be before the connection counts as unhealthy."""
        if self.service_settings is not None and self.service_settings.stale_after_s:
            return self.service_settings.stale_after_s
        conn = self._by_name[connection]
        return 3 * self._periods[connection] + conn.misfire_grace_s

    def health(self) -> tuple[bool, dict[str, Any]]:
        """Per connection: last run, status and lag; healthy only if every one is."""
        now = datetime.now(UTC)
        last_runs = self.metrics.last_runs()
        last_ok = self.metrics.last_ok()
        backlog = self.webhooks.queue.oldest_pending() if self.webhooks else {}
        stopping = self.stop_event.is_set() or not self.scheduler.running
        connections: dict[str, Any] = {}
        all_ok = not stopping
        for conn in self.connections:
            last = last_runs.get(conn.name)
            ok_at = last_ok.get(conn.name)
            reference = ok_at or self.started_at
            stale_after = self.stale_after_s(conn.name)
            problems: list[str] = []
            if last is not None and last.status in ("failed", "partial"):
                problems.append(f"last run {last.status}")
            if (now - reference).total_seconds() > stale_after:
                problems.append(f"no successful run for more than {stale_after:.0f} s")
            waiting = backlog.get(conn.name)
            backlog_s = (now - waiting).total_seconds() if waiting else 0.0
            if backlog_s > BACKLOG_LIMIT_S:
                problems.append(f"webhook events waiting for {backlog_s:.0f} s")
            connections[conn.name] = {
                "healthy": not problems,
                "status": last.status if last is not None else "pending",
                "problems": problems,
                "last_run": None
                if last is None
                else {
                    "status": last.status,
                    "trigger": last.trigger,
                    "started_at": last.started_at.isoformat(),
                    "finished_at": last.finished_at.isoformat(),
                    "elapsed_s": round(last.elapsed_s, 3),
                },
                "last_success_at": ok_at.isoformat() if ok_at else None,
                "lag_s": round((now - ok_at).total_seconds(), 3) if ok_at else None,
                "webhook_backlog_s": round(backlog_s, 3),
                "model": self.metrics.last_feedback(conn.name),
            }
            all_ok = all_ok and not problems
        body = {
            "status": "stopping" if stopping else ("ok" if all_ok else "unhealthy"),
            "started_at": self.started_at.isoformat(),
            "connections": connections,
        }
        return all_ok, body

    # -- lifecycle ------------------------------------------------------------------

    @property
    def base_url(self) -> str | None:
        """Where the HTTP service listens, once started."""
        return self.http.base_url if self.http is not None else None

    def start(self, *, run_now: bool = True) -> None:
        """Start the schedule and the HTTP service; with `run_now`, run everything at once."""
        self.started_at = datetime.now(UTC)
        if self.http is not None:
            self.http.start()
        if self.dispatcher is not None and self._dispatch:
            self.dispatcher.start()
        self.scheduler.start()
        if run_now:
            for conn in self.connections:
                job = self.scheduler.get_job(conn.name)
                if job is not None:
                    job.modify(next_run_time=datetime.now(UTC))

    def stop(self) -> None:
        """Stop taking webhooks, finish the batches in flight, then stop every job."""
        self.stop_event.set()
        if self.http is not None:
            self.http.stop()
        if self.dispatcher is not None:
            self.dispatcher.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        with self._handlers_lock:
            for handler in self._handlers.values():
                handler.close()
            self._handlers.clear()
        self._done.set()

    def serve_forever(self) -> None:
        """Run until SIGTERM/SIGINT, then stop gracefully."""

        def handle(signum: int, _frame: FrameType | None) -> None:
            log.info("signal %s received: finishing the batch in flight", signum)
            threading.Thread(target=self.stop, name="lb-daemon-stop", daemon=True).start()

        signal.signal(signal.SIGTERM, handle)
        signal.signal(signal.SIGINT, handle)
        self.start()
        self._done.wait()


def _cron_period_s(trigger: CronTrigger) -> float:
    """The gap between two consecutive firings from now (the schedule's period)."""
    now = datetime.now(UTC)
    first: datetime | None = trigger.get_next_fire_time(None, now)
    second: datetime | None = (
        trigger.get_next_fire_time(first, first + timedelta(seconds=1)) if first else None
    )
    if first is None or second is None:
        return 86_400.0
    return max(float((second - first).total_seconds()), 60.0)
