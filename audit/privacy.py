"""Keeping personal data out of the chain and, once erased, out of the files.

Two duties that are easy to get subtly wrong, so they live in one place:

- `check_event`: the chain is append-only and replicated to a second location, so
  whatever reaches it in clear stays forever. `details` and `reason` must therefore be
  non-personal (field names, versions, counts). An email-looking string, or the subject's
  own id, is refused; so is anything JSON cannot spell one way (NaN, non-string keys).
  A heuristic cannot prove the absence of personal data; it catches the usual mistakes.
- `scrub_deleted`: a DELETE only unlinks rows. On SQLite, ``secure_delete`` (set on every
  audit connection) zeroes the freed cells, and the WAL, which still holds the pages as
  they were written, is checkpointed and truncated. `compact` additionally VACUUMs
  (SQLite) or ``VACUUM FULL``s the two erasable tables (PostgreSQL, whose dead tuples
  otherwise stay on disk until overwritten).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from leadbridge.core.errors import StateError
from leadbridge.core.models import AuditEvent

__all__ = ["check_event", "scrub_deleted"]

_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}")


def check_event(event: AuditEvent) -> None:
    """Raise ValueError if `event` would put personal data in the chain in clear."""
    if event.personal and event.subject is None:
        raise ValueError(f"{event.kind} event has personal values but no subject to key them")
    subject = event.subject

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if ("@" in value and _EMAIL.search(value)) or (subject and subject in value):
                raise ValueError(f"{event.kind} event details/reason hold personal data")
        elif isinstance(value, dict | Mapping):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise ValueError(f"{event.kind} event details have a non-string key")
                walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{event.kind} event details hold a non-finite number")

    walk(event.details)
    walk(event.reason)


def scrub_deleted(engine: sa.Engine, *, compact: bool = False) -> None:
    """Make bytes deleted by a committed erasure unrecoverable from the database files."""
    dialect = engine.dialect.name
    try:
        if dialect == "sqlite":
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                if compact:
                    conn.exec_driver_sql("VACUUM")
        elif dialect == "postgresql" and compact:
            autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
            with autocommit.connect() as conn:
                conn.exec_driver_sql("VACUUM FULL lb_audit_personal, lb_audit_subjects")
    except sa.exc.SQLAlchemyError as exc:
        raise StateError(f"erasure committed but scrubbing the files failed: {exc}") from exc
