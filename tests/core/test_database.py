"""Store locations: parsed once, every message free of the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadbridge.audit.schema import create_audit_engine
from leadbridge.core.database import database_url, redact_password, safe_url
from leadbridge.core.errors import StateError
from leadbridge.scoring.predictive.registry import ModelRegistry
from leadbridge.sync.state import open_store

SECRET = "pw-canary-7f3a"


def test_paths_become_sqlite_files_in_created_folders(tmp_path: Path) -> None:
    url = database_url(tmp_path / "deep" / "er" / "state.db", what="state store")
    assert url.get_backend_name() == "sqlite"
    assert (tmp_path / "deep" / "er").is_dir()
    assert database_url(":memory:", what="x").database == ":memory:"


def test_plain_postgresql_means_psycopg3() -> None:
    url = database_url(f"postgresql://lb:{SECRET}@db.example:5432/lb", what="state store")
    assert url.drivername == "postgresql+psycopg"
    assert SECRET not in safe_url(url)
    assert "***" in safe_url(url)


@pytest.mark.parametrize(
    "opener",
    [
        open_store,
        create_audit_engine,
        ModelRegistry,
    ],
)
@pytest.mark.parametrize(
    "location",
    [f"mysql://lb:{SECRET}@db.example/lb", f"postgresql://lb:{SECRET}@[::1"],
)
def test_no_store_error_shows_the_password(opener, location: str) -> None:
    with pytest.raises(StateError) as caught:
        opener(location)
    assert SECRET not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unparsable_urls_are_not_shown_and_echoed_passwords_are_redacted() -> None:
    assert safe_url(f"postgresql://lb:{SECRET}@[::1") == "(an unparsable URL)"
    message = f"connection refused for lb:{SECRET}@db"
    assert SECRET not in redact_password(message, f"postgresql://lb:{SECRET}@db/lb")
    assert safe_url("/var/lib/leadbridge/state.db") == "/var/lib/leadbridge/state.db"
