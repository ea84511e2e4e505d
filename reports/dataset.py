"""The scored leads of a state store as columns: what every KPI is computed from.

One pass of a handful of set-based queries reads the store (SQLite or PostgreSQL,
through SQLAlchemy Core, JSON fields extracted by the database) into numpy arrays, one
row per scored, live lead. KPIs are then vectorised over those arrays, so a million
leads cost seconds, never a Python loop per metric.

Which score judges a lead: for a lead with an outcome, the last score computed at or
before the outcome (what the team saw when it acted); when every score postdates the
outcome (history backfilled by a first sync of an old CRM), the earliest one, and
`LeadTable.leaky` counts those. Leads without an outcome are judged by their latest score.

Funnel stage dates come from `Lead.custom["mql_at"]` / `["sql_at"]` (ISO 8601), which
connectors fill from the CRM's own stage stamps (HubSpot's lifecycle-stage dates); the
won date is the outcome's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import orjson
import sqlalchemy as sa
from numpy.typing import NDArray

from leadbridge.core.errors import StateError
from leadbridge.sync.state import StateStore, activities, leads, outcomes, score_history

__all__ = [
    "LOST",
    "NO_OUTCOME",
    "OPEN",
    "SEGMENTS",
    "WON",
    "Categorical",
    "HistoryCounts",
    "LeadTable",
    "epoch",
    "load_history_counts",
    "load_leads",
]

NO_OUTCOME, OPEN, WON, LOST = 0, 1, 2, 3
_STATUS = {"open": OPEN, "won": WON, "lost": LOST}
SEGMENTS: tuple[str, ...] = ("source", "channel", "language", "region", "owner")
"""Segment dimensions of the per-segment KPIs (seed 002: conversion per segment)."""
MISSING = "(none)"

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Categorical:
    """A text column as integer codes into sorted labels (missing values: ``(none)``)."""

    codes: IntArray
    labels: tuple[str, ...]

    @classmethod
    def of(cls, values: Sequence[Any]) -> Categorical:
        """Factorise with a dict (linear; `np.unique` on a million strings sorts them)."""
        seen: dict[str, int] = {}
        codes = np.array(
            [
                seen.setdefault(MISSING if v is None or v == "" else str(v), len(seen))
                for v in values
            ],
            dtype=np.int64,
        )
        labels = sorted(seen)
        if not labels:
            return cls(codes, ())
        order = np.array([labels.index(name) for name in seen], dtype=np.int64)
        return cls(order[codes], tuple(labels))

    def values(self) -> NDArray[np.str_]:
        """The decoded column (for tests and small exports)."""
        return np.array(self.labels, dtype=str)[self.codes] if self.labels else np.array([])


@dataclass(frozen=True)
class LeadTable:
    """One row per scored live lead; times are epoch seconds (NaN when unknown)."""

    connection: Categorical
    keys: NDArray[np.object_]
    score: IntArray
    tier: Categorical
    scored_at: FloatArray
    created: FloatArray
    mql_at: FloatArray
    sql_at: FloatArray
    status: IntArray
    outcome_at: FloatArray
    segments: dict[str, Categorical]
    history_ids: IntArray
    leaky: int
    unscored: int

    def __len__(self) -> int:
        return int(self.score.size)

    @property
    def won(self) -> NDArray[np.bool_]:
        return np.asarray(self.status == WON)

    def decided(self, as_of: float, maturity_days: float) -> NDArray[np.bool_]:
        """Leads whose fate is known: won or lost, or older than the maturity window."""
        old = np.nan_to_num(self.created, nan=-np.inf) <= as_of - maturity_days * 86_400.0
        return np.asarray((self.status == WON) | (self.status == LOST) | old)


@dataclass(frozen=True)
class HistoryCounts:
    """Every score ever computed, counted per day and score (drift over time)."""

    day: NDArray[np.str_]
    score: IntArray
    count: IntArray


def epoch(value: Any) -> float:
    """A datetime or ISO-8601 text as epoch seconds; NaN if absent or unreadable."""
    if value is None or value == "":
        return float("nan")
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return float("nan")
    if moment.tzinfo is None:  # SQLite hands back the stored UTC wall time, naive
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _epoch_sql(dialect: str, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """A stored timestamp as epoch seconds, computed by the database (no Python parsing)."""
    if dialect == "postgresql":
        return sa.extract("epoch", column)
    return (sa.func.julianday(column) - 2440587.5) * 86400.0


def _iso_epochs(values: Sequence[Any]) -> FloatArray:
    """ISO-8601 texts (``Z`` or offset) as epoch seconds, NaN when absent or unreadable.

    The common case, UTC with a ``Z`` as pydantic writes it, is parsed by numpy in C;
    only texts with another offset go through `datetime.fromisoformat`.
    """
    plain: list[str] = []
    odd: list[int] = []
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value:
            plain.append("NaT")
        elif value[-1] == "Z":
            plain.append(value[:-1])
        elif len(value) > 10 and ("+" in value[10:] or "-" in value[10:]):
            plain.append("NaT")
            odd.append(i)
        else:
            plain.append(value)
    try:
        stamps = np.array(plain, dtype="datetime64[us]")
    except ValueError:
        return np.array([epoch(v) for v in values], dtype=np.float64)
    out = stamps.astype(np.int64).astype(np.float64) / 1e6
    out[np.isnat(stamps)] = np.nan
    for i in odd:
        out[i] = epoch(values[i])
    return out


def load_leads(store: StateStore, *, connection: str | None = None) -> LeadTable:
    """Read every scored live lead (of one connection, or all) into columns."""
    try:
        with store.engine.connect() as conn:
            return _load(conn, connection)
    except sa.exc.SQLAlchemyError as exc:
        raise StateError(f"cannot read the state store: {exc.__class__.__name__}") from exc


def _scope(query: sa.Select[Any], column: sa.ColumnElement[Any], connection: str | None) -> Any:
    return query if connection is None else query.where(column == connection)


def _fetch(conn: sa.Connection, query: sa.Select[Any]) -> list[Any]:
    """All rows as plain DBAPI tuples.

    The columns read here need no SQLAlchemy result processing (ints, floats, text), and
    skipping its per-row `Row` objects halves the fetch time of a million-row read.
    """
    result = conn.execute(query)
    cursor = getattr(result, "cursor", None)
    rows: list[Any] = list(cursor.fetchall() if cursor is not None else result.all())
    result.close()
    return rows


def _floats(values: Sequence[Any]) -> FloatArray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


_LEAD_FIELDS = ("created_at", *(s for s in SEGMENTS if s != "channel"))


def _load(conn: sa.Connection, connection: str | None) -> LeadTable:
    dialect = conn.dialect.name
    h = score_history
    latest = _scope(
        sa.select(sa.func.max(h.c.id)).group_by(h.c.connection, h.c.lead_key),
        h.c.connection,
        connection,
    )
    rows = _fetch(
        conn,
        sa.select(
            h.c.connection,
            h.c.lead_key,
            h.c.id,
            h.c.score,
            h.c.tier,
            _epoch_sql(dialect, h.c.computed_at),
            leads.c.data,
        )
        .join(
            leads,
            sa.and_(leads.c.connection == h.c.connection, leads.c.lead_key == h.c.lead_key),
        )
        .where(h.c.id.in_(latest), leads.c.deleted.is_(False))
        .order_by(h.c.id),  # the id list's own order: no sort of a million rows
    )
    unscored = conn.execute(
        _scope(
            sa.select(sa.func.count()).select_from(leads).where(leads.c.deleted.is_(False)),
            leads.c.connection,
            connection,
        )
    ).scalar_one() - len(rows)
    n = len(rows)
    index = {(r[0], r[1]): i for i, r in enumerate(rows)}
    conns = [r[0] for r in rows]
    keys = [r[1] for r in rows]
    history_ids = np.array([r[2] for r in rows], dtype=np.int64)
    score = np.array([r[3] for r in rows], dtype=np.int64)
    tiers: list[str] = [r[4] for r in rows]
    scored_at = _floats([r[5] for r in rows])
    fields: dict[str, list[Any]] = {name: [None] * n for name in (*_LEAD_FIELDS, "mql", "sql")}
    for i, row in enumerate(rows):
        data = orjson.loads(row[6])
        for name in _LEAD_FIELDS:
            fields[name][i] = data.get(name)
        custom = data.get("custom") or {}
        fields["mql"][i] = custom.get("mql_at")
        fields["sql"][i] = custom.get("sql_at")
    del rows

    status = np.zeros(n, dtype=np.int64)
    outcome_at = np.full(n, np.nan)
    o = outcomes
    query = sa.select(o.c.connection, o.c.lead_key, o.c.status, _epoch_sql(dialect, o.c.at))
    for conn_name, key, state, at in conn.execute(_scope(query, o.c.connection, connection)):
        row_at = index.get((conn_name, key))
        if row_at is not None:
            status[row_at] = _STATUS.get(str(state), NO_OUTCOME)
            outcome_at[row_at] = np.nan if at is None else float(at)

    leaky = _point_in_time(conn, connection, index, score, tiers, scored_at, history_ids)
    channel = _main_channels(conn, connection, index)
    segments = {name: Categorical.of(fields[name]) for name in SEGMENTS if name != "channel"}
    segments["channel"] = Categorical.of(channel)
    return LeadTable(
        connection=Categorical.of(conns),
        keys=np.array(keys, dtype=object),
        score=score,
        tier=Categorical.of(tiers),
        scored_at=scored_at,
        created=_iso_epochs(fields["created_at"]),
        mql_at=_iso_epochs(fields["mql"]),
        sql_at=_iso_epochs(fields["sql"]),
        status=status,
        outcome_at=outcome_at,
        segments={name: segments[name] for name in SEGMENTS},
        history_ids=history_ids,
        leaky=leaky,
        unscored=int(unscored),
    )


def _point_in_time(
    conn: sa.Connection,
    connection: str | None,
    index: dict[tuple[str, str], int],
    score: IntArray,
    tiers: list[str],
    scored_at: FloatArray,
    history_ids: IntArray,
) -> int:
    """Replace the latest score of leads with an outcome by the one that preceded it.

    One pass over the history of the leads that have an outcome, in id order: the last
    score at or before the outcome wins; failing that, the first score.
    """
    h, o = score_history, outcomes
    dialect = conn.dialect.name
    query = _scope(
        sa.select(
            h.c.connection,
            h.c.lead_key,
            h.c.id,
            h.c.score,
            h.c.tier,
            _epoch_sql(dialect, h.c.computed_at),
            h.c.computed_at <= o.c.at,
        )
        .join(o, sa.and_(o.c.connection == h.c.connection, o.c.lead_key == h.c.lead_key))
        .order_by(h.c.connection, h.c.lead_key, h.c.id),
        h.c.connection,
        connection,
    )
    chosen: dict[tuple[str, str], tuple[int, str, float, int, bool]] = {}
    for conn_name, key, hid, value, tier, at, before in conn.execute(query):
        lead = (conn_name, key)
        current = chosen.get(lead)
        if current is None or before:
            chosen[lead] = (int(value), str(tier), float(at), int(hid), bool(before))
    leaky = 0
    for lead, (value, tier, at, hid, pre) in chosen.items():
        i = index.get(lead)
        if i is None:
            continue
        score[i], tiers[i], scored_at[i], history_ids[i] = value, tier, at, hid
        leaky += not pre
    return leaky


def _main_channels(
    conn: sa.Connection, connection: str | None, index: dict[tuple[str, str], int]
) -> list[str | None]:
    """Each lead's main channel: the one with the most activity (ties: alphabetical).

    A plain scan summed with numpy: cheaper than a per-lead ranking in SQL.
    """
    a = activities
    query = _scope(
        sa.select(a.c.connection, a.c.lead_key, a.c.channel, a.c.count), a.c.connection, connection
    )
    rows = _fetch(conn, query)
    n = len(index)
    if not rows or n == 0:
        return [None] * n
    names: dict[str, int] = {}
    lead_idx = np.array([index.get((r[0], r[1]), -1) for r in rows], dtype=np.int64)
    chan_idx = np.array([names.setdefault(str(r[2]), len(names)) for r in rows], dtype=np.int64)
    counts = np.array([r[3] or 1 for r in rows], dtype=np.float64)
    del rows
    known = lead_idx >= 0
    labels = sorted(names)
    remap = np.array([labels.index(name) for name in names], dtype=np.int64)
    totals = np.zeros((n, len(labels)))
    np.add.at(totals, (lead_idx[known], remap[chan_idx[known]]), counts[known])
    best = np.argmax(totals, axis=1)  # first maximum: alphabetical tie-break
    has = totals.max(axis=1) > 0
    return [labels[b] if ok else None for b, ok in zip(best.tolist(), has.tolist(), strict=True)]


def load_history_counts(store: StateStore, *, connection: str | None = None) -> HistoryCounts:
    """Scores computed per UTC day and score value, aggregated by the database."""
    h = score_history
    day = sa.func.substr(sa.cast(h.c.computed_at, sa.String), 1, 10).label("day")
    query = _scope(
        sa.select(day, h.c.score, sa.func.count().label("n")).group_by(day, h.c.score),
        h.c.connection,
        connection,
    )
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(query.order_by(day, h.c.score)).all()
    except sa.exc.SQLAlchemyError as exc:
        raise StateError(f"cannot read the score history: {exc.__class__.__name__}") from exc
    return HistoryCounts(
        day=np.array([str(r[0]) for r in rows], dtype=str),
        score=np.array([int(r[1]) for r in rows], dtype=np.int64),
        count=np.array([int(r[2]) for r in rows], dtype=np.int64),
    )
