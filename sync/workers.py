"""Scale-out: the daemon's syncs as jobs on a PostgreSQL queue, run by many workers.

procrastinate keeps the queue in the state database (`procrastinate_jobs`, woken by
``LISTEN/NOTIFY``). A scheduler defers one `sync_connection` job per connection per
period; any number of worker processes, on one machine or many, take jobs.

Three guards keep a connection from being synced twice at once:

1. every job carries ``lock="connection:<name>"``: procrastinate never starts a job
   while another job with the same lock is ``doing``;
2. ``queueing_lock`` keeps at most one *waiting* job per connection, so a slow sync
   does not pile up a backlog;
3. inside the task, a session-level PostgreSQL advisory lock on the connection name:
   even a second, mis-configured scheduler or queue cannot run the same connection
   twice, and the lock dies with the worker's database session.

A killed worker leaves its job ``doing`` and stops sending heartbeats. Every worker runs
a reaper that retries the jobs of workers silent for `stalled_after_s`, so another worker
takes the job over; the engine's crash safety (staged pulls, bookmarks committed after
writes) makes the rerun lose nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import signal
import socket
import threading
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import procrastinate
import psycopg
import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from procrastinate import exceptions as pq_errors

from leadbridge.core.errors import ConfigError, LeadbridgeError, RetryableAPIError, StateError
from leadbridge.sync.config import ConnectionConfig
from leadbridge.sync.engine import SyncReport
from leadbridge.sync.workerruns import WorkerRunLog

__all__ = [
    "QUEUE",
    "TASK_NAME",
    "RunConnection",
    "Scheduler",
    "SyncQueue",
    "SyncWorker",
    "WorkerOptions",
    "connection_lock",
    "queue_conninfo",
]

_T = TypeVar("_T")

log = logging.getLogger("leadbridge.workers")

TASK_NAME = "leadbridge.sync_connection"
QUEUE = "leadbridge-sync"
_PREPARE_LOCK = "leadbridge:workers:prepare"

RunConnection = Callable[[ConnectionConfig, threading.Event], SyncReport]
"""Runs one sync of one connection, honouring the stop event between batches."""


def queue_conninfo(state_url: str) -> str:
    """The libpq URL of the state database; the queue lives there, so it must be PostgreSQL."""
    try:
        url = sa.make_url(state_url)
    except sa.exc.ArgumentError:
        raise ConfigError("workers need a PostgreSQL state URL", key="state") from None
    if url.get_backend_name() != "postgresql":
        raise ConfigError(
            "workers need state on PostgreSQL (postgresql://…), not a SQLite file", key="state"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def connection_lock(name: str) -> str:
    """The procrastinate lock (and advisory-lock name) of one connection."""
    return f"connection:{name}"


@contextlib.contextmanager
def _advisory(conninfo: str, name: str, *, wait: bool) -> Iterator[bool]:
    """Hold a session-level advisory lock on `name` (False if `wait` is off and it is taken)."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        if wait:
            conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (name,))
            held = True
        else:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)
            ).fetchone()
            held = bool(row and row[0])
        try:
            yield held
        finally:
            if held:
                conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (name,))


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker process runs: parallel jobs, heartbeats, takeover of dead workers' jobs."""

    concurrency: int = 1
    heartbeat_s: float = 10.0
    stalled_after_s: float = 30.0
    reap_every_s: float = 5.0
    poll_s: float = 5.0
    name: str = ""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigError("concurrency must be at least 1", key="concurrency")
        if self.stalled_after_s <= 2 * self.heartbeat_s:
            raise ConfigError(
                "stalled_after_s must exceed two heartbeats, or live workers look dead",
                key="stalled_after_s",
            )


def _sync_connection(context: procrastinate.JobContext, connection: str) -> str:
    """The queued task: one sync of one connection, on the worker that fetched the job."""
    worker = context.additional_context.get("leadbridge")
    if not isinstance(worker, SyncWorker):
        raise StateError("sync_connection ran outside a leadbridge worker")
    job_id = context.job.id
    if job_id is None:
        raise StateError("sync_connection ran without a job id")
    return worker.sync(connection, job_id=int(job_id))


