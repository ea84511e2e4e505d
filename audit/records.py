"""Audit entries as read back: the models, the query, and decryption of personal values.

Reads trust only the authenticated body: the indexed `subject` column narrows the query,
then every row's body is re-checked against it, so a tampered index cannot make one
person's entries appear under another. A personal payload is decrypted only if its
ciphertext still hashes to the `payload_hash` the chain recorded; once the subject's key
is shredded the entry still reads, with ``personal_state="shredded"``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Literal

import orjson
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from pydantic import BaseModel

from leadbridge.audit.schema import entries_table, personal_table
from leadbridge.audit.subjects import SubjectVault
from leadbridge.core.models import AuditKind

__all__ = ["AuditEntry", "ErasureResult", "SubjectExport", "decrypt_entries", "select_entries"]

PersonalState = Literal["none", "decrypted", "locked", "shredded", "mismatch"]
_IN_CHUNK = 500


class AuditEntry(BaseModel):
    """One entry as read back; `personal` only when decrypted (and not shredded)."""

    seq: int
    at: str
    event_at: str
    kind: AuditKind
    actor: str
    connection: str | None
    subject: str | None
    reason: str
    request_id: str | None
    details: dict[str, Any]
    payload_hash: str | None
    personal: dict[str, Any] | None = None
    personal_state: PersonalState = "none"


class SubjectExport(BaseModel):
    """Everything the audit log holds about one person (GDPR Art. 15/20, nFADP Art. 25)."""

    subject: str
    pseudonym: str | None
    entries: list[AuditEntry]


class ErasureResult(BaseModel):
    """What `forget` destroyed, and the seq of the entry recording it."""

    found: bool
    pseudonym: str | None
    ciphertexts_destroyed: int
    seq: int


def _entry(seq: int, doc: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        seq=seq,
        at=doc["at"],
        event_at=doc["event_at"],
        kind=doc["kind"],
        actor=doc["actor"],
        connection=doc.get("connection"),
        subject=doc.get("subject"),
        reason=doc.get("reason", ""),
        request_id=doc.get("request_id"),
        details=doc.get("details") or {},
        payload_hash=doc.get("payload_hash"),
        personal_state="locked" if doc.get("payload_hash") else "none",
    )


def select_entries(
    conn: sa.Connection,
    *,
    pseudonym: str | None = None,
    kinds: Sequence[str] | None = None,
    after_seq: int = 0,
    limit: int | None = None,
) -> list[AuditEntry]:
    """Entries after `after_seq` in seq order, optionally one pseudonym's or some kinds."""
    query = sa.select(entries_table.c.seq, entries_table.c.body).where(
        entries_table.c.seq > after_seq
    )
    if pseudonym is not None:
        query = query.where(entries_table.c.subject == pseudonym)
    entries: list[AuditEntry] = []
    for seq, body in conn.execute(query.order_by(entries_table.c.seq)):
        doc = orjson.loads(body)
        if pseudonym is not None and doc.get("subject") != pseudonym:
            continue  # the index column disagrees with the authenticated body
        if kinds and doc.get("kind") not in kinds:
            continue
        entries.append(_entry(int(seq), doc))
        if limit is not None and len(entries) >= limit:
            break
    return entries


def decrypt_entries(conn: sa.Connection, vault: SubjectVault, entries: list[AuditEntry]) -> None:
    """Fill `personal` where the subject's key and an untampered ciphertext remain."""
    wanted = [e.seq for e in entries if e.payload_hash]
    texts: dict[int, bytes] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        rows = conn.execute(
            sa.select(personal_table.c.seq, personal_table.c.ciphertext).where(
                personal_table.c.seq.in_(wanted[start : start + _IN_CHUNK])
            )
        ).all()
        texts.update({int(s): bytes(c) for s, c in rows})
    fernets: dict[str, Fernet | None] = {}
    for entry in entries:
        if not entry.payload_hash:
            continue
        subject = entry.subject or ""
        if subject not in fernets:
            fernets[subject] = vault.key_for_pseudonym(conn, subject) if subject else None
        fernet, ciphertext = fernets[subject], texts.get(entry.seq)
        if ciphertext is None or fernet is None:
            entry.personal_state = "shredded"
        elif hashlib.sha256(ciphertext).hexdigest() != entry.payload_hash:
            entry.personal_state = "mismatch"
        else:
            try:
                entry.personal = orjson.loads(fernet.decrypt(ciphertext))
                entry.personal_state = "decrypted"
            except InvalidToken:
                entry.personal_state = "mismatch"
