"""How the syncs themselves are doing: API budget per CRM, lag, failures, dead letters.

Read from the run log (`lb_runs`, one `SyncReport` per run), the cursors and the
dead-letter table. API calls are shown against the minimum the run needed (pages to
read, batches to write) because the budget a CRM grants is the scarce resource: HubSpot
counts every call against a daily quota.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime

import orjson
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from leadbridge.core.errors import StateError
from leadbridge.reports.dataset import epoch
from leadbridge.sync.state import StateStore, cursors, dead_letters, leads

__all__ = ["ApiDay", "ApiRow", "Operations", "SyncRow", "operations"]


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class ApiRow(_Row):
    """API calls one connection spent over all its runs."""

    crm: str
    connection: str
    runs: int
    read: int
    write: int
    setup: int
    total: int
    minimum: int
    overhead: float | None
    per_day: float


class ApiDay(_Row):
    """Calls of one kind to one CRM on one UTC day."""

    day: str
    crm: str
    kind: str
    calls: int


class SyncRow(_Row):
    """Health of one connection's syncs."""

    connection: str
    crm: str
    runs: int
    ok: int
    partial: int
    failed: int
    last_status: str
    last_started_at: datetime | None
    last_elapsed_s: float | None
    since_last_run_s: float | None
    cursor_lag_s: float | None
    dead_letters_open: int
    last_errors: tuple[str, ...]


class Operations(_Row):
    """Both tables and the daily series."""

    api: tuple[ApiRow, ...]
    api_days: tuple[ApiDay, ...]
    sync: tuple[SyncRow, ...]


def _crm_of(store: StateStore, names: set[str], known: Mapping[str, str]) -> dict[str, str]:
    """The CRM behind each connection: configured, else the prefix of its lead keys."""
    found = {name: known[name] for name in names if name in known}
    missing = names - set(found)
    if missing:
        with store.engine.connect() as conn:
            rows = conn.execute(
                sa.select(leads.c.connection, sa.func.min(leads.c.lead_key))
                .where(leads.c.connection.in_(sorted(missing)))
                .group_by(leads.c.connection)
            ).all()
        for name, key in rows:
            found[name] = str(key).split(":", 1)[0] if key and ":" in str(key) else name
    return {name: found.get(name, name) for name in names}


def operations(
    store: StateStore,
    *,
    as_of: datetime,
    connection: str | None = None,
    crms: Mapping[str, str] | None = None,
) -> Operations:
    """API budget and sync health of every connection (or one)."""
    try:
        return _operations(store, as_of, connection, crms or {})
    except sa.exc.SQLAlchemyError as exc:
        raise StateError(f"cannot read the run log: {exc.__class__.__name__}") from exc


def _operations(
    store: StateStore, as_of: datetime, connection: str | None, known: Mapping[str, str]
) -> Operations:
    runs = store.runs(connection)
    with store.engine.connect() as conn:
        dl_query = (
            sa.select(dead_letters.c.connection, sa.func.count())
            .where(dead_letters.c.resolved.is_(False))
            .group_by(dead_letters.c.connection)
        )
        open_letters = {str(c): int(n) for c, n in conn.execute(dl_query)}
        cursor_rows = conn.execute(sa.select(cursors.c.connection, cursors.c.value)).all()
    oldest_cursor: dict[str, float] = {}
    for name, value in cursor_rows:
        if value is not None:
            at = epoch(value)
            oldest_cursor[name] = min(oldest_cursor.get(name, at), at)
    names = {str(r["connection"]) for r in runs} | set(open_letters)
    if connection is not None:
        names &= {connection}
    crm = _crm_of(store, names, known)
    now = as_of.timestamp()
    by_conn: dict[str, list[dict[str, object]]] = defaultdict(list)
    days: dict[tuple[str, str, str], int] = defaultdict(int)
    for run in runs:
        report = orjson.loads(str(run["report_json"])) if run.get("report_json") else {}
        run = {**run, "report": report}
        by_conn[str(run["connection"])].append(run)
        started = run.get("started_at")
        day = (
            datetime.fromtimestamp(epoch(started), tz=UTC).date().isoformat()
            if started
            else "unknown"
        )
        crm_name = crm.get(str(run["connection"]), str(run["connection"]))
        for kind, spent in dict(report.get("api_calls", {})).items():
            days[(day, crm_name, str(kind))] += int(spent)
    api: list[ApiRow] = []
    sync: list[SyncRow] = []
    for name in sorted(names):
        conn_runs = by_conn.get(name, [])
        calls: dict[str, int] = defaultdict(int)
        minimum = 0
        run_days: set[str] = set()
        for run in conn_runs:
            report = run["report"]
            assert isinstance(report, dict)
            for kind, n in dict(report.get("api_calls", {})).items():
                calls[str(kind)] += int(n)
            minimum += sum(int(n) for n in dict(report.get("min_api_calls", {})).values())
            if run.get("started_at"):
                run_days.add(
                    datetime.fromtimestamp(epoch(run["started_at"]), tz=UTC).date().isoformat()
                )
        total = sum(calls.values())
        if conn_runs:
            api.append(
                ApiRow(
                    crm=crm[name],
                    connection=name,
                    runs=len(conn_runs),
                    read=calls.get("read", 0),
                    write=calls.get("write", 0),
                    setup=calls.get("setup", 0),
                    total=total,
                    minimum=minimum,
                    overhead=total / minimum if minimum else None,
                    per_day=total / max(len(run_days), 1),
                )
            )
        last = conn_runs[-1] if conn_runs else None
        last_report = last["report"] if last else {}
        assert isinstance(last_report, dict)
        statuses = [str(r.get("status")) for r in conn_runs]
        finished = [epoch(r.get("finished_at")) for r in conn_runs if r.get("finished_at")]
        sync.append(
            SyncRow(
                connection=name,
                crm=crm[name],
                runs=len(conn_runs),
                ok=statuses.count("ok"),
                partial=statuses.count("partial"),
                failed=statuses.count("failed"),
                last_status=statuses[-1] if statuses else "never run",
                last_started_at=None
                if last is None or not last.get("started_at")
                else datetime.fromtimestamp(epoch(last["started_at"]), tz=UTC),
                last_elapsed_s=float(last_report["elapsed_s"])
                if "elapsed_s" in last_report
                else None,
                since_last_run_s=now - max(finished) if finished else None,
                cursor_lag_s=now - oldest_cursor[name] if name in oldest_cursor else None,
                dead_letters_open=open_letters.get(name, 0),
                last_errors=tuple(str(e)[:300] for e in list(last_report.get("errors", []))[:3]),
            )
        )
    return Operations(
        api=tuple(api),
        api_days=tuple(
            ApiDay(day=day, crm=c, kind=kind, calls=n) for (day, c, kind), n in sorted(days.items())
        ),
        sync=tuple(sync),
    )
