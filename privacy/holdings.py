"""Finding everything the state store holds about one person, and deleting it for good.

`find_holdings` resolves a request (e-mail, phone, lead keys) to the stored leads it
names, across every connection: one person is usually one lead per CRM. E-mails and
lead keys identify; a lead found by its key also brings in the leads sharing its e-mail
(the same person in another CRM). A phone matches only when the request names it: a
switchboard number shared by colleagues must not widen an erasure on its own.

`purge_holdings` deletes the person's rows (lead, activities, outcomes, written values,
score history, dead letters that mention them) and removes them from stored run reports,
in one transaction with SQLite's ``secure_delete`` on, then `scrub_files` checkpoints the
WAL and VACUUMs, so no freed page or WAL frame keeps a copy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson
import sqlalchemy as sa

from leadbridge.core.errors import StateError
from leadbridge.core.models import Lead
from leadbridge.privacy.identity import SubjectQuery, normalise_email, normalise_phone
from leadbridge.sync.state import (
    StateStore,
    activities,
    dead_letters,
    leads,
    outcomes,
    runs,
    score_history,
    written,
)

__all__ = ["Holding", "find_holdings", "needles_of", "purge_holdings", "scrub_files", "writer"]

_CHUNK = 2000


@dataclass(frozen=True)
class Holding:
    """One stored lead of the person: which connection, which key, which CRM record."""

    connection: str
    lead_key: str
    source_id: str
    deleted: bool
    lead: Lead


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def find_holdings(store: StateStore, query: SubjectQuery, *, region: str = "CH") -> list[Holding]:
    """Every stored lead the request names, in (connection, lead key) order."""
    emails = {normalise_email(query.email)} if query.email else set()
    phone = normalise_phone(query.phone, region) if query.phone else None
    keys = set(query.lead_keys)
    found: dict[tuple[str, str], Holding] = {}
    for _round in range(2):
        before = len(found)
        for holding in _scan(store, emails, phone, keys, region):
            found[(holding.connection, holding.lead_key)] = holding
        # A lead named by key brings in the same person's leads elsewhere (same e-mail).
        more = {normalise_email(h.lead.email) for h in found.values() if h.lead.email}
        if more <= emails and len(found) == before:
            break
        emails |= more
    return [found[k] for k in sorted(found)]


def _scan(
    store: StateStore, emails: set[str], phone: str | None, keys: set[str], region: str
) -> Iterable[Holding]:
    tail = _digits(phone)[-7:] if phone else ""
    last: tuple[str, str] | None = None
    with store.engine.connect() as conn:
        while True:
            query = sa.select(
                leads.c.connection,
                leads.c.lead_key,
                leads.c.source_id,
                leads.c.data,
                leads.c.deleted,
            ).order_by(leads.c.connection, leads.c.lead_key)
            if last is not None:
                query = query.where(
                    sa.tuple_(leads.c.connection, leads.c.lead_key) > sa.tuple_(*last)
                )
            rows = conn.execute(query.limit(_CHUNK)).all()
            for row in rows:
                data = orjson.loads(row.data)
                email = data.get("email")
                hit = row.lead_key in keys or (
                    bool(email) and normalise_email(str(email)) in emails
                )
                stored_phone = data.get("phone")
                if not hit and phone and stored_phone and _digits(str(stored_phone)).endswith(tail):
                    hit = normalise_phone(str(stored_phone), region) == phone
                if hit:
                    yield Holding(
                        connection=row.connection,
                        lead_key=row.lead_key,
                        source_id=row.source_id,
                        deleted=bool(row.deleted),
                        lead=Lead.model_validate(data),
                    )
            if len(rows) < _CHUNK:
                return
            last = (rows[-1].connection, rows[-1].lead_key)


def needles_of(holdings: Sequence[Holding], query: SubjectQuery | None = None) -> list[str]:
    """Strings whose presence in a free-text column (a dead letter) means "about them"."""
    found: set[str] = set()
    for h in holdings:
        found.update((h.lead_key, f'"{h.source_id}"', f"/{h.source_id}"))
        lead = h.lead
        found.update(v for v in (lead.email, lead.phone) if v)
        if lead.first_name and lead.last_name:
            found.add(f"{lead.first_name} {lead.last_name}")
    if query is not None:
        found.update(v for v in (query.email, query.phone) if v)
    return sorted(n for n in found if len(n) >= 4)


def purge_holdings(
    store: StateStore, holdings: Sequence[Holding], needles: Sequence[str]
) -> dict[str, int]:
    """Delete the person's rows from every sync table; counts per table."""
    counts = dict.fromkeys(
        ("leads", "activities", "outcomes", "written", "score_history", "dead_letters", "runs"), 0
    )
    if not holdings:
        return counts
    lowered = [n.casefold() for n in needles]
    try:
        with writer(store.engine).begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            by_connection: dict[str, list[Holding]] = {}
            for h in holdings:
                by_connection.setdefault(h.connection, []).append(h)
            for connection, items in by_connection.items():
                keys = [h.lead_key for h in items]
                sids = [h.source_id for h in items]
                for name, table, column, values in (
                    ("activities", activities, activities.c.lead_key, keys),
                    ("outcomes", outcomes, outcomes.c.lead_key, keys),
                    ("written", written, written.c.lead_key, keys),
                    ("score_history", score_history, score_history.c.lead_key, keys),
                    ("leads", leads, leads.c.lead_key, keys),
                    ("dead_letters", dead_letters, dead_letters.c.record_id, sids),
                ):
                    counts[name] += conn.execute(
                        table.delete().where(table.c.connection == connection, column.in_(values))
                    ).rowcount
            counts["dead_letters"] += _purge_dead_letters(conn, lowered)
            counts["runs"] = _scrub_runs(conn, {h.lead_key for h in holdings}, lowered)
    except sa.exc.SQLAlchemyError as exc:
        raise StateError(f"erasing local data failed: {exc.__class__.__name__}") from exc
    return counts