class SyncQueue:
    """The procrastinate app on the state database, with the `sync_connection` task."""

    def __init__(self, state_url: str) -> None:
        self.conninfo = queue_conninfo(state_url)
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=self.conninfo)
        )
        self.task = self.app.task(
            name=TASK_NAME,
            queue=QUEUE,
            pass_context=True,
            retry=procrastinate.RetryStrategy(
                max_attempts=3,
                exponential_wait=5,
                retry_exceptions={RetryableAPIError, StateError, psycopg.OperationalError},
            ),
        )(_sync_connection)
        self.runs = WorkerRunLog(sa.make_url(state_url).set(drivername="postgresql+psycopg"))

    def prepare(self, extra: Callable[[], None] | None = None) -> None:
        """Create the queue schema and run table once, however many processes start together.

        `extra` runs under the same lock: one-time setup such as generating key files.
        """
        try:
            with (
                _advisory(self.conninfo, _PREPARE_LOCK, wait=True),
                psycopg.connect(self.conninfo, autocommit=True) as conn,
            ):
                found = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
                if found is None or found[0] is None:
                    conn.execute(self.app.schema_manager.get_schema())
                self.runs.ensure_schema()
                if extra is not None:
                    extra()
        except psycopg.Error as exc:
            raise StateError(f"cannot prepare the job queue: {exc.__class__.__name__}") from None

    async def defer(self, names: Sequence[str]) -> list[str]:
        """Queue one sync per name; names that already have a waiting job are skipped."""
        queued: list[str] = []
        for name in names:
            lock = connection_lock(name)
            try:
                await self.task.configure(lock=lock, queueing_lock=lock).defer_async(
                    connection=name
                )
            except pq_errors.AlreadyEnqueued:
                log.debug("workers: %s already has a waiting sync", name)
                continue
            queued.append(name)
        return queued

    async def reap(self, stalled_after_s: float) -> list[int]:
        """Give the jobs of workers silent for `stalled_after_s` back to the queue."""
        stalled = await self.app.job_manager.get_stalled_jobs(
            task_name=TASK_NAME, seconds_since_heartbeat=stalled_after_s
        )
        taken: list[int] = []
        for job in stalled:
            if job.id is None:
                continue
            try:
                await self.app.job_manager.retry_job(job)
            except pq_errors.ConnectorException:
                continue  # another worker's reaper retried it first
            self.runs.abandon(job.id)
            taken.append(job.id)
            log.warning("workers: job %s (%s) taken over from a dead worker", job.id, job.lock)
        return taken

    def close(self) -> None:
        self.runs.close()


class SyncWorker:
    """One worker process: fetches sync jobs, runs them, reaps dead workers' jobs."""

    def __init__(
        self,
        queue: SyncQueue,
        connections: Sequence[ConnectionConfig],
        run: RunConnection,
        options: WorkerOptions | None = None,
    ) -> None:
        self.queue = queue
        self.connections = {c.name: c for c in connections}
        self._run = run
        self.options = options or WorkerOptions()
        self.identity = self.options.name or f"{socket.gethostname()}:{os.getpid()}"
        self.stop_event = threading.Event()
        self._worker_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def sync(self, name: str, *, job_id: int) -> str:
        """Run one connection under its advisory lock, recording the run; returns the outcome."""
        conn = self.connections.get(name)
        if conn is None:
            raise ConfigError(f"no [[connection]] named {name!r} on this worker", key="connection")
        runs = self.queue.runs
        with _advisory(self.queue.conninfo, connection_lock(name), wait=False) as held:
            run_id = runs.start(job_id=job_id, connection=name, worker=self.identity)
            if not held:
                runs.finish(run_id, "busy", "another session holds the connection lock")
                log.warning("workers: %s is already being synced elsewhere; skipped", name)
                return "busy"
            try:
                report = self._run(conn, self.stop_event)
            except LeadbridgeError as exc:
                runs.finish(run_id, "failed", str(exc).splitlines()[0][:500])
                raise
            except Exception as exc:
                runs.finish(run_id, "failed", exc.__class__.__name__)
                raise
            runs.finish(run_id, "ok", f"{report.leads_written} leads written")
            return "ok"

    async def _reaper(self) -> None:
        while True:
            await asyncio.sleep(self.options.reap_every_s * random.uniform(0.8, 1.2))
            try:
                await self.queue.reap(self.options.stalled_after_s)
            except (pq_errors.ProcrastinateException, sa.exc.SQLAlchemyError) as exc:
                log.warning("workers: reaping failed, retried next round: %s", exc)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                self._loop.add_signal_handler(sig, self.stop)
        async with self.queue.app.open_async():
            reaper = asyncio.create_task(self._reaper(), name="leadbridge reaper")
            self._worker_task = asyncio.create_task(
                self.queue.app.run_worker_async(
                    queues=[QUEUE],
                    name=self.identity,
                    concurrency=self.options.concurrency,
                    install_signal_handlers=False,
                    update_heartbeat_interval=self.options.heartbeat_s,
                    stalled_worker_timeout=self.options.stalled_after_s,
                    fetch_job_polling_interval=self.options.poll_s,
                    additional_context={"leadbridge": self},
                )
            )
            try:
                await self._worker_task
            except asyncio.CancelledError:
                log.info("workers: %s stopped", self.identity)
            finally:
                reaper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reaper

    def run(self) -> None:
        """Work until SIGTERM/SIGINT (or `stop()`): running syncs finish their batch first."""
        run_blocking(self._main)

    def stop(self) -> None:
        """Graceful stop: no new jobs; running syncs stop after the batch in flight."""
        self.stop_event.set()
        task, loop = self._worker_task, self._loop
        if task is not None and loop is not None:
            loop.call_soon_threadsafe(task.cancel)


