"""Where a store lives: file paths and database URLs, parsed once, never shown with a password.

Every leadbridge store (state, model registry, corrections, audit) accepts a SQLite file
path or a SQLAlchemy URL. Plain ``postgresql://`` means psycopg 3, the driver leadbridge
ships. Messages show a URL with its password masked, and an unparsable URL not at all:
where a password would be in it is unknown.
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from leadbridge.core.errors import StateError

__all__ = ["create_tables", "database_url", "redact_password", "safe_url"]

DDL_LOCK = 0x6C625F7374617465
"""The PostgreSQL advisory lock every leadbridge schema creation takes ("lb_state")."""

_HINT = "expected a file path, sqlite:///path or postgresql://user:password@host/db"


def database_url(target: str | Path, *, what: str) -> sa.URL:
    """A SQLite or PostgreSQL URL for `target`; the file's folder is created if needed.

    `what` names the store in errors ("state store", "corrections store"...).
    """
    text = str(target)
    if "://" not in text:
        if text == ":memory:":
            return sa.URL.create("sqlite", database=text)
        path = Path(text).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"cannot create the {what} folder {path.parent}: {exc.strerror}"
            ) from None
        return sa.URL.create("sqlite", database=str(path))
    try:
        url = sa.make_url(text)
    except (sa.exc.ArgumentError, ValueError):
        raise StateError(f"invalid {what} URL: {_HINT}") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise StateError(
            f"unsupported {what} {safe_url(url)}: use a SQLite file or a PostgreSQL URL"
        )
    return url


def create_tables(target: sa.Engine | sa.Connection, metadata: sa.MetaData) -> None:
    """Create the missing tables of `metadata`, one process at a time on PostgreSQL.

    Several workers (or a daemon and a CLI) starting together would all see a table
    missing and all CREATE it; PostgreSQL then refuses all but one with a unique
    violation in its catalogue. One transaction-scoped advisory lock, shared by every
    store, makes them take turns. With a `Connection`, its transaction holds the lock.
    """
    if isinstance(target, sa.Engine):
        with target.begin() as conn:
            create_tables(conn, metadata)
        return
    if target.dialect.name == "postgresql":
        target.execute(sa.select(sa.func.pg_advisory_xact_lock(DDL_LOCK)))
    metadata.create_all(target)


def safe_url(url: str | sa.URL) -> str:
    """A location fit for a message: the password masked; an unparsable URL is not shown."""
    if isinstance(url, sa.URL):
        return url.render_as_string(hide_password=True)
    if "://" not in url:
        return url  # a file path
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):
        return "(an unparsable URL)"


def redact_password(message: str, url: str) -> str:
    """Drop the URL's password from a driver message, should the driver echo it."""
    try:
        password = sa.make_url(url).password
    except (sa.exc.ArgumentError, ValueError):
        match = re.search(r"://[^/:@]*:([^@/]*)@", url)
        password = match.group(1) if match else None
    return message.replace(str(password), "***") if password else message
