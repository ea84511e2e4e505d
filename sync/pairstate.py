"""What two-way sync remembers about a pair of CRMs between cycles.

- *links*: which record on side a is which record on side b, and whether the pair is
  live or was ended by a delete or a merge (a tombstone keeps an echo of our own delete
  from being treated as news);
- *field states*: per link and field, a hash of the canonical value last seen on each
  side, a hash of the value leadbridge itself last wrote there (echo suppression), and
  when each side's value was first seen to change (for "newest wins");
- *cursors*: per side, the modification time to read from next, and the field names the
  CRM had (so a field removed since is reported as such when the mapping is loaded);
- the *conflict log*, with manual overrides waiting to be applied.

Values are stored as hashes except in the conflict log, whose whole point is that a
person can see both values and choose. Tables use SQLAlchemy Core types that exist on
SQLite and PostgreSQL alike; every method is one transaction.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
import sqlalchemy as sa

from leadbridge.core.database import create_tables
from leadbridge.core.errors import StateError
from leadbridge.mappings.transforms import Canonical

__all__ = ["Conflict", "FieldState", "Link", "PairState", "value_hash"]

metadata = sa.MetaData()

links = sa.Table(
    "lb_bisync_links",
    metadata,
    sa.Column("pair", sa.String(128), primary_key=True),
    sa.Column("a_id", sa.String(128), primary_key=True),
    sa.Column("b_id", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_lb_bisync_links_b", "pair", "b_id"),
)

field_states = sa.Table(
    "lb_bisync_fields",
    metadata,
    sa.Column("pair", sa.String(128), primary_key=True),
    sa.Column("a_id", sa.String(128), primary_key=True),
    sa.Column("field", sa.String(128), primary_key=True),
    sa.Column("a_hash", sa.String(32)),
    sa.Column("b_hash", sa.String(32)),
    sa.Column("a_written", sa.String(32)),
    sa.Column("b_written", sa.String(32)),
    sa.Column("a_changed_at", sa.DateTime(timezone=True)),
    sa.Column("b_changed_at", sa.DateTime(timezone=True)),
)

cursors = sa.Table(
    "lb_bisync_cursors",
    metadata,
    sa.Column("pair", sa.String(128), primary_key=True),
    sa.Column("side", sa.String(1), primary_key=True),
    sa.Column("value", sa.DateTime(timezone=True)),
    sa.Column("catalog", sa.Text, nullable=False, default="[]"),
)

conflicts = sa.Table(
    "lb_bisync_conflicts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pair", sa.String(128), nullable=False),
    sa.Column("a_id", sa.String(128), nullable=False),
    sa.Column("b_id", sa.String(128), nullable=False),
    sa.Column("field", sa.String(128), nullable=False),
    sa.Column("a_value", sa.Text),
    sa.Column("b_value", sa.Text),
    sa.Column("policy", sa.String(32), nullable=False),
    sa.Column("winner", sa.String(4), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("override", sa.Text),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Index("ix_lb_bisync_conflicts_status", "pair", "status"),
)

LinkStatus = Literal["live", "deleted", "merged"]


def value_hash(value: object) -> str:
    """A short, stable hash of a canonical value (``None`` hashes too: blank is a value)."""
    return hashlib.sha256(orjson.dumps(value)).hexdigest()[:24]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class Link:
    """One pair of records."""

    a_id: str
    b_id: str
    status: LinkStatus


@dataclass(frozen=True)
class FieldState:
    """What was last seen and written for one field of one link."""

    a_hash: str | None = None
    b_hash: str | None = None
    a_written: str | None = None
    b_written: str | None = None
    a_changed_at: datetime | None = None
    b_changed_at: datetime | None = None


@dataclass(frozen=True)
class Conflict:
    """One logged conflict (values as JSON text)."""

    id: int
    a_id: str
    b_id: str
    field: str
    a_value: Canonical
    b_value: Canonical
    policy: str
    winner: str
    status: str
    override: Canonical
    at: datetime


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class PairState:
    """The bisync tables of one pair (`pair` names it) on a SQLAlchemy engine."""

    def __init__(self, engine: sa.Engine, pair: str) -> None:
        self.engine = engine
        self.pair = pair
        self._lock = threading.Lock()
        try:
            create_tables(engine, metadata)
        except sa.exc.SQLAlchemyError as exc:
            raise StateError(f"cannot create the bisync tables: {exc.__class__.__name__}") from exc

    @classmethod
    def open(cls, url: str, pair: str) -> PairState:
        """From a SQLAlchemy URL or a SQLite file path."""
        target = url if "://" in url else f"sqlite:///{url}"
        engine = sa.create_engine(target)
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        return cls(engine, pair)

    def _upsert(
        self,
        conn: sa.Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        keys: list[str],
    ) -> None:
        if not rows:
            return
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql as dialect
        else:
            from sqlalchemy.dialects import sqlite as dialect  # type: ignore[no-redef]
        stmt = dialect.insert(table)
        update = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=update), list(rows))

    # -- links ----------------------------------------------------------------------

    def links_for(self, side: Literal["a", "b"], ids: Sequence[str]) -> dict[str, Link]:
        """Links whose `side` id is in `ids`, keyed by that id."""
        column = links.c.a_id if side == "a" else links.c.b_id
        out: dict[str, Link] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(ids))):
                rows = conn.execute(
                    sa.select(links).where(links.c.pair == self.pair, column.in_(chunk))
                )
                for row in rows:
                    link = Link(row.a_id, row.b_id, row.status)
                    key = row.a_id if side == "a" else row.b_id
                    if key not in out or link.status == "live":
                        out[key] = link
        return out

    def count_links(self, status: LinkStatus = "live") -> int:
        with self.engine.connect() as conn:
            query = (
                sa.select(sa.func.count())
                .select_from(links)
                .where(links.c.pair == self.pair, links.c.status == status)
            )
            return int(conn.execute(query).scalar_one())

    def save_links(self, items: Sequence[Link], at: datetime) -> None:
        rows = [
            {
                "pair": self.pair,
                "a_id": i.a_id,
                "b_id": i.b_id,
                "status": i.status,
                "updated_at": at,
            }
            for i in items
        ]
        with self._lock, self.engine.begin() as conn:
            self._upsert(conn, links, rows, ["pair", "a_id"])

    # -- field states -----------------------------------------------------------------

    def field_states(self, a_ids: Sequence[str]) -> dict[str, dict[str, FieldState]]:
        out: dict[str, dict[str, FieldState]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(dict.fromkeys(a_ids))):
                query = sa.select(field_states).where(
                    field_states.c.pair == self.pair, field_states.c.a_id.in_(chunk)
                )
                for row in conn.execute(query):
                    out.setdefault(row.a_id, {})[row.field] = FieldState(
                        row.a_hash,
                        row.b_hash,
                        row.a_written,
                        row.b_written,
                        _utc(row.a_changed_at),
                        _utc(row.b_changed_at),
                    )
        return out

    def save_states(self, states: Mapping[tuple[str, str], FieldState]) -> None:
        rows = [
            {
                "pair": self.pair,
                "a_id": a_id,
                "field": name,
                "a_hash": s.a_hash,
                "b_hash": s.b_hash,
                "a_written": s.a_written,
                "b_written": s.b_written,
                "a_changed_at": s.a_changed_at,
                "b_changed_at": s.b_changed_at,
            }
            for (a_id, name), s in states.items()
        ]
        with self._lock, self.engine.begin() as conn:
            for start in range(0, len(rows), 2000):
                self._upsert(
                    conn, field_states, rows[start : start + 2000], ["pair", "a_id", "field"]
                )

    # -- cursors ----------------------------------------------------------------------

    def cursor(self, side: Literal["a", "b"]) -> tuple[datetime | None, list[str]]:
        """The time to read `side` from, and the field names it had at the last run."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(cursors).where(cursors.c.pair == self.pair, cursors.c.side == side)
            ).first()
        if row is None:
            return None, []
        return _utc(row.value), list(orjson.loads(row.catalog or "[]"))

    def save_cursor(
        self, side: Literal["a", "b"], value: datetime | None, catalog: Sequence[str]
    ) -> None:
        row = {
            "pair": self.pair,
            "side": side,
            "value": value,
            "catalog": orjson.dumps(sorted(catalog)).decode(),
        }
        with self._lock, self.engine.begin() as conn:
            self._upsert(conn, cursors, [row], ["pair", "side"])

    # -- conflicts --------------------------------------------------------------------

    def log_conflicts(self, items: Sequence[Mapping[str, Any]], at: datetime) -> None:
        """Append conflicts: dicts with a_id, b_id, field, a_value, b_value, policy, winner."""
        rows = [
            {
                **dict(item),
                "pair": self.pair,
                "at": at,
                "a_value": _text(item["a_value"]),
                "b_value": _text(item["b_value"]),
                "status": item.get("status", "auto"),
            }
            for item in items
        ]
        if rows:
            with self._lock, self.engine.begin() as conn:
                conn.execute(conflicts.insert(), rows)

    def conflicts(self, status: str | None = None, limit: int = 1000) -> list[Conflict]:
        query = sa.select(conflicts).where(conflicts.c.pair == self.pair)
        if status is not None:
            query = query.where(conflicts.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(conflicts.c.id).limit(limit)).all()
        return [
            Conflict(
                r.id,
                r.a_id,
                r.b_id,
                r.field,
                _value(r.a_value),
                _value(r.b_value),
                r.policy,
                r.winner,
                r.status,
                _value(r.override),
                _utc(r.at) or r.at,
            )
            for r in rows
        ]

    def override(self, conflict_id: int, value: Canonical) -> None:
        """Queue a person's choice for a conflict; the next cycle writes it to both sides."""
        with self._lock, self.engine.begin() as conn:
            done = conn.execute(
                conflicts.update()
                .where(conflicts.c.pair == self.pair, conflicts.c.id == conflict_id)
                .values(status="override", override=_text(value))
            )
            if done.rowcount != 1:
                raise StateError(f"no conflict #{conflict_id} in pair {self.pair!r}")

    def pending_overrides(self) -> dict[tuple[str, str], tuple[int, Canonical]]:
        """(a_id, field) -> (conflict id, chosen value) of overrides not applied yet."""
        return {(c.a_id, c.field): (c.id, c.override) for c in self.conflicts("override")}

    def resolve(self, ids: Sequence[int], at: datetime) -> None:
        if not ids:
            return
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                conflicts.update()
                .where(conflicts.c.pair == self.pair, conflicts.c.id.in_(list(ids)))
                .values(status="resolved", resolved_at=at)
            )

    def close(self) -> None:
        self.engine.dispose()


def _text(value: Canonical) -> str:
    return orjson.dumps(value).decode()[:2000]


def _value(text: str | None) -> Canonical:
    if text is None:
        return None
    loaded: Canonical = orjson.loads(text)
    return loaded


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
