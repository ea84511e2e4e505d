"""Worker run records: which worker ran which connection, when, and how it ended.

Scale-out workers share one PostgreSQL database; this table is their common logbook.
It answers the operator's questions ("who is syncing `hubspot-eu` right now?", "which
run died with its worker?") and lets tests prove that no connection was ever synced by
two workers at once, by comparing these intervals with what the CRM saw.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from leadbridge.core.database import create_tables
from leadbridge.core.errors import StateError

__all__ = ["Outcome", "WorkerRun", "WorkerRunLog"]

Outcome = Literal["running", "ok", "failed", "busy", "lost"]
"""`busy`: another holder had the connection's lock; `lost`: the worker died mid-run."""

_metadata = sa.MetaData()
worker_runs = sa.Table(
    "leadbridge_worker_runs",
    _metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
    sa.Column("job_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("connection", sa.String(200), nullable=False, index=True),
    sa.Column("worker", sa.String(300), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
)


class WorkerRun(BaseModel):
    """One attempt of one job by one worker."""

    model_config = ConfigDict(frozen=True)

    id: int
    job_id: int
    connection: str
    worker: str
    started_at: datetime
    finished_at: datetime | None
    outcome: Outcome
    detail: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class WorkerRunLog:
    """The `leadbridge_worker_runs` table, on the state database."""

    def __init__(self, url: str | sa.URL) -> None:
        try:
            self.engine = sa.create_engine(url, pool_pre_ping=True)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise StateError(f"invalid worker database URL: {exc.__class__.__name__}") from None

    def ensure_schema(self) -> None:
        """Create the table if missing (callers serialise this across processes)."""
        try:
            create_tables(self.engine, _metadata)
        except sa.exc.SQLAlchemyError as exc:
            raise StateError(f"cannot create worker run table: {exc.__class__.__name__}") from None

    def start(self, *, job_id: int, connection: str, worker: str) -> int:
        """Record that `worker` began `job_id` for `connection`; returns the run id."""
        with self.engine.begin() as conn:
            row = conn.execute(
                worker_runs.insert()
                .values(
                    job_id=job_id,
                    connection=connection,
                    worker=worker,
                    started_at=_now(),
                    outcome="running",
                )
                .returning(worker_runs.c.id)
            ).scalar_one()
        return int(row)

    def finish(self, run_id: int, outcome: Outcome, detail: str | None = None) -> None:
        """Close a run; a run already marked `lost` by a reaper stays lost."""
        with self.engine.begin() as conn:
            conn.execute(
                worker_runs.update()
                .where(worker_runs.c.id == run_id, worker_runs.c.outcome == "running")
                .values(finished_at=_now(), outcome=outcome, detail=detail)
            )

    def abandon(self, job_id: int) -> int:
        """Mark the still-open runs of a job whose worker stopped beating as `lost`."""
        with self.engine.begin() as conn:
            done = conn.execute(
                worker_runs.update()
                .where(worker_runs.c.job_id == job_id, worker_runs.c.outcome == "running")
                .values(outcome="lost", detail="worker stopped sending heartbeats")
            )
        return int(done.rowcount)

    def runs(self, connection: str | None = None) -> list[WorkerRun]:
        """Every recorded run, oldest first (optionally of one connection)."""
        query = sa.select(worker_runs).order_by(worker_runs.c.id)
        if connection is not None:
            query = query.where(worker_runs.c.connection == connection)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [WorkerRun.model_validate(dict(r)) for r in rows]

    def close(self) -> None:
        self.engine.dispose()
