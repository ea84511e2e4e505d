"""The scheduled sync daemon: every connection on its own schedule, stopped gracefully.

APScheduler runs one job per connection (an interval or a cron expression, with jitter
and a misfire grace time). `max_instances=1` means a connection never runs twice at
once; `coalesce` folds missed runs into one. On SIGTERM or SIGINT the daemon sets a stop
event that the engine checks between write batches: the batch in flight is finished and
acknowledged, nothing new starts, and the process exits.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from leadbridge.core.errors import ConfigError, LeadbridgeError
from leadbridge.sync.config import ConnectionConfig
from leadbridge.sync.engine import SyncReport

__all__ = ["Daemon", "RunConnection"]

log = logging.getLogger("leadbridge.daemon")

RunConnection = Callable[[ConnectionConfig, threading.Event], SyncReport]
"""Runs one sync of one connection, honouring the stop event between batches."""


class Daemon:
    """Schedules every connection and stops cleanly on a signal."""

    def __init__(
        self,
        connections: Sequence[ConnectionConfig],
        run: RunConnection,
        *,
        on_report: Callable[[SyncReport], None] | None = None,
        default_every_minutes: float = 15.0,
    ) -> None:
        if not connections:
            raise ConfigError("no [[connection]] to run", key="connection")
        self.connections = list(connections)
        self._run = run
        self._on_report = on_report
        self.stop_event = threading.Event()
        self._done = threading.Event()
        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.reports: list[SyncReport] = []
        self._lock = threading.Lock()
        for conn in self.connections:
            trigger: IntervalTrigger | CronTrigger
            if conn.cron:
                try:
                    trigger = CronTrigger.from_crontab(conn.cron, timezone="UTC")
                except ValueError as exc:
                    raise ConfigError(
                        f"invalid cron expression: {exc}", key=f"connection.{conn.name}.cron"
                    ) from None
            else:
                minutes = conn.every_minutes or default_every_minutes
                trigger = IntervalTrigger(
                    seconds=minutes * 60, jitter=conn.jitter_s or None, timezone="UTC"
                )
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

    def _job(self, conn: ConnectionConfig) -> None:
        if self.stop_event.is_set():
            return
        try:
            report = self._run(conn, self.stop_event)
        except LeadbridgeError as exc:
            log.error("%s: sync failed: %s", conn.name, exc)
            return
        with self._lock:
            self.reports.append(report)
        if self._on_report is not None:
            self._on_report(report)

    def start(self, *, run_now: bool = True) -> None:
        """Start the schedule; with `run_now`, every connection also runs right away."""
        self.scheduler.start()
        if run_now:
            for conn in self.connections:
                job = self.scheduler.get_job(conn.name)
                if job is not None:
                    job.modify(next_run_time=datetime.now(UTC))

    def stop(self) -> None:
        """Finish the batches in flight, then stop every job."""
        self.stop_event.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
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
