"""The durable event queue: a webhook is answered 2xx only once its events are committed.

One table (``lb_webhook_events``) in the state database, through SQLAlchemy Core, so it
works on SQLite and PostgreSQL alike. The sender's event id is unique per connection:
a redelivery or a replayed request inserts nothing and is reported as a duplicate. Rows
stay after processing (``done``) for `retention_s` so late replays are still refused.

On SQLite the queue's own connections use ``synchronous=FULL`` (an acknowledged event
survives a power cut, not only a killed process) and ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa

from leadbridge.core.database import create_tables
from leadbridge.core.errors import StateError
from leadbridge.sync.webhooks.events import InboundEvent

__all__ = ["EnqueueResult", "EventQueue", "QueuedEvent", "open_queue"]

metadata = sa.MetaData()

events_table = sa.Table(
    "lb_webhook_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("connection", sa.String(128), nullable=False),
    sa.Column("event_key", sa.String(200), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("event_json", sa.Text, nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.UniqueConstraint("connection", "event_key", name="uq_lb_webhook_events_key"),
    sa.Index("ix_lb_webhook_events_due", "status", "next_attempt_at"),
)

PENDING, DONE, DEAD = "pending", "done", "dead"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class QueuedEvent:
    """An event as stored, with its bookkeeping."""

    id: int
    connection: str
    event: InboundEvent
    received_at: datetime
    attempts: int


@dataclass(frozen=True)
class EnqueueResult:
    """How many events of one request were new, and how many were already known."""

    accepted: int
    duplicates: int


class EventQueue:
    """Durable, deduplicated webhook events; safe to share between threads."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        try:
            create_tables(engine, metadata)
        except sa.exc.SQLAlchemyError as exc:
            raise StateError(f"cannot open the webhook queue: {exc.__class__.__name__}") from exc

    def close(self) -> None:
        self.engine.dispose()

    def enqueue(
        self, connection: str, events: Sequence[InboundEvent], *, now: datetime | None = None
    ) -> EnqueueResult:
        """Commit the new events of one request in one transaction; known keys are skipped."""
        at = now or datetime.now(UTC)
        unique = list({e.key: e for e in events}.values())
        if not unique:
            return EnqueueResult(0, len(events))
        for attempt in range(3):
            try:
                with self._lock, self.engine.begin() as conn:
                    known = set(
                        conn.execute(
                            sa.select(events_table.c.event_key).where(
                                events_table.c.connection == connection,
                                events_table.c.event_key.in_([e.key for e in unique]),
                            )
                        ).scalars()
                    )
                    fresh = [e for e in unique if e.key not in known]
                    if fresh:
                        conn.execute(
                            events_table.insert(),
                            [
                                {
                                    "connection": connection,
                                    "event_key": e.key,
                                    "action": e.action,
                                    "event_json": e.model_dump_json(),
                                    "received_at": at,
                                    "status": PENDING,
                                    "attempts": 0,
                                    "next_attempt_at": at,
                                }
                                for e in fresh
                            ],
                        )
                return EnqueueResult(len(fresh), len(events) - len(fresh))
            except sa.exc.IntegrityError:
                if attempt == 2:
                    raise
                continue  # another process inserted one of the keys meanwhile: re-read
            except sa.exc.SQLAlchemyError as exc:
                raise StateError(f"cannot queue webhook events: {exc.__class__.__name__}") from exc
        raise StateError("cannot queue webhook events")  # pragma: no cover - loop returns

    def due(self, *, limit: int = 500, now: datetime | None = None) -> list[QueuedEvent]:
        """Pending events whose next attempt is due, oldest first."""
        at = now or datetime.now(UTC)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(events_table)
                .where(events_table.c.status == PENDING, events_table.c.next_attempt_at <= at)
                .order_by(events_table.c.id)
                .limit(limit)
            ).all()
        return [
            QueuedEvent(
                id=r.id,
                connection=r.connection,
                event=InboundEvent.model_validate_json(r.event_json),
                received_at=_utc(r.received_at),
                attempts=r.attempts,
            )
            for r in rows
        ]

    def next_due_in(self, *, now: datetime | None = None) -> float | None:
        """Seconds until the earliest pending event is due (0 if already due), or None."""
        at = now or datetime.now(UTC)
        with self.engine.connect() as conn:
            first = conn.execute(
                sa.select(sa.func.min(events_table.c.next_attempt_at)).where(
                    events_table.c.status == PENDING
                )
            ).scalar()
        if first is None:
            return None
        return max((_utc(first) - at).total_seconds(), 0.0)

    def complete(self, ids: Sequence[int], *, now: datetime | None = None) -> None:
        """Mark events processed (kept for replay refusal until purged)."""
        self._finish(ids, DONE, None, now)

    def dead(self, ids: Sequence[int], error: str, *, now: datetime | None = None) -> None:
        """Give up on poison events (kept, with the reason, for inspection)."""
        self._finish(ids, DEAD, error[:2000], now)

    def _finish(
        self, ids: Sequence[int], status: str, error: str | None, now: datetime | None
    ) -> None:
        at = now or datetime.now(UTC)
        values: dict[str, Any] = {"status": status, "finished_at": at}
        if error is not None:
            values["last_error"] = error
        with self._lock, self.engine.begin() as conn:
            for chunk in _chunks(list(ids), 500):
                conn.execute(
                    events_table.update().where(events_table.c.id.in_(chunk)).values(**values)
                )

    def retry(
        self, ids: Sequence[int], error: str, *, delay_s: float, now: datetime | None = None
    ) -> None:
        """Count a failed attempt and schedule the next one `delay_s` from now."""
        at = (now or datetime.now(UTC)) + timedelta(seconds=delay_s)
        with self._lock, self.engine.begin() as conn:
            for chunk in _chunks(list(ids), 500):
                conn.execute(
                    events_table.update()
                    .where(events_table.c.id.in_(chunk))
                    .values(
                        attempts=events_table.c.attempts + 1,
                        next_attempt_at=at,
                        last_error=error[:2000],
                    )
                )

    def purge(self, older_than_s: float, *, now: datetime | None = None) -> int:
        """Forget processed events older than the replay horizon; returns how many."""
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=older_than_s)
        with self._lock, self.engine.begin() as conn:
            result = conn.execute(
                events_table.delete().where(
                    events_table.c.status == DONE, events_table.c.finished_at < cutoff
                )
            )
        return int(result.rowcount or 0)

    def depth(self) -> dict[tuple[str, str], int]:
        """Events by (connection, status)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(
                    events_table.c.connection, events_table.c.status, sa.func.count()
                ).group_by(events_table.c.connection, events_table.c.status)
            ).all()
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def oldest_pending(self) -> dict[str, datetime]:
        """Per connection, when its oldest unprocessed event arrived (backlog age)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(events_table.c.connection, sa.func.min(events_table.c.received_at))
                .where(events_table.c.status == PENDING)
                .group_by(events_table.c.connection)
            ).all()
        return {r[0]: _utc(r[1]) for r in rows if r[1] is not None}

    def statuses(self, connection: str) -> Counter[str]:
        """How many events of `connection` are pending, done, dead."""
        return Counter({s: n for (c, s), n in self.depth().items() if c == connection})

    def rows(self, connection: str) -> list[dict[str, Any]]:
        """Every stored event of `connection` (inspection and tests)."""
        with self.engine.connect() as conn:
            result = conn.execute(
                sa.select(events_table)
                .where(events_table.c.connection == connection)
                .order_by(events_table.c.id)
            ).all()
        rows = [dict(r._mapping) for r in result]
        for row in rows:
            row["event"] = orjson.loads(row.pop("event_json"))
        return rows


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sqlite_durable(dbapi_conn: Any, _record: Any) -> None:
    # SQLAlchemy issues BEGIN itself (below): the driver must not open transactions.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_queue(url: str | sa.URL) -> EventQueue:
    """The queue in the database at `url` (normally the state store's)."""
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StateError(f"invalid webhook queue URL: {exc}") from exc
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_durable)
        # Take the write lock up front: a read-then-insert that upgrades later can fail
        # at once with SQLITE_BUSY when another connection committed in between.
        sa.event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return EventQueue(engine)
