"""The guards around the queue: PostgreSQL only, one waiting job and one holder per connection."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import psycopg
import pytest

from leadbridge.core.errors import ConfigError
from leadbridge.sync.config import ConnectionConfig
from leadbridge.sync.engine import SyncReport
from leadbridge.sync.workers import (
    Scheduler,
    SyncQueue,
    SyncWorker,
    WorkerOptions,
    connection_lock,
    queue_conninfo,
)


@pytest.fixture
def queue(pg_url: str) -> Iterator[SyncQueue]:
    q = SyncQueue(pg_url)
    q.prepare()
    q.prepare()  # a second process starting later finds everything in place
    yield q
    q.close()


def test_workers_refuse_a_sqlite_state_with_a_one_line_config_error() -> None:
    with pytest.raises(ConfigError, match="PostgreSQL") as err:
        queue_conninfo("/tmp/state.db")
    assert err.value.key == "state"
    assert queue_conninfo("postgresql+psycopg://u:p@h:5/db") == "postgresql://u:p@h:5/db"
    with pytest.raises(ConfigError, match="two heartbeats"):
        WorkerOptions(heartbeat_s=10, stalled_after_s=15)


def test_scheduler_keeps_at_most_one_waiting_job_per_connection(queue: SyncQueue) -> None:
    conns = [ConnectionConfig(name=n, crm="hubspot") for n in ("a", "b")]
    scheduler = Scheduler(queue, conns)
    assert asyncio.run(scheduler.run_async(asyncio.Event(), once=True)) == ["a", "b"]
    assert asyncio.run(scheduler.run_async(asyncio.Event(), once=True)) == []
    with psycopg.connect(queue.conninfo) as conn:
        rows = conn.execute(
            "SELECT lock, queueing_lock, status FROM procrastinate_jobs ORDER BY id"
        ).fetchall()
    assert rows == [
        ("connection:a", "connection:a", "todo"),
        ("connection:b", "connection:b", "todo"),
    ]


def test_a_connection_held_elsewhere_is_skipped_not_run_twice(queue: SyncQueue) -> None:
    calls: list[str] = []

    def run(conn: ConnectionConfig, stop: threading.Event) -> SyncReport:
        calls.append(conn.name)
        raise AssertionError("must not run while another session holds the lock")

    worker = SyncWorker(queue, [ConnectionConfig(name="a", crm="hubspot")], run)
    with psycopg.connect(queue.conninfo, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (connection_lock("a"),))
        assert worker.sync("a", job_id=7) == "busy"
    assert calls == []
    [record] = queue.runs.runs("a")
    assert (record.job_id, record.outcome, record.finished_at is not None) == (7, "busy", True)
    with pytest.raises(ConfigError, match="no \\[\\[connection\\]\\] named 'zz'"):
        worker.sync("zz", job_id=8)
