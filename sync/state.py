"""The sync state store: cursors, staged records, written values, dead letters, runs.

Everything the engine must remember between runs lives here, in SQLite by default (a
file the user chooses) or PostgreSQL (``postgresql://user:pass@host/db``, psycopg 3),
through SQLAlchemy Core; the same contract tests run on both. Each method is one
transaction, so a process killed at any instant leaves the store consistent:

- a pulled page (its leads, activities, outcomes, deletions, rejects and the *staged*
  bookmark) is committed together, so a resumed pull neither loses nor repeats work;
- leads touched by a pull are marked *dirty* until their score has been written (or
  judged unchanged, or dead-lettered);
- the *committed* cursor only moves to the staged bookmark once no dirty lead is left,
  i.e. after every write it depends on was acknowledged.

Several processes may share one database (workers on PostgreSQL): the writers of a
connection take turns on a lock row (``SELECT ... FOR UPDATE``; on SQLite the database
write lock, taken up front with ``BEGIN IMMEDIATE``), which also hands out dirty marks in
commit order; readers never wait.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from leadbridge.core.database import create_tables, database_url, redact_password, safe_url
from leadbridge.core.errors import StateError
from leadbridge.core.models import (
    Activity,
    Bookmark,
    Channel,
    DeadLetter,
    Lead,
    Outcome,
    Page,
    ScoreResult,
)

__all__ = ["DirtySnapshot", "LeadRecord", "StateStore", "WrittenValues", "open_store"]

SCHEMA_VERSION = 1
metadata = sa.MetaData()

# Identifiers and names come from CRMs and configs, so they are TEXT: PostgreSQL enforces
# VARCHAR lengths where SQLite ignores them, and one long id must not fail a whole page.
# Surrogate keys are BIGINT on PostgreSQL (years of history) and INTEGER (= rowid) on SQLite.
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

meta_table = sa.Table(
    "lb_meta",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

cursors = sa.Table(
    "lb_cursors",
    metadata,
    sa.Column("connection", sa.Text, primary_key=True),
    sa.Column("stream", sa.Text, primary_key=True),
    sa.Column("cursor_field", sa.Text, nullable=False),
    sa.Column("value", sa.DateTime(timezone=True)),
    sa.Column("tiebreak_id", sa.Text),
    sa.Column("staged_value", sa.DateTime(timezone=True)),
    sa.Column("staged_tiebreak_id", sa.Text),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

leads = sa.Table(
    "lb_leads",
    metadata,
    sa.Column("connection", sa.Text, primary_key=True),
    sa.Column("lead_key", sa.Text, primary_key=True),
    sa.Column("source_id", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True)),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("dirty", sa.BigInteger, nullable=False, default=0),
    sa.Index("ix_lb_leads_dirty", "connection", "dirty"),
)

activities = sa.Table(
    "lb_activities",
    metadata,
    sa.Column("connection", sa.Text, primary_key=True),
    sa.Column("activity_id", sa.String(64), primary_key=True),
    sa.Column("lead_key", sa.Text, nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("source_id", sa.Text),
    sa.Column("value", sa.Float),
    sa.Column("count", sa.Integer, nullable=False, default=1),
    sa.Column("attributes", sa.Text, nullable=False, default="{}"),
    sa.Index("ix_lb_activities_lead", "connection", "lead_key"),
)

outcomes = sa.Table(
    "lb_outcomes",
    metadata,
    sa.Column("connection", sa.Text, primary_key=True),
    sa.Column("lead_key", sa.Text, primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("detail", sa.Text),
)

written = sa.Table(
    "lb_written",
    metadata,
    sa.Column("connection", sa.Text, primary_key=True),
    sa.Column("source_id", sa.Text, primary_key=True),
    sa.Column("lead_key", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("values_json", sa.Text, nullable=False),
    sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
)

score_history = sa.Table(
    "lb_score_history",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("connection", sa.Text, nullable=False),
    sa.Column("lead_key", sa.Text, nullable=False),
    sa.Column("score", sa.Integer, nullable=False),
    sa.Column("tier", sa.Text, nullable=False),
    sa.Column("config_version", sa.Text, nullable=False),
    sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("result_json", sa.Text, nullable=False),
    sa.Index("ix_lb_score_history_lead", "connection", "lead_key", "computed_at"),
)

dead_letters = sa.Table(
    "lb_dead_letters",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("connection", sa.Text, nullable=False),
    sa.Column("stream", sa.Text, nullable=False),
    sa.Column("record_id", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved", sa.Boolean, nullable=False, default=False),
)

runs = sa.Table(
    "lb_runs",
    metadata,
    sa.Column("id", _Id, primary_key=True, autoincrement=True),
    sa.Column("connection", sa.Text, nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("report_json", sa.Text),
)


@dataclass(frozen=True)
class DirtySnapshot:
    """Leads awaiting a score, and the dirty mark up to which settling may clear them."""

    keys: list[str]
    upto: int


_SEQ_PREFIX = "dirty_seq:"


def _seq_key(connection: str) -> str:
    """The lb_meta row holding a connection's last dirty mark (and serialising its writers)."""
    return _SEQ_PREFIX + connection


