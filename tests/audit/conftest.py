from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadbridge.audit import AuditKeys, AuditLog, VerifierKey
from leadbridge.core.models import AuditEvent

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


class StepClock:
    """A deterministic clock advancing 1 ms per call."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(milliseconds=1)
        return self.now


def make_events(n: int, *, start: int = 0, personal_every: int = 10) -> list[AuditEvent]:
    """Events like the engine's: score changes and CRM writes, some with personal values."""
    events = []
    for i in range(start, start + n):
        with_personal = i % personal_every == 0
        subject = f"hubspot:{i % 5000}" if with_personal else None
        kind = "crm_write" if i % 2 else "score_change"
        details = (
            {"object": "contact", "fields": ["leadbridge_score", "leadbridge_tier"]}
            if kind == "crm_write"
            else {"config_version": "omnichannel@1", "model_version": None, "count": i % 7}
        )
        events.append(
            AuditEvent(
                kind=kind,
                actor="leadbridge-sync",
                at=T0,
                connection="hs",
                subject=subject,
                reason="score write-back",
                request_id=f"req-{i}",
                details=details,
                personal={"record_id": str(i), "new": {"leadbridge_score": i % 100}}
                if with_personal
                else {},
            )
        )
    return events


@dataclass
class BigLog:
    path: Path
    export_dir: Path
    rows: list[tuple[int, bytes, bytes]]
    stored: list[tuple[str, str]]
    external: list[tuple[str, str]]
    verifier: VerifierKey
    keys: AuditKeys


@pytest.fixture(scope="session")
def audit_keys(tmp_path_factory: pytest.TempPathFactory) -> AuditKeys:
    return AuditKeys.from_dir(tmp_path_factory.mktemp("audit-keys"), env={})


@pytest.fixture(scope="session")
def big_log(tmp_path_factory: pytest.TempPathFactory, audit_keys: AuditKeys) -> BigLog:
    """The acceptance log: 100,000 entries written through `AuditLog.record`."""
    base = tmp_path_factory.mktemp("big-audit")
    export = base / "anchors"
    log = AuditLog.open(base / "audit.db", audit_keys, export_dir=export, clock=StepClock())
    for start in range(0, 100_000, 5_000):
        log.record(make_events(5_000, start=start))
    log.close()  # signs the final head: every truncation is then detectable
    from leadbridge.audit import CheckpointExport

    return BigLog(
        path=base / "audit.db",
        export_dir=export,
        rows=list(log.iter_rows()),
        stored=log.checkpoint_notes(),
        external=CheckpointExport(export).notes(),
        verifier=log.verifier_key,
        keys=audit_keys,
    )


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture(name="make_events", scope="session")
def make_events_fixture():
    return make_events


@pytest.fixture(scope="session")
def clock_type() -> type[StepClock]:
    return StepClock
