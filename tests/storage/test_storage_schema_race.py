"""Every store's schema can be created by many processes at once (workers starting together).

Without one shared lock, PostgreSQL lets all but one concurrent CREATE TABLE of the same
table fail with a unique violation in its catalogue.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

N = 6
OPENERS = {
    "state": "from leadbridge.sync.state import open_store; open_store(URL).close()",
    "privacy": (
        "import sqlalchemy as sa; from leadbridge.privacy.registry import PrivacyRegistry; "
        "PrivacyRegistry(sa.create_engine(URL))"
    ),
    "models": (
        "from leadbridge.scoring.predictive.registry import ModelRegistry; "
        "ModelRegistry(URL).close()"
    ),
    "webhooks": "from leadbridge.sync.webhooks.queue import open_queue; open_queue(URL).close()",
    "audit": "from leadbridge.audit.log import AuditLog; AuditLog.open(URL, None).close()",
}


@pytest.mark.parametrize("store", sorted(OPENERS))
def test_schema_created_by_many_processes_at_once(pg_url: str, store: str) -> None:
    code = f"URL = {pg_url!r}\n{OPENERS[store]}"
    procs = [
        subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
        for _ in range(N)
    ]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * N, [e[-400:] for e in errors if e]