def run_blocking(main: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """`asyncio.run(main())`, also from code that already runs an event loop.

    An embedding application (or a notebook) may call a blocking entry point from inside
    its own loop; the coroutine then gets a fresh loop on a helper thread. It is created
    only once it will be awaited, so a refused start leaves no orphan coroutine.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(asyncio.run(main()))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread below
            failure.append(exc)

    thread = threading.Thread(target=target, name="lb-asyncio")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


class Scheduler:
    """Defers one sync per connection per period (interval with jitter, or cron)."""

    def __init__(
        self,
        queue: SyncQueue,
        connections: Sequence[ConnectionConfig],
        *,
        default_every_minutes: float = 15.0,
    ) -> None:
        if not connections:
            raise ConfigError("no [[connection]] to schedule", key="connection")
        self.queue = queue
        self.connections = list(connections)
        self.default_every_minutes = default_every_minutes
        self._crons: dict[str, CronTrigger] = {}
        for conn in self.connections:
            if conn.cron:
                try:
                    self._crons[conn.name] = CronTrigger.from_crontab(conn.cron, timezone="UTC")
                except ValueError as exc:
                    raise ConfigError(
                        f"invalid cron expression: {exc}", key=f"connection.{conn.name}.cron"
                    ) from None

    def next_due(self, conn: ConnectionConfig, now: datetime) -> datetime:
        """When `conn` should next be queued, after a deferral at `now`."""
        cron = self._crons.get(conn.name)
        if cron is not None:
            fire: Any = cron.get_next_fire_time(None, now)
            return fire if isinstance(fire, datetime) else now + timedelta(days=1)
        minutes = conn.every_minutes or self.default_every_minutes
        return now + timedelta(seconds=minutes * 60 + random.uniform(0, conn.jitter_s))

    async def run_async(self, stop: asyncio.Event, *, once: bool = False) -> list[str]:
        """Queue due syncs until `stop` is set (or one round with `once`); returns queued names."""
        queued: list[str] = []
        now = datetime.now(UTC)
        due = {
            c.name: (now if c.name not in self._crons else self.next_due(c, now))
            for c in self.connections
        }
        by_name = {c.name: c for c in self.connections}
        async with self.queue.app.open_async():
            while True:
                now = datetime.now(UTC)
                ready = sorted(name for name, at in due.items() if at <= now)
                queued += await self.queue.defer(ready)
                for name in ready:
                    due[name] = self.next_due(by_name[name], now)
                if once or stop.is_set():
                    return queued
                wait_s = max(0.1, (min(due.values()) - datetime.now(UTC)).total_seconds())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=min(wait_s, 60.0))
                if stop.is_set():
                    return queued

    def run(self, *, once: bool = False) -> list[str]:
        """Blocking `run_async`, stopped by SIGTERM/SIGINT."""

        async def main() -> list[str]:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.add_signal_handler(sig, stop.set)
            return await self.run_async(stop, once=once)

        return run_blocking(main)