def _text(value: str) -> str:
    """PostgreSQL text cannot hold NUL; raw CRM payloads sometimes do."""
    return value.replace("\x00", "\ufffd")


@dataclass(frozen=True)
class WrittenValues:
    """The last values a CRM acknowledged for one record."""

    fingerprint: str
    values: dict[str, Any]


@dataclass(frozen=True)
class LeadRecord:
    """A stored lead with the bookkeeping the engine needs."""

    lead: Lead
    source_id: str
    deleted: bool


@overload
def _utc(value: datetime) -> datetime: ...
@overload
def _utc(value: None) -> None: ...
def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; everything leadbridge stores is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def activity_id(activity: Activity) -> str:
    """A stable id: the source's own id when there is one, else a content hash."""
    if activity.source_id:
        basis = f"{activity.source}\x1f{activity.source_id}"
    else:
        basis = "\x1f".join(
            (
                activity.lead_key,
                activity.kind,
                activity.occurred_at.isoformat(),
                str(activity.value),
            )
        )
    return hashlib.blake2b(basis.encode(), digest_size=16).hexdigest()


def _content(lead_json: str) -> str:
    """A lead's content without its modified time (which our own writes bump)."""
    data = orjson.loads(lead_json)
    data.pop("updated_at", None)
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


def fingerprint(values: Mapping[str, Any]) -> str:
    """A hash of written values, to skip writes that would change nothing."""
    return hashlib.sha256(orjson.dumps(dict(values), option=orjson.OPT_SORT_KEYS)).hexdigest()


