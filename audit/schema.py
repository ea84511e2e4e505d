"""The audit tables (SQLAlchemy Core, SQLite or PostgreSQL) and how an audit DB is opened.

The chain table holds only what may live forever: sequence, canonical body, hash, and an
unauthenticated copy of the subject pseudonym for indexed look-ups (reads re-check it
against the body). Everything personal or erasable lives beside it: ciphertexts keyed by
sequence, per-subject keys, checkpoints. The tables can share the state store's database
(their names are prefixed ``lb_audit_``) or live in their own.

SQLite connections opened here enable ``secure_delete`` (deleted rows are overwritten
with zeros, so a shredded key or ciphertext leaves no copy in free pages), WAL and
``synchronous=FULL`` (an acknowledged audit append survives power loss, not only a crash).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from leadbridge.core.database import database_url, safe_url
from leadbridge.core.errors import StateError

__all__ = [
    "checkpoints_table",
    "create_audit_engine",
    "entries_table",
    "meta_table",
    "metadata",
    "personal_table",
    "sqlite_pragmas",
    "subjects_table",
]

metadata = sa.MetaData()
_Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # INTEGER PK = rowid on SQLite

meta_table = sa.Table(
    "lb_audit_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

entries_table = sa.Table(
    "lb_audit_entries",
    metadata,
    sa.Column("seq", _Seq, primary_key=True, autoincrement=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("hash", sa.LargeBinary(32), nullable=False),
    sa.Column("subject", sa.String(32)),
    sa.Index("ix_lb_audit_entries_subject", "subject"),
)

personal_table = sa.Table(
    "lb_audit_personal",
    metadata,
    sa.Column("seq", _Seq, primary_key=True, autoincrement=False),
    sa.Column("subject", sa.String(32), nullable=False),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Index("ix_lb_audit_personal_subject", "subject"),
)

subjects_table = sa.Table(
    "lb_audit_subjects",
    metadata,
    sa.Column("lookup", sa.String(64), primary_key=True),
    sa.Column("pseudonym", sa.String(32), nullable=False, unique=True),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

checkpoints_table = sa.Table(
    "lb_audit_checkpoints",
    metadata,
    sa.Column("size", _Seq, primary_key=True, autoincrement=False),
    sa.Column("root", sa.LargeBinary(32), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """Per-connection SQLite settings the audit log relies on (see the module docstring)."""
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def create_audit_engine(target: str | Path) -> sa.Engine:
    """An engine for a SQLAlchemy URL or a SQLite file path (its folder created if needed)."""
    url = database_url(target, what="audit store")
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError, ValueError) as exc:
        raise StateError(
            f"unusable audit store {safe_url(url)}: {exc.__class__.__name__}"
        ) from None
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", sqlite_pragmas)
    return engine
