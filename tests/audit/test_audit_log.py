"""AuditLog behaviour: contiguous appends under concurrency, checkpoint cadence, guards, keys."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from leadbridge.audit import AuditKeys, AuditLog, CheckpointExport, verify
from leadbridge.audit.keys import MASTER_KEY_ENV, load_master_key
from leadbridge.core.errors import ConfigError
from leadbridge.core.models import AuditEvent
from leadbridge.core.protocols import AuditSink

AT = datetime(2026, 3, 1, tzinfo=UTC)


def event(**overrides) -> AuditEvent:
    fields = {"kind": "config_change", "actor": "ops@controller", "at": AT, "reason": "tuning"}
    fields.update(overrides)
    return AuditEvent(**fields)


def sizes(log: AuditLog) -> list[int]:
    return [int(label.split("@")[1]) for label, _ in log.checkpoint_notes()]


def test_is_an_audit_sink_and_appends_contiguously_from_threads_and_processes(
    tmp_path: Path, audit_keys, make_events
) -> None:
    db = tmp_path / "audit.db"
    first = AuditLog.open(db, audit_keys, export_dir=tmp_path / "anchors", checkpoint_every=97)
    second = AuditLog.open(db, audit_keys, export_dir=tmp_path / "anchors", checkpoint_every=97)
    assert isinstance(first, AuditSink)
    errors: list[BaseException] = []

    def writer(log: AuditLog, worker: int) -> None:
        try:
            for batch in range(25):
                log.record(make_events(8, start=(worker * 25 + batch) * 8))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [
        threading.Thread(target=writer, args=(log, w))
        for w, log in enumerate([first, first, second, second])
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = [seq for seq, _body, _hash in first.iter_rows()]
    assert seqs == list(range(1, 4 * 25 * 8 + 1))
    first.close()
    report = verify(first, external_checkpoints_dir=tmp_path / "anchors")
    assert report.ok, report.problems
    assert report.anchored_size == 800


def test_checkpoints_every_n_entries_and_every_t_minutes(tmp_path: Path, audit_keys) -> None:
    now = [AT]
    log = AuditLog.open(
        tmp_path / "a.db",
        audit_keys,
        export_dir=tmp_path / "x",
        checkpoint_every=10,
        checkpoint_interval=timedelta(minutes=15),
        clock=lambda: now[0],
    )
    log.record([event() for _ in range(35)])
    assert sizes(log) == [10, 20, 30, 35]  # inside the batch, then the first head
    for _ in range(9):
        log.record([event()])
    assert sizes(log)[-1] == 35  # 44 entries: neither N nor T reached
    now[0] += timedelta(minutes=16)
    log.record([event()])
    assert sizes(log)[-1] == 45  # T reached
    log.record([event() for _ in range(10)])
    assert sizes(log)[-1] == 55  # N reached
    now[0] += timedelta(minutes=20)
    log.checkpoint_if_due()  # a quiet log's timer tick: nothing new, nothing signed
    assert sizes(log)[-1] == 55
    files = sorted(p.name for p in (tmp_path / "x").glob("checkpoint-*.note"))
    assert files == [f"checkpoint-{n:012d}.note" for n in sizes(log)]


def test_time_never_goes_back_in_the_chain(tmp_path: Path, audit_keys) -> None:
    now = [AT]
    log = AuditLog.open(tmp_path / "a.db", audit_keys, clock=lambda: now[0])
    for when in (AT, AT - timedelta(hours=1), AT + timedelta(seconds=1)):
        now[0] = when  # the host clock jumps back an hour, then recovers
        log.record([event()])
    ats = [orjson.loads(body)["at"] for _s, body, _h in log.iter_rows()]
    assert ats == sorted(ats)
    assert ats[0] == ats[1]
    assert verify(log, public_key=log.verifier_key).ok


def test_personal_data_never_goes_in_clear(tmp_path: Path, audit_keys) -> None:
    log = AuditLog.open(tmp_path / "a.db", audit_keys)
    with pytest.raises(ValueError, match="personal data"):
        log.record([event(details={"owner": "ana@example.ch"})])
    with pytest.raises(ValueError, match="personal data"):
        log.record([event(subject="hubspot:9", reason="fixed hubspot:9 by hand")])
    with pytest.raises(ValueError, match="no subject"):
        log.record([event(personal={"email": "ana@example.ch"})])
    with pytest.raises(ValueError, match="non-finite"):
        log.record([event(details={"weight": float("nan")})])
    assert log.size() == 0  # nothing half-written
    log.record([event(subject="hubspot:9", personal={"email": "ana@example.ch"})])
    ((_seq, body, _hash),) = log.iter_rows()
    doc = orjson.loads(body)
    assert b"ana@" not in body
    assert b"hubspot:9" not in body
    assert len(doc["subject"]) == 32
    assert len(doc["payload_hash"]) == 64


def test_reads_are_audited_and_need_the_master_key_to_decrypt(tmp_path: Path, audit_keys) -> None:
    log = AuditLog.open(tmp_path / "a.db", audit_keys)
    log.record([event(kind="crm_write", subject="hubspot:1", personal={"old": 1, "new": 2})])
    entries = log.read(actor="auditor@controller", subject="hubspot:1", reason="review")
    assert [e.personal_state for e in entries] == ["locked"]
    read_entry = log.read(actor="x", kinds=["audit_read"])[0]
    assert read_entry.actor == "auditor@controller"
    assert read_entry.reason == "review"
    assert read_entry.details == {
        "query": {"by_subject": True, "kinds": None, "after_seq": 0, "limit": 100},
        "returned": 1,
        "decrypted": False,
    }
    assert read_entry.subject == entries[0].subject  # the access is logged against the person
    stranger = AuditLog(
        log.engine,
        AuditKeys(
            master_key=load_master_key(value=b"ZmFrZS1rZXktZmFrZS1rZXktZmFrZS1rZXktZmFrZS0=")
        ),
    )
    assert stranger.read(actor="x", subject="hubspot:1") == []  # no pseudonym without the pepper
    with pytest.raises(ConfigError, match="master key"):
        stranger.read(actor="x", decrypt=True)


def test_key_files_are_private_and_pinned(tmp_path: Path) -> None:
    keys = AuditKeys.from_dir(tmp_path / "k", env={})
    for name in ("audit-master.key", "audit-signing.key"):
        assert os.stat(tmp_path / "k" / name).st_mode & 0o777 == 0o600
    assert AuditKeys.from_dir(tmp_path / "k", env={}).master_key == keys.master_key
    os.chmod(tmp_path / "k" / "audit-master.key", 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        AuditKeys.from_dir(tmp_path / "k", env={})
    env_key = keys.master_key.decode()
    assert load_master_key(env={MASTER_KEY_ENV: env_key}) == keys.master_key
    with pytest.raises(ConfigError, match="not a valid Fernet key"):
        load_master_key(env={MASTER_KEY_ENV: "short"})

    AuditLog.open(
        tmp_path / "a.db", AuditKeys(keys.master_key, keys.signing_key), export_dir=tmp_path / "x"
    )
    other = AuditKeys.from_dir(tmp_path / "other", env={})
    with pytest.raises(ConfigError, match="different audit public key"):
        AuditLog.open(tmp_path / "a.db", other, export_dir=tmp_path / "x")
    with pytest.raises(ConfigError, match="origin"):
        AuditLog.open(tmp_path / "a.db", keys, origin="example.org/another-log")


def test_an_unreachable_second_location_never_loses_an_append(tmp_path: Path, audit_keys) -> None:
    blocker = tmp_path / "anchors"
    log = AuditLog.open(tmp_path / "a.db", audit_keys, checkpoint_every=5)
    log.export = CheckpointExport(blocker)
    blocker.write_text("not a folder")  # the mount is gone
    log.record([event() for _ in range(12)])
    assert log.size() == 12
    assert sizes(log) == [5, 10, 12]
    blocker.unlink()
    log.record([event() for _ in range(5)])  # the next checkpoint catches up
    exported = sorted(p.name for p in blocker.glob("checkpoint-*.note"))
    assert exported == [f"checkpoint-{n:012d}.note" for n in (5, 10, 12, 17)]
