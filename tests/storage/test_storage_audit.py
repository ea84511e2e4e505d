"""The audit log on SQLite and PostgreSQL: append, verify, export, erase, concurrent writers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from leadbridge.audit import AuditKeys, AuditLog, verify
from leadbridge.core.models import AuditEvent

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def events(n: int, start: int = 0) -> list[AuditEvent]:
    return [
        AuditEvent(
            kind="crm_write",
            actor="leadbridge-sync",
            at=T0,
            connection="hs",
            subject=f"hubspot:{i % 3}",
            reason="score write-back",
            details={"fields": ["leadbridge_score"]},
            personal={"record_id": str(i), "new": {"leadbridge_score": i}},
        )
        for i in range(start, start + n)
    ]


def test_audit_log_append_verify_export_and_erase(db_url: str, tmp_path: Path) -> None:
    keys = AuditKeys.from_dir(tmp_path / "keys", env={})
    log = AuditLog.open(db_url, keys, export_dir=tmp_path / "anchors", checkpoint_every=5)
    try:
        log.record(events(12))
        report = verify(log, external_checkpoints_dir=tmp_path / "anchors")
        assert report.ok, report.problems
        assert report.entries == 12
        assert report.anchored_size >= 10
        export = log.export_subject("hubspot:1", actor="dpo", reason="access request")
        assert [e.personal["record_id"] for e in export.entries if e.personal] == [
            "1",
            "4",
            "7",
            "10",
        ]
        erased = log.forget("hubspot:1", actor="dpo", compact=True)
        assert erased.found
        assert erased.ciphertexts_destroyed == 4
        after = log.read(actor="dpo", subject="hubspot:1", decrypt=True)
        assert all(e.personal is None for e in after)
        assert verify(log, external_checkpoints_dir=tmp_path / "anchors").ok
    finally:
        log.close()


def test_two_audit_writers_never_fork_the_chain(db_url: str, tmp_path: Path) -> None:
    keys = AuditKeys.from_dir(tmp_path / "keys", env={})
    logs = [AuditLog.open(db_url, keys, checkpoint_every=1000) for _ in range(2)]
    errors: list[Exception] = []

    def write(log: AuditLog, worker: int) -> None:
        try:
            for batch in range(5):
                log.record(events(3, start=worker * 100 + batch * 3))
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(log, i)) for i, log in enumerate(logs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    try:
        assert not errors, errors
        assert logs[0].size() == 30
        report = verify(logs[1], public_key=logs[1].verifier_key)
        assert report.ok, report.problems
    finally:
        for log in logs:
            log.close()
