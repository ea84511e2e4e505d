"""The privacy tables in the state database: marks (suppression, objection) and requests.

- ``lb_privacy_marks``: keyed fingerprints (see `identity.py`) of people who were erased
  (*suppressed*: never re-imported) or who object to profiling (*objection*: never
  scored). Fingerprints only, so the list can outlive the data it protects.
- ``lb_privacy_requests``: every access, erasure and objection request with its status
  and result (an erasure certificate holds no contact data), plus the fingerprints of the
  person concerned and the files produced, so an erasure can find and delete earlier
  exports of the same person.

They live next to the sync tables so one transaction-capable database holds all state;
they are created on first use and never touch the sync schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import uuid4

import orjson
import sqlalchemy as sa

from leadbridge.core.database import create_tables
from leadbridge.core.errors import StateError

__all__ = ["MarkKind", "PrivacyRegistry", "PrivacyRequest", "RequestKind", "RequestStatus"]

MarkKind = Literal["suppressed", "objection"]
RequestKind = Literal["access", "erasure", "objection", "retention"]
RequestStatus = Literal["pending", "completed", "partial", "failed"]
_CHUNK = 500

metadata = sa.MetaData()

marks_table = sa.Table(
    "lb_privacy_marks",
    metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

requests_table = sa.Table(
    "lb_privacy_requests",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True)),
    sa.Column("fingerprints", sa.Text, nullable=False, default="[]"),
    sa.Column("files", sa.Text, nullable=False, default="[]"),
    sa.Column("result", sa.Text),
)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class PrivacyRequest:
    """One request as stored; `result` is the JSON the request produced (no contact data)."""

    id: str
    kind: str
    status: str
    actor: str
    created_at: datetime
    completed_at: datetime | None
    files: list[str]
    result: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "actor": self.actor,
            "created_at": self.created_at.isoformat(),
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "result": self.result,
        }


class PrivacyRegistry:
    """Marks and requests over a SQLAlchemy engine (the state store's)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(lb_write=True)  # the store's write lock
        try:
            create_tables(engine, metadata)
        except sa.exc.SQLAlchemyError as exc:
            raise StateError(f"cannot create the privacy tables: {exc.__class__.__name__}") from exc

    # -- marks ------------------------------------------------------------------------

    def mark(self, kind: MarkKind, fingerprints: Iterable[str], request_id: str) -> int:
        """Add fingerprints to a list (idempotent); how many were new."""
        wanted = sorted(set(fingerprints))
        now = datetime.now(UTC)
        with self._writer.begin() as conn:
            have = self._marked(conn, kind, wanted)
            rows = [
                {"fingerprint": fp, "kind": kind, "request_id": request_id, "created_at": now}
                for fp in wanted
                if fp not in have
            ]
            if rows:
                conn.execute(marks_table.insert(), rows)
        return len(rows)

    def unmark(self, kind: MarkKind, fingerprints: Iterable[str]) -> int:
        """Remove fingerprints from a list (an objection withdrawn); how many were there."""
        removed = 0
        with self._writer.begin() as conn:
            wanted = sorted(set(fingerprints))
            for start in range(0, len(wanted), _CHUNK):
                removed += conn.execute(
                    marks_table.delete().where(
                        marks_table.c.kind == kind,
                        marks_table.c.fingerprint.in_(wanted[start : start + _CHUNK]),
                    )
                ).rowcount
        return removed

    def marked(self, kind: MarkKind, fingerprints: Iterable[str]) -> set[str]:
        """Which of these fingerprints are on the list."""
        with self.engine.connect() as conn:
            return self._marked(conn, kind, sorted(set(fingerprints)))

    @staticmethod
    def _marked(conn: sa.Connection, kind: str, wanted: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(wanted), _CHUNK):
            found.update(
                conn.execute(
                    sa.select(marks_table.c.fingerprint).where(
                        marks_table.c.kind == kind,
                        marks_table.c.fingerprint.in_(wanted[start : start + _CHUNK]),
                    )
                ).scalars()
            )
        return found

    def count(self, kind: MarkKind) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(marks_table)
                    .where(marks_table.c.kind == kind)
                ).scalar_one()
            )

    # -- requests ---------------------------------------------------------------------

    def open_request(self, kind: RequestKind, *, actor: str, fingerprints: Iterable[str]) -> str:
        """Record a new pending request; its id."""
        request_id = f"{kind}-{uuid4().hex}"
        with self._writer.begin() as conn:
            conn.execute(
                requests_table.insert().values(
                    id=request_id,
                    kind=kind,
                    status="pending",
                    actor=actor,
                    created_at=datetime.now(UTC),
                    fingerprints=orjson.dumps(sorted(set(fingerprints))).decode(),
                    files="[]",
                )
            )
        return request_id

    def finish_request(
        self, request_id: str, status: RequestStatus, result: dict[str, Any]
    ) -> None:
        with self._writer.begin() as conn:
            conn.execute(
                requests_table.update()
                .where(requests_table.c.id == request_id)
                .values(
                    status=status,
                    completed_at=datetime.now(UTC),
                    result=orjson.dumps(result).decode(),
                )
            )

    def add_file(self, request_id: str, path: str) -> None:
        """Remember a file a request produced (an export), for erasure and retention."""
        with self._writer.begin() as conn:
            row = conn.execute(
                sa.select(requests_table.c.files).where(requests_table.c.id == request_id)
            ).first()
            if row is None:
                raise StateError(f"no privacy request {request_id!r}")
            files = [*orjson.loads(row[0]), path]
            conn.execute(
                requests_table.update()
                .where(requests_table.c.id == request_id)
                .values(files=orjson.dumps(files).decode())
            )

    def forget_files(self, request_ids: Iterable[str]) -> None:
        with self._writer.begin() as conn:
            for request_id in request_ids:
                conn.execute(
                    requests_table.update()
                    .where(requests_table.c.id == request_id)
                    .values(files="[]")
                )

    def get(self, request_id: str) -> PrivacyRequest | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(requests_table).where(requests_table.c.id == request_id)
            ).first()
        return None if row is None else _request(row)

    def touching(self, fingerprints: Iterable[str]) -> list[PrivacyRequest]:
        """Requests about anyone carrying one of these fingerprints (to find their files)."""
        wanted = set(fingerprints)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(requests_table).where(requests_table.c.files != "[]")
            ).all()
        return [
            _request(row)
            for row in rows
            if wanted.intersection(orjson.loads(row.fingerprints or "[]"))
        ]

    def with_files_before(self, cutoff: datetime) -> list[PrivacyRequest]:
        """Requests older than `cutoff` that still list files (retention of exports)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(requests_table).where(
                    requests_table.c.files != "[]", requests_table.c.created_at < cutoff
                )
            ).all()
        return [_request(row) for row in rows]


def _request(row: Any) -> PrivacyRequest:
    created = _utc(row.created_at)
    assert created is not None
    return PrivacyRequest(
        id=row.id,
        kind=row.kind,
        status=row.status,
        actor=row.actor,
        created_at=created,
        completed_at=_utc(row.completed_at),
        files=list(orjson.loads(row.files or "[]")),
        result=orjson.loads(row.result) if row.result else None,
    )
