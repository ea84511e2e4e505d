"""``leadbridge workers run|schedule|runs --config leadbridge.toml``: the daemon, scaled out.

``schedule`` queues one sync per connection per period on the PostgreSQL job queue
(``--once`` for a single round, e.g. from cron); ``run`` starts a worker process that
syncs queued connections, ``--concurrency`` at a time. Start as many workers as you like,
on any machine that reaches the database: a connection is never synced by two at once,
and a killed worker's job is taken over once its heartbeats stop.
"""

from __future__ import annotations

import logging
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from leadbridge.audit.log import open_audit_log
from leadbridge.cli.wiring import run_connection
from leadbridge.core.errors import LeadbridgeError
from leadbridge.core.redaction import redact
from leadbridge.privacy.config import load_settings
from leadbridge.privacy.identity import load_privacy_key
from leadbridge.sync.config import ConnectionConfig, LeadbridgeConfig, load_config
from leadbridge.sync.engine import SyncReport
from leadbridge.sync.state import StateStore, open_store
from leadbridge.sync.workers import Scheduler, SyncQueue, SyncWorker, WorkerOptions

__all__ = ["register", "workers_app"]

workers_app = typer.Typer(
    help="Scale-out sync: a PostgreSQL job queue and worker processes.", no_args_is_help=True
)

ConfigOpt = Annotated[
    Path, typer.Option("--config", help="leadbridge.toml (state must be on PostgreSQL).")
]


def _setup_once(config_file: Path) -> None:
    """Key files and tables that must be created by one process, not raced by many."""
    settings = load_settings(config_file)
    load_privacy_key(Path(settings.privacy.key_dir))
    open_audit_log(settings.audit.db, key_dir=Path(settings.audit.key_dir)).close()
    open_store(settings.base.state).close()


def _open(config_file: Path) -> tuple[LeadbridgeConfig, SyncQueue]:
    config = load_config(config_file)
    queue = SyncQueue(config.state)
    queue.prepare(lambda: _setup_once(config_file))
    return config, queue


@workers_app.command("run")
def run_command(
    config: ConfigOpt,
    concurrency: Annotated[int, typer.Option(min=1, help="Syncs run at once.")] = 1,
    heartbeat: Annotated[float, typer.Option(min=0.1, help="Seconds between heartbeats.")] = 10.0,
    stalled_after: Annotated[
        float, typer.Option(min=0.5, help="Silence (s) after which a worker's job is taken over.")
    ] = 30.0,
    poll: Annotated[float, typer.Option(min=0.1, help="Fallback queue poll period (s).")] = 5.0,
    name: Annotated[str, typer.Option(help="Worker name (default host:pid).")] = "",
) -> None:
    """Work queued syncs until SIGTERM; running syncs finish their batch first."""
    cfg, queue = _open(config)
    options = WorkerOptions(
        concurrency=concurrency,
        heartbeat_s=heartbeat,
        stalled_after_s=stalled_after,
        reap_every_s=max(heartbeat, 0.5),
        poll_s=poll,
        name=name,
    )
    store: StateStore = open_store(cfg.state)
    config_file = str(config)

    def run(conn: ConnectionConfig, stop: threading.Event) -> SyncReport:
        return run_connection(cfg, conn, config_file=config_file, store=store, stop=stop)

    worker = SyncWorker(queue, cfg.connection, run, options)
    typer.echo(f"worker {worker.identity}: {len(cfg.connection)} connections, x{concurrency}")
    try:
        worker.run()
    finally:
        store.close()
        queue.close()


@workers_app.command("schedule")
def schedule_command(
    config: ConfigOpt,
    once: Annotated[bool, typer.Option(help="Queue every connection once and exit.")] = False,
) -> None:
    """Queue each connection's sync on its schedule (every_minutes or cron)."""
    cfg, queue = _open(config)
    try:
        queued = Scheduler(queue, cfg.connection).run(once=once)
    finally:
        queue.close()
    typer.echo(f"queued {len(queued)} syncs")


@workers_app.command("runs")
def runs_command(
    config: ConfigOpt,
    connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
) -> None:
    """Which worker ran which connection, when, and how it ended."""
    cfg, queue = _open(config)
    try:
        for r in queue.runs.runs(connection):
            end = r.finished_at.isoformat(timespec="seconds") if r.finished_at else "-"
            typer.echo(
                f"{r.started_at.isoformat(timespec='seconds')}  {end}  {r.connection}  "
                f"job {r.job_id}  {r.worker}  {r.outcome}  {r.detail or ''}".rstrip()
            )
    finally:
        queue.close()
    del cfg


def register(app: typer.Typer) -> None:
    """Add ``leadbridge workers …`` to the main app."""
    app.add_typer(workers_app, name="workers")


def main() -> None:
    """``python -m leadbridge.cli.workers``: the same commands, without the main app."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    try:
        workers_app()
    except LeadbridgeError as exc:
        sys.stderr.write(f"error: {' '.join(redact(str(exc)).split())}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