class StateStore:
    """All engine state behind one object; safe to share between threads."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._write_lock = threading.Lock()
        # Write transactions carry this option: on SQLite it makes them BEGIN IMMEDIATE.
        self._writer = engine.execution_options(lb_write=True)
        try:
            with self._writer.begin() as conn:
                create_tables(conn, metadata)
                self._check_version(conn)
        except sa.exc.SQLAlchemyError as exc:
            raise StateError(
                f"cannot open state store {safe_url(engine.url)}: {_one_line(exc)}"
            ) from None

    # -- setup ----------------------------------------------------------------------

    def _check_version(self, conn: sa.Connection) -> None:
        self._insert_missing(
            conn, meta_table, {"key": "schema_version", "value": str(SCHEMA_VERSION)}
        )
        row = conn.execute(
            sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
        ).scalar_one()
        if int(row) != SCHEMA_VERSION:
            raise StateError(f"state store schema version {row} is not {SCHEMA_VERSION}")

    @contextmanager
    def _writing(self) -> Iterator[sa.Connection]:
        """One write transaction; threads of this process take turns (SQLite has one writer)."""
        with self._write_lock, self._writer.begin() as conn:
            yield conn

    def _claim(self, conn: sa.Connection, connection: str, *, mark: bool = False) -> int:
        """Lock the connection's sequence row for this transaction; allocate a dirty mark.

        Every writer of a connection's leads and cursors passes here first, so across
        processes (PostgreSQL ``FOR UPDATE``; SQLite ``BEGIN IMMEDIATE``) they run one at a
        time and marks are handed out in commit order: a snapshot's ``upto`` is then above
        every mark it saw and below every mark committed after it, which `settle` relies on.
        """
        key = _seq_key(connection)
        query = sa.select(meta_table.c.value).where(meta_table.c.key == key).with_for_update()
        last = conn.execute(query).scalar_one_or_none()
        if last is None:
            self._insert_missing(conn, meta_table, {"key": key, "value": "0"})
            last = conn.execute(query).scalar_one()
        if not mark:
            return 0
        # Wall-clock floor: marks stay above those of stores written before the counter.
        value = max(int(last) + 1, time.time_ns())
        conn.execute(meta_table.update().where(meta_table.c.key == key).values(value=str(value)))
        return value

    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(meta_table.c.value).where(meta_table.c.key == key)).first()
            return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._writing() as conn:
            self._upsert(conn, meta_table, [{"key": key, "value": value}], ["key"])

    def close(self) -> None:
        self.engine.dispose()

    @staticmethod
    def _insert(conn: sa.Connection, table: sa.Table) -> Any:
        dialect = conn.dialect.name
        if dialect == "sqlite":
            return sqlite.insert(table)
        if dialect == "postgresql":
            return postgresql.insert(table)
        raise StateError(f"unsupported database dialect {dialect!r}")  # pragma: no cover

    def _insert_missing(self, conn: sa.Connection, table: sa.Table, row: Mapping[str, Any]) -> None:
        """Insert unless the key exists (concurrent creators meet here without an error)."""
        conn.execute(self._insert(conn, table).values(**row).on_conflict_do_nothing())

    def _upsert(
        self,
        conn: sa.Connection,
        table: sa.Table,
        rows: Sequence[Mapping[str, Any]],
        keys: list[str],
    ) -> None:
        """Insert or update; of rows sharing a key the last wins, as row-by-row would."""
        if not rows:
            return
        # PostgreSQL refuses to touch one row twice in a single multi-row ON CONFLICT.
        unique = list({tuple(r[k] for k in keys): r for r in rows}.values())
        stmt = self._insert(conn, table)
        update = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
        conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=update), unique)

    # -- cursors --------------------------------------------------------------------

    def bookmark(self, connection: str, stream: str, *, staged: bool = False) -> Bookmark | None:
        """The committed bookmark of a stream, or the staged one (falling back to committed)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(cursors).where(
                    cursors.c.connection == connection, cursors.c.stream == stream
                )
            ).first()
        if row is None:
            return None
        value, tiebreak = row.value, row.tiebreak_id
        if staged and row.staged_value is not None:
            value, tiebreak = row.staged_value, row.staged_tiebreak_id
        if value is None:
            return None
        return Bookmark(
            stream=stream, cursor_field=row.cursor_field, value=_utc(value), tiebreak_id=tiebreak
        )

    def commit_bookmarks(self, connection: str, cap: datetime) -> dict[str, Bookmark]:
        """Promote staged bookmarks to committed ones, capped at `cap` (the run's start).

        Refuses while dirty leads remain: the cursor must never run ahead of the writes.
        """
        with self._writing() as conn:
            self._claim(conn, connection)  # no page may stage between the count and the move
            dirty = conn.execute(
                sa.select(sa.func.count())
                .select_from(leads)
                .where(
                    leads.c.connection == connection,
                    leads.c.dirty > 0,
                    leads.c.deleted.is_(False),
                )
            ).scalar_one()
            if dirty:
                raise StateError(f"{dirty} leads still await their write; cursors not advanced")
            promoted: dict[str, Bookmark] = {}
            rows = conn.execute(sa.select(cursors).where(cursors.c.connection == connection)).all()
            for row in rows:
                staged = _utc(row.staged_value)
                if staged is None:
                    continue
                value = min(staged, cap)
                tiebreak = row.staged_tiebreak_id if staged <= cap else None
                current = _utc(row.value)
                if current is not None and current > value:
                    value, tiebreak = current, row.tiebreak_id  # never move backwards
                conn.execute(
                    cursors.update()
                    .where(cursors.c.connection == connection, cursors.c.stream == row.stream)
                    .values(value=value, tiebreak_id=tiebreak, updated_at=datetime.now(UTC))
                )
                promoted[row.stream] = Bookmark(
                    stream=row.stream,
                    cursor_field=row.cursor_field,
                    value=value,
                    tiebreak_id=tiebreak,
                )
            return promoted

    def reset_staging(self, connection: str) -> None:
        """Forget staged bookmarks (a full run re-reads from the start)."""
        with self._writing() as conn:
            self._claim(conn, connection)
            conn.execute(
                cursors.update()
                .where(cursors.c.connection == connection)
                .values(staged_value=None, staged_tiebreak_id=None)
            )

    # -- staging pulled pages ---------------------------------------------------------

    def stage_page(self, connection: str, page: Page) -> set[str]:
        """Store one pulled page atomically; return the lead keys it made dirty."""
        now = datetime.now(UTC)
        dirty: set[str] = set()
        with self._writing() as conn:
            mark = self._claim(conn, connection, mark=True)
            known = self._stored_lead_data(conn, connection, [lead.key for lead in page.leads])
            lead_rows = []
            for lead in page.leads:
                source_id = next(iter(lead.source_ids.values()), lead.key)
                data = lead.model_dump_json()
                # Echo suppression: a re-read record (overlap window, or our own write
                # bumping the CRM's modified time) with the same content needs no re-score.
                changed = known.get(lead.key) != _content(data)
                lead_rows.append(
                    {
                        "connection": connection,
                        "lead_key": lead.key,
                        "source_id": source_id,
                        "data": data,
                        "updated_at": lead.updated_at,
                        "deleted": False,
                        "dirty": mark if changed else 0,
                    }
                )
                if changed:
                    dirty.add(lead.key)
            self._upsert_leads(conn, lead_rows)
            act_rows: dict[str, dict[str, Any]] = {
                activity_id(a): {
                    "connection": connection,
                    "activity_id": activity_id(a),
                    "lead_key": a.lead_key,
                    "channel": a.channel.value,
                    "kind": a.kind,
                    "occurred_at": a.occurred_at,
                    "source": a.source,
                    "source_id": a.source_id,
                    "value": a.value,
                    "count": a.count,
                    "attributes": orjson.dumps(dict(a.attributes)).decode(),
                }
                for a in page.activities
            }
            fresh = self._new_or_changed_activities(conn, connection, act_rows)
            self._upsert(
                conn, activities, [act_rows[i] for i in fresh], ["connection", "activity_id"]
            )
            activity_leads: set[str] = {str(act_rows[i]["lead_key"]) for i in fresh}
            out_rows = [
                {
                    "connection": connection,
                    "lead_key": o.lead_key,
                    "status": o.status.value,
                    "at": o.at,
                    "source": o.source,
                    "detail": None if o.detail is None else _text(o.detail),
                }
                for o in page.outcomes
            ]
            self._upsert(
                conn,
                outcomes,
                self._first_known(conn, connection, out_rows),
                ["connection", "lead_key"],
            )
            if activity_leads:
                keys = list(activity_leads)
                for chunk in _chunks(keys, 500):
                    conn.execute(
                        leads.update()
                        .where(leads.c.connection == connection, leads.c.lead_key.in_(chunk))
                        .values(dirty=mark)
                    )
                dirty |= activity_leads
            if page.deleted:
                for chunk in _chunks(list(page.deleted), 500):
                    conn.execute(
                        leads.update()
                        .where(leads.c.connection == connection, leads.c.source_id.in_(chunk))
                        .values(deleted=True, dirty=0)
                    )
            for reject in page.rejects:
                conn.execute(
                    dead_letters.insert().values(
                        connection=connection,
                        stream=reject.stream,
                        record_id=None if reject.record_id is None else _text(reject.record_id),
                        reason=_text(reject.reason),
                        payload=_text(reject.payload),
                        at=now,
                        resolved=False,
                    )
                )
            if page.bookmark is not None:
                self._stage_bookmark(conn, connection, page.bookmark, now)
        return dirty

    def _first_known(
        self, conn: sa.Connection, connection: str, rows: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Keep an unchanged outcome's first time.

        CRMs without a per-field timestamp date a status by the record's last change, and
        our own score write-back changes the record: re-reading it must not move a lost
        deal to the moment we wrote a score (it would break point-in-time training).
        """
        if not rows:
            return rows
        known: dict[str, tuple[str, datetime]] = {}
        for chunk in _chunks([str(r["lead_key"]) for r in rows], 500):
            found = conn.execute(
                sa.select(outcomes.c.lead_key, outcomes.c.status, outcomes.c.at).where(
                    outcomes.c.connection == connection, outcomes.c.lead_key.in_(chunk)
                )
            ).all()
            known.update({r.lead_key: (r.status, _utc(r.at)) for r in found})
        merged: list[dict[str, Any]] = []
        for row in rows:
            before = known.get(str(row["lead_key"]))
            if before is not None and before[0] == row["status"] and before[1] < row["at"]:
                row = {**row, "at": before[1]}
            merged.append(row)
        return merged

    def _stored_lead_data(
        self, conn: sa.Connection, connection: str, keys: list[str]
    ) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(keys, 500):
            rows = conn.execute(
                sa.select(leads.c.lead_key, leads.c.data, leads.c.deleted).where(
                    leads.c.connection == connection, leads.c.lead_key.in_(chunk)
                )
            ).all()
            found.update({r.lead_key: _content(r.data) for r in rows if not r.deleted})
        return found

    def _upsert_leads(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
        """Upsert leads; an unchanged re-read keeps its pending dirty flag."""
        if not rows:
            return
        changed = [r for r in rows if r["dirty"]]
        same = [r for r in rows if not r["dirty"]]
        self._upsert(conn, leads, changed, ["connection", "lead_key"])
        for row in same:
            conn.execute(
                leads.update()
                .where(leads.c.connection == row["connection"], leads.c.lead_key == row["lead_key"])
                .values(data=row["data"], updated_at=row["updated_at"], source_id=row["source_id"])
            )

    def _new_or_changed_activities(
        self, conn: sa.Connection, connection: str, rows: Mapping[str, Mapping[str, Any]]
    ) -> list[str]:
        existing: dict[str, tuple[Any, ...]] = {}
        for chunk in _chunks(list(rows), 500):
            found = conn.execute(
                sa.select(
                    activities.c.activity_id,
                    activities.c.lead_key,
                    activities.c.kind,
                    activities.c.occurred_at,
                    activities.c.value,
                    activities.c.count,
                    activities.c.attributes,
                ).where(activities.c.connection == connection, activities.c.activity_id.in_(chunk))
            ).all()
            existing.update({r[0]: (r[1], r[2], _utc(r[3]), r[4], r[5], r[6]) for r in found})
        fresh = []
        for aid, row in rows.items():
            mine = (
                row["lead_key"],
                row["kind"],
                row["occurred_at"],
                row["value"],
                row["count"],
                row["attributes"],
            )
            if existing.get(aid) != mine:
                fresh.append(aid)
        return fresh

    def _stage_bookmark(
        self, conn: sa.Connection, connection: str, bm: Bookmark, now: datetime
    ) -> None:
        row = conn.execute(
            sa.select(cursors.c.staged_value, cursors.c.value).where(
                cursors.c.connection == connection, cursors.c.stream == bm.stream
            )
        ).first()
        if row is None:
            conn.execute(
                cursors.insert().values(
                    connection=connection,
                    stream=bm.stream,
                    cursor_field=bm.cursor_field,
                    value=None,
                    tiebreak_id=None,
                    staged_value=bm.value,
                    staged_tiebreak_id=bm.tiebreak_id,
                    updated_at=now,
                )
            )
            return
        current = _utc(row.staged_value)
        if current is not None and current > bm.value:
            return  # pages of one stream arrive in cursor order; never regress
        conn.execute(
            cursors.update()
            .where(cursors.c.connection == connection, cursors.c.stream == bm.stream)
            .values(
                cursor_field=bm.cursor_field,
                staged_value=bm.value,
                staged_tiebreak_id=bm.tiebreak_id,
                updated_at=now,
            )
        )

    # -- reading for scoring ----------------------------------------------------------

    def dirty_keys(self, connection: str) -> list[str]:
        """Leads awaiting a score (and its write)."""
        return self.dirty_snapshot(connection).keys

    def dirty_snapshot(self, connection: str) -> DirtySnapshot:
        """The dirty leads now, with the mark that lets a concurrent re-dirty survive."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(leads.c.lead_key, leads.c.dirty).where(
                    leads.c.connection == connection, leads.c.dirty > 0, leads.c.deleted.is_(False)
                )
            ).all()
        # Sorted here, by code point: a PostgreSQL ORDER BY follows the server's collation.
        return DirtySnapshot(
            keys=sorted(str(r[0]) for r in rows), upto=max((int(r[1]) for r in rows), default=0)
        )

    def mark_all_dirty(self, connection: str) -> None:
        with self._writing() as conn:
            mark = self._claim(conn, connection, mark=True)
            conn.execute(
                leads.update()
                .where(leads.c.connection == connection, leads.c.deleted.is_(False))
                .values(dirty=mark)
            )

    def load_leads(self, connection: str, keys: Sequence[str]) -> dict[str, LeadRecord]:
        """Leads by key (deleted ones included, flagged)."""
        found: dict[str, LeadRecord] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(keys), 500):
                rows = conn.execute(
                    sa.select(
                        leads.c.lead_key, leads.c.source_id, leads.c.data, leads.c.deleted
                    ).where(leads.c.connection == connection, leads.c.lead_key.in_(chunk))
                ).all()
                for row in rows:
                    found[row.lead_key] = LeadRecord(
                        lead=Lead.model_validate_json(row.data),
                        source_id=row.source_id,
                        deleted=bool(row.deleted),
                    )
        return found

    def load_activities(self, connection: str, keys: Sequence[str]) -> dict[str, list[Activity]]:
        """Every stored activity of the given leads, oldest first."""
        by_lead: dict[str, list[Activity]] = {k: [] for k in keys}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(keys), 500):
                rows = conn.execute(
                    sa.select(activities)
                    .where(activities.c.connection == connection, activities.c.lead_key.in_(chunk))
                    .order_by(activities.c.occurred_at)
                ).all()
                for row in rows:
                    m = row._mapping
                    by_lead[m["lead_key"]].append(
                        Activity.model_construct(
                            lead_key=m["lead_key"],
                            channel=Channel(m["channel"]),
                            kind=m["kind"],
                            occurred_at=_utc(m["occurred_at"]),
                            source=m["source"],
                            source_id=m["source_id"],
                            value=m["value"],
                            count=m["count"],
                            attributes=orjson.loads(m["attributes"]),
                        )
                    )
        return by_lead

    def outcomes(self, connection: str) -> list[Outcome]:
        """Every decided or pending outcome the CRM reported for the connection's leads."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(outcomes).where(outcomes.c.connection == connection)
            ).all()
        return [
            Outcome(
                lead_key=r.lead_key,
                status=r.status,
                at=_utc(r.at),
                source=r.source,
                detail=r.detail,
            )
            for r in rows
        ]

    def lead_keys(self, connection: str) -> list[str]:
        """Keys of the connection's live leads, in a stable order (training from history)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(leads.c.lead_key)
                .where(leads.c.connection == connection, leads.c.deleted.is_(False))
                .order_by(leads.c.lead_key)
            ).all()
        return [r[0] for r in rows]

    def source_ids(self, connection: str) -> list[str]:
        """CRM ids of the connection's live leads (for delete sweeps by id diff)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(leads.c.source_id).where(
                    leads.c.connection == connection, leads.c.deleted.is_(False)
                )
            ).all()
        return [r[0] for r in rows]

    def count_leads(self, connection: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(leads)
                    .where(leads.c.connection == connection, leads.c.deleted.is_(False))
                ).scalar_one()
            )

    # -- written values ---------------------------------------------------------------

    def written_for(self, connection: str, source_ids: Sequence[str]) -> dict[str, WrittenValues]:
        """What the CRM last acknowledged for these records (fingerprint and values)."""
        found: dict[str, WrittenValues] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(source_ids), 500):
                rows = conn.execute(
                    sa.select(
                        written.c.source_id, written.c.fingerprint, written.c.values_json
                    ).where(written.c.connection == connection, written.c.source_id.in_(chunk))
                ).all()
                found.update(
                    {
                        r.source_id: WrittenValues(r.fingerprint, orjson.loads(r.values_json))
                        for r in rows
                    }
                )
        return found

    def written_values(self, connection: str) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(written.c.source_id, written.c.values_json).where(
                    written.c.connection == connection
                )
            ).all()
        return {r.source_id: orjson.loads(r.values_json) for r in rows}

    def settle(
        self,
        connection: str,
        *,
        written_rows: Iterable[tuple[str, str, Mapping[str, Any], str]] = (),
        unchanged: Iterable[str] = (),
        failed: Iterable[tuple[str, str, str, str]] = (),
        history: Iterable[ScoreResult] = (),
        upto: int | None = None,
    ) -> None:
        """Record acknowledged writes and close out leads, in one transaction.

        Only leads dirtied at or before `upto` (the snapshot they were scored from) are
        cleared; a lead changed again meanwhile stays dirty for the next round.

        `written_rows` are (source_id, lead_key, values, fingerprint) the CRM acknowledged;
        `unchanged` lead keys needed no write; `failed` are (lead_key, source_id, reason,
        payload) dead-lettered. All of them stop being dirty.
        """
        now = datetime.now(UTC)
        written_list = list(written_rows)
        failed_list = list(failed)
        done = (
            {lead_key for _, lead_key, _, _ in written_list}
            | set(unchanged)
            | {f[0] for f in failed_list}
        )
        with self._writing() as conn:
            self._claim(conn, connection)  # one writer per connection: no lock-order deadlocks
            self._upsert(
                conn,
                written,
                [
                    {
                        "connection": connection,
                        "source_id": sid,
                        "lead_key": key,
                        "fingerprint": fp,
                        "values_json": orjson.dumps(dict(values)).decode(),
                        "written_at": now,
                    }
                    for sid, key, values, fp in written_list
                ],
                ["connection", "source_id"],
            )
            for _lead_key, source_id, reason, payload in failed_list:
                conn.execute(
                    dead_letters.insert().values(
                        connection=connection,
                        stream="writeback",
                        record_id=_text(source_id),
                        reason=_text(reason),
                        payload=_text(payload),
                        at=now,
                        resolved=False,
                    )
                )
            hist = [
                {
                    "connection": connection,
                    "lead_key": r.lead_key,
                    "score": r.score,
                    "tier": r.tier,
                    "config_version": r.config_version,
                    "computed_at": r.computed_at,
                    "result_json": r.model_dump_json(),
                }
                for r in history
            ]
            if hist:
                conn.execute(score_history.insert(), hist)
            for chunk in _chunks(sorted(done), 500):
                query = leads.update().where(
                    leads.c.connection == connection, leads.c.lead_key.in_(chunk)
                )
                if upto is not None:
                    query = query.where(leads.c.dirty <= upto)
                conn.execute(query.values(dirty=0))

    def latest_scores(self, connection: str) -> dict[str, ScoreResult]:
        """The most recent score of every lead (from the history)."""
        latest = (
            sa.select(score_history.c.lead_key, sa.func.max(score_history.c.id).label("id"))
            .where(score_history.c.connection == connection)
            .group_by(score_history.c.lead_key)
            .subquery()
        )
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(score_history.c.lead_key, score_history.c.result_json).join(
                    latest, latest.c.id == score_history.c.id
                )
            ).all()
        return {r.lead_key: ScoreResult.model_validate_json(r.result_json) for r in rows}

    def score_history(self, connection: str, lead_key: str) -> list[ScoreResult]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(score_history.c.result_json)
                .where(
                    score_history.c.connection == connection, score_history.c.lead_key == lead_key
                )
                .order_by(score_history.c.id)
            ).all()
        return [ScoreResult.model_validate_json(r[0]) for r in rows]

    # -- dead letters and runs --------------------------------------------------------

    def dead_letters(
        self, connection: str | None = None, *, include_resolved: bool = False
    ) -> list[DeadLetter]:
        query = sa.select(dead_letters).order_by(dead_letters.c.id)
        if connection is not None:
            query = query.where(dead_letters.c.connection == connection)
        if not include_resolved:
            query = query.where(dead_letters.c.resolved.is_(False))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            DeadLetter(
                connection=r.connection,
                stream=r.stream,
                record_id=r.record_id,
                reason=r.reason,
                payload=r.payload,
                at=_utc(r.at),
            )
            for r in rows
        ]

    def begin_run(self, connection: str, mode: str, started_at: datetime) -> int:
        with self._writing() as conn:
            result = conn.execute(
                runs.insert().values(
                    connection=connection, mode=mode, started_at=started_at, status="running"
                )
            )
            key = result.inserted_primary_key
            if key is None:
                raise StateError("the database did not return the new run's id")
            return int(key[0])

    def finish_run(self, run_id: int, status: str, report_json: str) -> None:
        with self._writing() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(status=status, report_json=report_json, finished_at=datetime.now(UTC))
            )

    def runs(self, connection: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(runs).order_by(runs.c.id)
        if connection is not None:
            query = query.where(runs.c.connection == connection)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            {k: _utc(v) if isinstance(v, datetime) else v for k, v in r._mapping.items()}
            for r in rows
        ]


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    """Per-connection SQLite settings; transactions are begun by `_sqlite_begin`, not pysqlite."""
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    """Writers take SQLite's write lock up front (BEGIN IMMEDIATE).

    A deferred transaction that reads, then writes, fails at once with "database is
    locked" when another process committed in between; an immediate one waits its turn
    (busy_timeout) and then reads the latest data, like a PostgreSQL row lock.
    """
    immediate = bool(conn.get_execution_options().get("lb_write"))
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _one_line(exc: BaseException) -> str:
    """The driver's own first line (SQLAlchemy's wrapper adds SQL and a help link)."""
    inner = getattr(exc, "orig", None) or exc
    first = next((ln.strip() for ln in str(inner).splitlines() if ln.strip()), "")
    return f"{inner.__class__.__name__}: {first}" if first else inner.__class__.__name__


def open_store(target: str | Path) -> StateStore:
    """Open (creating if needed) a store from a SQLAlchemy URL or a SQLite file path.

    SQLite files and ``postgresql[+psycopg]://user:pass@host/db`` URLs are supported; a
    bad URL or an unreachable server is a one-line `StateError` without the password.
    """
    url = database_url(target, what="state store")
    options: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        # Threads share a pool; a connection the server dropped is replaced, not reused.
        options = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10}
        if "connect_timeout" not in url.query:
            options["connect_args"] = {"connect_timeout": 10}
    try:
        engine = sa.create_engine(url, **options)
    except (sa.exc.ArgumentError, ImportError) as exc:
        message = redact_password(_one_line(exc), str(target))
        raise StateError(f"cannot use state store {safe_url(url)}: {message}") from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
    try:
        return StateStore(engine)
    except StateError as exc:
        engine.dispose()
        raise StateError(redact_password(str(exc), str(target))) from None
