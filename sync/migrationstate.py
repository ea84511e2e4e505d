"""What a migration remembers: the staged plan, the id map, and how far `apply` got.

`plan` stages one row per source record and per source activity: the action (create,
update, skip, invalid), the external id it is written under, the values to write, and
whether it belongs to the sample. `apply` marks rows done *in the same transaction*
that records the target id (the id map), right after the CRM acknowledged the batch,
so a process killed at any instant resumes with at most one batch re-sent, and that
batch is an upsert on the external id: re-sending it changes nothing.

SQLAlchemy Core, portable between SQLite and PostgreSQL; every method is one transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from leadbridge.core.database import create_tables
from leadbridge.core.errors import StateError

__all__ = ["Item", "MigrationState"]

metadata = sa.MetaData()

items = sa.Table(
    "lb_migration_items",
    metadata,
    sa.Column("run", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("source_id", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(160), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("target_object", sa.String(64), nullable=False),
    sa.Column("target_id", sa.String(64)),
    sa.Column("link_source", sa.String(128)),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("changes", sa.Text, nullable=False, default="{}"),
    sa.Column("sample", sa.Boolean, nullable=False, default=False),
    sa.Column("done", sa.Boolean, nullable=False, default=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text),
    sa.Index("ix_lb_migration_pending", "run", "kind", "done"),
)

meta = sa.Table(
    "lb_migration_meta",
    metadata,
    sa.Column("run", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


@dataclass(frozen=True)
class Item:
    """One staged record or activity."""

    kind: str
    source_id: str
    key: str
    action: str
    target_object: str
    target_id: str | None
    link_source: str | None
    payload: dict[str, Any]
    changes: dict[str, Any]
    sample: bool
    done: bool
    attempts: int
    error: str | None


class MigrationState:
    """The migration tables of one run (``"hubspot->salesforce"``) on an engine."""

    def __init__(self, engine: sa.Engine, run: str) -> None:
        self.engine = engine
        self.run = run
        self._lock = threading.Lock()
        try:
            create_tables(engine, metadata)
        except sa.exc.SQLAlchemyError as exc:
            raise StateError(
                f"cannot create the migration tables: {exc.__class__.__name__}"
            ) from exc

    @classmethod
    def open(cls, url: str, run: str) -> MigrationState:
        """From a SQLAlchemy URL or a SQLite file path."""
        engine = sa.create_engine(url if "://" in url else f"sqlite:///{url}")
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        return cls(engine, run)

    # -- meta -------------------------------------------------------------------------

    def get(self, key: str) -> Any:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(meta.c.value).where(meta.c.run == self.run, meta.c.key == key)
            ).first()
        return None if row is None else orjson.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        with self._lock, self.engine.begin() as conn:
            conn.execute(meta.delete().where(meta.c.run == self.run, meta.c.key == key))
            conn.execute(
                meta.insert().values(run=self.run, key=key, value=orjson.dumps(value).decode())
            )

    # -- staging --------------------------------------------------------------------------

    def stage(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Replace the staged plan (done rows keep their target ids: a re-plan resumes)."""
        done = self.id_map_all()
        with self._lock, self.engine.begin() as conn:
            conn.execute(items.delete().where(items.c.run == self.run))
            batch: list[dict[str, Any]] = []
            for row in rows:
                target = done.get((row["kind"], row["source_id"]))
                batch.append(
                    {
                        "run": self.run,
                        "kind": row["kind"],
                        "source_id": row["source_id"],
                        "key": row["key"],
                        "action": row["action"],
                        "target_object": row["target_object"],
                        "target_id": target or row.get("target_id"),
                        "link_source": row.get("link_source"),
                        "payload": orjson.dumps(row.get("payload", {})).decode(),
                        "changes": orjson.dumps(row.get("changes", {})).decode(),
                        "sample": bool(row.get("sample")),
                        "done": target is not None or row["action"] in ("skip", "invalid"),
                        "attempts": 0,
                        "error": None,
                    }
                )
                if len(batch) >= 2000:
                    conn.execute(items.insert(), batch)
                    batch = []
            if batch:
                conn.execute(items.insert(), batch)

    def id_map_all(self) -> dict[tuple[str, str], str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(items.c.kind, items.c.source_id, items.c.target_id).where(
                    items.c.run == self.run, items.c.done.is_(True), items.c.target_id.is_not(None)
                )
            )
            return {(r.kind, r.source_id): r.target_id for r in rows}

    def id_map(self, kind: str = "record") -> dict[str, str]:
        """Source id -> target id of every record written so far."""
        return {s: t for (k, s), t in self.id_map_all().items() if k == kind}

    def pending(
        self,
        kinds: Sequence[str],
        *,
        sample_only: bool,
        action: str,
        max_attempts: int = 3,
        size: int = 200,
    ) -> Iterator[list[Item]]:
        """Rows still to write with `action`, in stable order, a batch at a time."""
        query = (
            sa.select(items)
            .where(
                items.c.run == self.run,
                items.c.kind.in_(list(kinds)),
                items.c.done.is_(False),
                items.c.action == action,
                items.c.attempts < max_attempts,
            )
            .order_by(items.c.kind, items.c.source_id)
        )
        if sample_only:
            query = query.where(items.c.sample.is_(True))
        with self.engine.connect() as conn:
            rows = [_item(r) for r in conn.execute(query)]
        for start in range(0, len(rows), size):
            yield rows[start : start + size]

    def all_items(self, kind: str | None = None) -> list[Item]:
        query = sa.select(items).where(items.c.run == self.run)
        if kind is not None:
            query = query.where(items.c.kind == kind)
        with self.engine.connect() as conn:
            return [_item(r) for r in conn.execute(query.order_by(items.c.kind, items.c.source_id))]

    def mark(self, kind: str, written: Mapping[str, str], failed: Mapping[str, str]) -> None:
        """Record a batch's outcome: source id -> target id, or source id -> reason."""
        with self._lock, self.engine.begin() as conn:
            for source_id, target_id in written.items():
                conn.execute(
                    items.update()
                    .where(
                        items.c.run == self.run,
                        items.c.kind == kind,
                        items.c.source_id == source_id,
                    )
                    .values(done=True, target_id=target_id, error=None)
                )
            for source_id, reason in failed.items():
                conn.execute(
                    items.update()
                    .where(
                        items.c.run == self.run,
                        items.c.kind == kind,
                        items.c.source_id == source_id,
                    )
                    .values(attempts=items.c.attempts + 1, error=reason[:500])
                )

    def counts(self) -> dict[str, dict[str, int]]:
        """Kind -> {action: n, done: n, failed: n}."""
        out: dict[str, dict[str, int]] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(items.c.kind, items.c.action, items.c.done, items.c.error).where(
                    items.c.run == self.run
                )
            )
            for row in rows:
                bucket = out.setdefault(row.kind, {})
                bucket[row.action] = bucket.get(row.action, 0) + 1
                if row.done and row.action not in ("skip", "invalid"):
                    bucket["done"] = bucket.get("done", 0) + 1
                if row.error and not row.done:
                    bucket["failed"] = bucket.get("failed", 0) + 1
        return out

    def close(self) -> None:
        self.engine.dispose()


def _item(row: Any) -> Item:
    return Item(
        row.kind,
        row.source_id,
        row.key,
        row.action,
        row.target_object,
        row.target_id,
        row.link_source,
        orjson.loads(row.payload),
        orjson.loads(row.changes),
        bool(row.sample),
        bool(row.done),
        int(row.attempts),
        row.error,
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def utcnow() -> datetime:
    """Now, aware (UTC)."""
    return datetime.now(UTC)
