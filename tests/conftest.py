"""Shared fixtures: nothing here patches leadbridge code; servers are real, on 127.0.0.1.

Storage tests run on both engines through `db_url`. PostgreSQL comes from
``LEADBRIDGE_TEST_PG_URL`` (a server URL whose role may create databases) when set,
else from a throwaway cluster this session starts with Debian's binaries
(``/usr/lib/postgresql/*/bin``) in a temporary folder on a free port, and stops at the
end. Every test gets its own fresh database. Without binaries the PostgreSQL params are
skipped, unless ``LEADBRIDGE_REQUIRE_PG=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa

from leadbridge.core.redaction import install_log_redaction

PG_URL_ENV = "LEADBRIDGE_TEST_PG_URL"
PG_REQUIRE_ENV = "LEADBRIDGE_REQUIRE_PG"


@pytest.fixture(autouse=True, scope="session")
def _redact_logs() -> None:
    install_log_redaction()
    logging.getLogger("leadbridge").setLevel(logging.DEBUG)


def _pg_bin() -> Path | None:
    """The newest installed Debian PostgreSQL bin folder, if any."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get(PG_REQUIRE_ENV) == "1":
        pytest.fail(f"PostgreSQL required ({PG_REQUIRE_ENV}=1) but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


class _Cluster:
    """A throwaway PostgreSQL cluster: initdb, pg_ctl start, pg_ctl stop, rm -rf."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="leadbridge-pg-"))
        self.data = self.root / "data"
        # initdb refuses to run as root: the cluster then belongs to the `postgres` user.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.port = 0

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            args,
            cwd=self.root,
            user=self.user,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed: {done.stderr.strip()} {tail}")

    def start(self) -> str:
        # TCP logins need the password, as on a real server (tests check it never leaks).
        password = secrets.token_hex(12)
        pwfile = self.root / "pw"
        pwfile.write_text(password)
        if self.user is not None:
            shutil.chown(pwfile, self.user)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        last: Exception | None = None
        for _ in range(3):  # a free port can be taken between probing and binding
            self.port = _free_port()
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=200"
            )
            try:
                self._run(
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-o",
                    options,
                    "-l",
                    str(self.root / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                )
                return f"postgresql+psycopg://postgres:{password}@127.0.0.1:{self.port}/postgres"
            except RuntimeError as exc:
                last = exc
        raise RuntimeError(f"cannot start PostgreSQL: {last}")

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server URL (its maintenance database) for the whole session."""
    configured = os.environ.get(PG_URL_ENV)
    if configured:
        yield configured
        return
    bindir = _pg_bin()
    if bindir is None:
        _unavailable(f"no /usr/lib/postgresql/*/bin/initdb and {PG_URL_ENV} is unset")
    cluster = _Cluster(bindir)
    try:
        url = cluster.start()
    except (RuntimeError, OSError, subprocess.SubprocessError, KeyError) as exc:
        cluster.stop()
        _unavailable(str(exc).splitlines()[0])
    try:
        yield url
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh, empty database on the session's server; dropped after the test."""
    name = f"lbtest_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_server, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.SQLAlchemyError as exc:
        admin.dispose()
        _unavailable(f"cannot create a test database: {exc.__class__.__name__}")
    url = sa.make_url(pg_server).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for each supported engine: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))
