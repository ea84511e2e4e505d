"""Retention (GDPR Art. 5(1)(e), nFADP Art. 6(4)): nothing kept longer than configured.

`enforce_retention` deletes, each by its own period (``[privacy.retention]``):

- leads not updated for ``inactive_leads_days`` and leads deleted in their CRM for
  ``deleted_leads_days``, with everything hanging off them (activities, outcomes,
  written values, score history) — a lead kept without its history, or the reverse,
  would be data without purpose;
- activities older than ``activities_days`` (the scorer's decay has long zeroed them);
- score history older than ``score_history_days`` (each lead's latest score is kept: it is
  what the CRM shows and what an access request explains);
- dead letters and run reports older than theirs;
- export files older than ``exports_days`` and files in ``cache_dirs`` older than
  ``cache_days``.

Rows go with ``secure_delete`` on and the database is vacuumed afterwards. The audit log
is not touched: it has its own, legally separate retention (nFADP DPO Art. 4(5)). The
daemon calls `enforce_retention` on a timer; ``leadbridge privacy retention`` runs it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from leadbridge.core.errors import StateError
from leadbridge.privacy.config import RetentionPolicy
from leadbridge.privacy.erasure import shred_file
from leadbridge.privacy.holdings import scrub_files, writer
from leadbridge.privacy.registry import PrivacyRegistry
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

__all__ = ["RetentionReport", "enforce_retention"]

_CHUNK = 500


class RetentionReport(BaseModel):
    """What one retention run deleted, by kind."""

    model_config = ConfigDict(frozen=True)

    ran_at: datetime
    deleted: dict[str, int]
    files_deleted: int


def _cutoff(now: datetime, days: float | None) -> datetime | None:
    return None if days is None else now - timedelta(days=days)


def _expired_leads(
    conn: sa.Connection, inactive: datetime | None, gone: datetime | None
) -> list[tuple[str, str, str]]:
    clauses = []
    if inactive is not None:
        # A lead never stamped by its CRM is judged by the last run that touched it.
        clauses.append(sa.and_(leads.c.updated_at.is_not(None), leads.c.updated_at < inactive))
    if gone is not None:
        clauses.append(
            sa.and_(
                leads.c.deleted.is_(True),
                sa.or_(leads.c.updated_at.is_(None), leads.c.updated_at < gone),
            )
        )
    if not clauses:
        return []
    rows = conn.execute(
        sa.select(leads.c.connection, leads.c.lead_key, leads.c.source_id).where(
            sa.or_(*clauses), leads.c.dirty == 0
        )
    ).all()
    return [(r.connection, r.lead_key, r.source_id) for r in rows]


def _delete_leads(conn: sa.Connection, doomed: Sequence[tuple[str, str, str]]) -> dict[str, int]:
    counts = dict.fromkeys(("leads", "activities", "outcomes", "written", "score_history"), 0)
    by_connection: dict[str, list[str]] = {}
    for connection, key, _sid in doomed:
        by_connection.setdefault(connection, []).append(key)
    for connection, keys in by_connection.items():
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            for name, table in (
                ("activities", activities),
                ("outcomes", outcomes),
                ("written", written),
                ("score_history", score_history),
                ("leads", leads),
            ):
                counts[name] += conn.execute(
                    table.delete().where(
                        table.c.connection == connection, table.c.lead_key.in_(chunk)
                    )
                ).rowcount
    return counts


def _old_history(conn: sa.Connection, cutoff: datetime) -> int:
    """Score history before `cutoff`, except each lead's latest entry."""
    latest = (
        sa.select(sa.func.max(score_history.c.id))
        .group_by(score_history.c.connection, score_history.c.lead_key)
        .scalar_subquery()
    )
    return conn.execute(
        score_history.delete().where(
            score_history.c.computed_at < cutoff, score_history.c.id.not_in(latest)
        )
    ).rowcount


def _old_files(directory: Path, cutoff: datetime) -> int:
    if not directory.is_dir():
        return 0
    count = 0
    for path in directory.rglob("*"):
        if path.is_file() and datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff:
            count += shred_file(path)
    return count


def enforce_retention(
    store: StateStore,
    policy: RetentionPolicy,
    *,
    registry: PrivacyRegistry | None = None,
    now: datetime | None = None,
) -> RetentionReport:
    """Delete everything older than its retention period; what was deleted."""
    at = now or datetime.now(UTC)
    deleted: dict[str, int] = {}
    try:
        with writer(store.engine).begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            doomed = _expired_leads(
                conn,
                _cutoff(at, policy.inactive_leads_days),
                _cutoff(at, policy.deleted_leads_days),
            )
            deleted.update(_delete_leads(conn, doomed))
            cut = _cutoff(at, policy.activities_days)
            if cut is not None:
                deleted["activities"] += conn.execute(
                    activities.delete().where(activities.c.occurred_at < cut)
                ).rowcount
            cut = _cutoff(at, policy.score_history_days)
            if cut is not None:
                deleted["score_history"] += _old_history(conn, cut)
            cut = _cutoff(at, policy.dead_letters_days)
            deleted["dead_letters"] = (
                conn.execute(dead_letters.delete().where(dead_letters.c.at < cut)).rowcount
                if cut is not None
                else 0
            )
            cut = _cutoff(at, policy.runs_days)
            deleted["runs"] = (
                conn.execute(
                    runs.delete().where(runs.c.started_at < cut, runs.c.status != "running")
                ).rowcount
                if cut is not None
                else 0
            )
    except sa.exc.SQLAlchemyError as exc:
        raise StateError(f"retention run failed: {exc.__class__.__name__}") from exc
    if any(deleted.values()):
        scrub_files(store.engine)
    files = 0
    cut = _cutoff(at, policy.exports_days)
    if cut is not None and registry is not None:
        expired = registry.with_files_before(cut)
        for request in expired:
            files += sum(shred_file(Path(name)) for name in request.files)
        registry.forget_files(r.id for r in expired)
    cut = _cutoff(at, policy.cache_days)
    if cut is not None:
        for directory in policy.cache_dirs:
            files += _old_files(Path(directory), cut)
    return RetentionReport(ran_at=at, deleted=deleted, files_deleted=files)
