"""Opening stores by URL: plain postgresql:// works, bad ones fail in one line, no password."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import sqlalchemy as sa

from leadbridge.audit import AuditLog
from leadbridge.core.errors import StateError
from leadbridge.scoring.extraction.corrections import CorrectionStore
from leadbridge.scoring.predictive.registry import ModelRegistry
from leadbridge.sync.state import open_store

SECRET = "s3cr3t-Pa55"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def _plain(url: str) -> str:
    """The same server as a bare ``postgresql://`` URL (no driver named)."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_plain_postgresql_url_opens_every_store(pg_url: str) -> None:
    store = open_store(_plain(pg_url))
    assert store.engine.dialect.name == "postgresql"
    assert store.engine.dialect.driver == "psycopg"
    store.set_meta("k", "v")
    store.close()
    again = open_store(pg_url)
    assert again.get_meta("k") == "v"
    again.close()
    registry = ModelRegistry(_plain(pg_url))
    assert registry.engine.dialect.driver == "psycopg"
    assert registry.list() == []
    registry.close()
    corrections = CorrectionStore(_plain(pg_url))
    assert corrections.corrections() == []
    corrections.close()
    audit = AuditLog.open(_plain(pg_url), None)
    assert audit.engine.dialect.driver == "psycopg"
    assert audit.size() == 0
    audit.close()


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://lb:{SECRET}@127.0.0.1:{{port}}/leadbridge",  # nothing listens
        f"postgresql+psycopg://lb:{SECRET}@127.0.0.1:notaport/leadbridge",
        f"postgresql+nodriver://lb:{SECRET}@127.0.0.1/leadbridge",
        f"mysql://lb:{SECRET}@127.0.0.1/leadbridge",
        f"not a url :// {SECRET}",
    ],
    ids=["unreachable", "bad-port", "unknown-driver", "unsupported-engine", "garbage"],
)
def test_bad_or_unreachable_url_is_a_one_line_state_error(url: str) -> None:
    url = url.format(port=_closed_port())
    with pytest.raises(StateError) as caught:
        open_store(url)
    message = str(caught.value)
    assert "\n" not in message
    assert SECRET not in message
    assert "Traceback" not in message
    for other in (ModelRegistry, CorrectionStore):
        with pytest.raises(StateError) as again:
            other(url)
        assert "\n" not in str(again.value)
        assert SECRET not in str(again.value)


def test_unreachable_server_message_names_the_cause() -> None:
    url = f"postgresql://lb:{SECRET}@127.0.0.1:{_closed_port()}/leadbridge"
    with pytest.raises(StateError, match=r"lb:\*\*\*@127\.0\.0\.1.*(refused|failed)"):
        open_store(url)


def test_wrong_password_is_reported_without_it(pg_url: str) -> None:
    if not sa.make_url(pg_url).password:
        pytest.skip("the configured PostgreSQL server takes logins without a password")
    url = sa.make_url(pg_url).set(password=SECRET).render_as_string(hide_password=False)
    with pytest.raises(StateError, match="password authentication failed") as caught:
        open_store(url)
    assert SECRET not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_sqlite_paths_and_urls_are_equivalent(tmp_path: Path) -> None:
    by_path = open_store(tmp_path / "a" / "state.db")
    by_path.set_meta("k", "v")
    by_path.close()
    by_url = open_store(f"sqlite:///{tmp_path / 'a' / 'state.db'}")
    assert by_url.get_meta("k") == "v"
    by_url.close()