def _mentions(text: str | None, lowered: Sequence[str]) -> bool:
    if not text:
        return False
    folded = text.casefold()
    return any(n in folded for n in lowered)


def _purge_dead_letters(conn: sa.Connection, lowered: Sequence[str]) -> int:
    rows = conn.execute(
        sa.select(dead_letters.c.id, dead_letters.c.payload, dead_letters.c.reason)
    ).all()
    doomed = [r.id for r in rows if _mentions(r.payload, lowered) or _mentions(r.reason, lowered)]
    for start in range(0, len(doomed), 500):
        conn.execute(
            dead_letters.delete().where(dead_letters.c.id.in_(doomed[start : start + 500]))
        )
    return len(doomed)


def _scrub_runs(conn: sa.Connection, keys: set[str], lowered: Sequence[str]) -> int:
    """Remove the person from stored run reports (their "top leads" list names people)."""
    changed = 0
    for row in conn.execute(sa.select(runs.c.id, runs.c.report_json)).all():
        if not row.report_json or not (
            _mentions(row.report_json, lowered) or any(k in row.report_json for k in keys)
        ):
            continue
        report = orjson.loads(row.report_json)
        if isinstance(report, dict) and isinstance(report.get("top"), list):
            report["top"] = [
                t
                for t in report["top"]
                if not (
                    isinstance(t, dict)
                    and (t.get("lead_key") in keys or _mentions(orjson.dumps(t).decode(), lowered))
                )
            ]
        text = orjson.dumps(report).decode()
        if _mentions(text, lowered):  # mentioned elsewhere (an error line): drop the report body
            text = orjson.dumps({"redacted": "erasure request"}).decode()
        conn.execute(runs.update().where(runs.c.id == row.id).values(report_json=text))
        changed += 1
    return changed


def writer(engine: sa.Engine) -> sa.Engine:
    """The engine for write transactions: the state store takes SQLite's lock up front."""
    return engine.execution_options(lb_write=True)


def scrub_files(engine: sa.Engine) -> None:
    """Make deleted rows unrecoverable from the database files (WAL and free pages).

    On SQLite, VACUUM must run outside any transaction, and the state store's engine
    begins one on every use, so it goes through a raw driver connection.
    """
    try:
        if engine.dialect.name == "sqlite":
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                for statement in ("PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM",
                                  "PRAGMA wal_checkpoint(TRUNCATE)"):  # fmt: skip
                    cursor.execute(statement)
                    cursor.fetchall()
                cursor.close()
            finally:
                raw.close()
        elif engine.dialect.name == "postgresql":
            autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
            with autocommit.connect() as conn:
                for table in (
                    leads,
                    activities,
                    outcomes,
                    written,
                    score_history,
                    dead_letters,
                    runs,
                ):
                    conn.exec_driver_sql(f"VACUUM FULL {table.name}")
    except (sa.exc.SQLAlchemyError, sqlite3.Error) as exc:
        raise StateError(f"erasure committed but scrubbing the files failed: {exc}") from exc
