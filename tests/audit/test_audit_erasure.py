"""Crypto-shredding (issue 6 item 4, matrix row 17): erase a person, the chain still verifies.

After `forget`, no trace of the person may be found in the audit database files (main
file and WAL, free pages included): not their email, phone or name in any spelling, not
the ciphertexts of their values, not their wrapped key (which the master key could still
open), not their natural id. Other people's data stays readable.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

from leadbridge.audit import AuditLog, verify
from leadbridge.audit.schema import personal_table, subjects_table
from leadbridge.core.models import AuditEvent

ANA = {"email": "Ana.Muster@Example.CH", "phone": "+41 79 555 12 34", "name": "Ana Müster"}
SUBJECT = "hubspot:4242"


def spellings(value: str) -> list[bytes]:
    out = []
    for text in {value, value.lower()}:
        raw = text.encode()
        out += [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw), text.encode("utf-16-le")]
    return out


def files_of(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())


def ana_events(n: int) -> list[AuditEvent]:
    at = datetime(2026, 3, 1, tzinfo=UTC)
    return [
        AuditEvent(
            kind="crm_write",
            actor="leadbridge-sync",
            at=at,
            connection="hs",
            subject=SUBJECT,
            reason="score write-back",
            details={"object": "contact", "fields": ["email", "phone", "firstname"]},
            personal={
                "record_id": "4242",
                "old": {"email": ANA["email"], "phone": ANA["phone"]},
                "new": {"firstname": ANA["name"], "score": i},
            },
        )
        for i in range(n)
    ]


def test_forget_shreds_everything_and_the_chain_still_verifies(
    tmp_path: Path, audit_keys, clock, make_events
) -> None:
    db = tmp_path / "audit.db"
    anchors = tmp_path / "anchors"
    log = AuditLog.open(db, audit_keys, export_dir=anchors, checkpoint_every=50, clock=clock)
    log.record(make_events(300))
    log.record(ana_events(40))
    log.record(make_events(300, start=300))

    before = log.export_subject(SUBJECT, actor="dpo@controller", reason="Art. 15 request")
    assert len(before.entries) == 40
    assert all(e.personal_state == "decrypted" for e in before.entries)
    assert before.entries[0].personal["old"]["email"] == ANA["email"]
    with log.engine.connect() as conn:
        secrets = [
            bytes(r[0])
            for r in conn.execute(
                personal_table.select()
                .with_only_columns(personal_table.c.ciphertext)
                .where(personal_table.c.subject == before.pseudonym)
            )
        ]
        secrets += [
            bytes(r[0])
            for r in conn.execute(
                subjects_table.select()
                .with_only_columns(subjects_table.c.wrapped_key)
                .where(subjects_table.c.pseudonym == before.pseudonym)
            )
        ]
    assert len(secrets) == 41

    result = log.forget(SUBJECT, actor="dpo@controller", request_id="erase-1")
    assert result.found
    assert result.ciphertexts_destroyed == 40
    log.close()

    blob = files_of(db)
    needles = [s for value in ANA.values() for s in spellings(value)]
    needles += spellings(SUBJECT) + spellings("4242@") + [s[:40] for s in secrets]
    assert [n for n in needles if n in blob] == []

    reopened = AuditLog.open(db, audit_keys, export_dir=anchors)
    report = verify(reopened, external_checkpoints_dir=anchors)
    assert report.ok, report.problems
    assert report.anchored_size == report.head_seq
    after = reopened.export_subject(SUBJECT, actor="dpo@controller")
    assert after.pseudonym is None
    assert after.entries == []
    # the chain keeps the entries, now unlinkable and unreadable
    shredded = [
        e
        for e in reopened.read(actor="auditor", limit=None, decrypt=True)
        if e.subject == before.pseudonym
    ]
    assert [e.kind for e in shredded].count("crm_write") == 40
    assert {e.personal_state for e in shredded if e.kind == "crm_write"} == {"shredded"}
    erasure = [e for e in shredded if e.kind == "privacy_action"]
    assert erasure
    assert erasure[0].details["ciphertexts_destroyed"] == 40
    # other subjects are untouched
    others = reopened.read(
        actor="auditor", kinds=["crm_write", "score_change"], limit=None, decrypt=True
    )
    assert any(e.personal_state == "decrypted" for e in others)
    # seen again after erasure: a fresh pseudonym with no link to the erased history
    reopened.record(ana_events(1))
    again = reopened.export_subject(SUBJECT, actor="dpo@controller")
    assert again.pseudonym != before.pseudonym
    assert len(again.entries) == 1


def test_plaintext_never_reaches_the_database(tmp_path: Path, audit_keys, clock) -> None:
    db = tmp_path / "audit.db"
    log = AuditLog.open(db, audit_keys, clock=clock)
    log.record(ana_events(5))
    log.close()
    blob = files_of(db)
    assert [s for value in ANA.values() for s in spellings(value) if s in blob] == []
    assert SUBJECT.encode() not in blob
