"""The tamper-evident audit log: append, checkpoint, read, export per subject, erase.

`AuditLog` is the `AuditSink` the sync engine writes to. Design choices, argued:

- **A hash chain, not a Merkle tree.** The party verifying is the operator (or its
  auditor) holding the whole log, so O(log n) inclusion proofs buy nothing, while a
  chain keeps append and verification a single sequential pass (1M entries in seconds).
  What a Merkle log adds against a *dishonest writer* (consistency between checkpoints)
  we get by recomputing the chain against every exported signed checkpoint.
- **One transaction per `record` call.** The head is read and the new entries are
  inserted in the same transaction, with `seq` the primary key: two writers (threads or
  processes) racing for the same head cannot fork the chain, the loser's insert fails
  and is retried on the new head. A batch is all-or-nothing, never a partial append.
- **No plaintext personal data in the chain.** A body holds the kind, actor, connection,
  the subject's *pseudonym*, reason, request id, non-personal `details` and the SHA-256
  of the personal payload's ciphertext. The payload itself is encrypted under the
  subject's own key (see `subjects.py`) in a side table keyed by `seq`, outside the chain,
  so erasing it (crypto-shredding) leaves every hash intact.
- **Monotonic append time.** `at` is the log's own clock, clamped to never go back, so the
  verifier can flag a time regression as tampering; the event's own time is kept as
  `event_at`.
- **Checkpoints** every `checkpoint_every` entries or `checkpoint_interval`, whichever
  comes first, signed and exported (see `checkpoint.py`). An export failure after a
  successful append is logged and retried with the next checkpoint: the append is
  already durable and the caller must not re-send it.
- **Reads are audited.** `read` and `export_subject` append an ``audit_read`` entry
  (what was asked, how many entries returned, whether personal values were decrypted).
  Entry models and decryption live in `records.py`, the privacy guards in `privacy.py`.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import orjson
import sqlalchemy as sa

from leadbridge.audit.checkpoint import Checkpoint, CheckpointExport, sign_checkpoint
from leadbridge.audit.entry import GENESIS, chain_hash, encode_body, format_time
from leadbridge.audit.keys import AuditKeys, VerifierKey
from leadbridge.audit.privacy import check_event, scrub_deleted
from leadbridge.audit.records import (
    AuditEntry,
    ErasureResult,
    SubjectExport,
    decrypt_entries,
    select_entries,
)
from leadbridge.audit.schema import (
    checkpoints_table,
    create_audit_engine,
    entries_table,
    meta_table,
    metadata,
    personal_table,
)
from leadbridge.audit.subjects import SubjectVault
from leadbridge.core.database import create_tables
from leadbridge.core.errors import ConfigError, StateError
from leadbridge.core.models import AuditEvent

__all__ = ["AuditEntry", "AuditLog", "ErasureResult", "SubjectExport", "open_audit_log"]

log = logging.getLogger(__name__)
T = TypeVar("T")
_RETRIES = 8


@dataclass(frozen=True, slots=True)
class _Prepared:
    fields: dict[str, Any]
    pseudonym: str | None
    ciphertext: bytes | None


class AuditLog:
    """Append-only, hash-chained, checkpointed audit log over SQLAlchemy Core."""

    def __init__(
        self,
        engine: sa.Engine,
        keys: AuditKeys | None,
        *,
        create: bool = True,
        export_dir: Path | None = None,
        checkpoint_every: int = 1000,
        checkpoint_interval: timedelta = timedelta(minutes=15),
        origin: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if checkpoint_every < 1:
            raise ConfigError("checkpoint_every must be at least 1", key="checkpoint_every")
        self.engine = engine
        self.keys = keys
        self._signer = keys.signing_key if keys is not None else None
        self._vault = SubjectVault(keys) if keys is not None else None
        self.export = CheckpointExport(export_dir) if export_dir is not None else None
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval = checkpoint_interval
        self.clock = clock
        self._lock = threading.RLock()
        try:
            if create:
                create_tables(engine, metadata)
                self.origin = self._origin(origin)
            else:
                self.origin = self._existing_origin()
            last = self._last_checkpoint()
        except sa.exc.SQLAlchemyError as exc:
            raise StateError(f"cannot open the audit log: {exc.__class__.__name__}") from exc
        self._last_cp_size, self._last_cp_time = last
        self._export_backlog = True  # first export catches up on anything missed
        if self.export is not None and self._signer is not None and create:
            self.export.pin(VerifierKey.for_signer(self.origin, self._signer))

    @classmethod
    def open(cls, target: str | Path, keys: AuditKeys | None, **options: Any) -> AuditLog:
        """Open (creating if needed) a log at a SQLAlchemy URL or a SQLite file path."""
        missing = "://" not in str(target) and not Path(target).exists()
        if options.get("create") is False and missing:
            raise StateError(f"no audit log at {target}")
        return cls(create_audit_engine(target), keys, **options)

    @property
    def vault(self) -> SubjectVault:
        """Subject keys; needs the master key (verification and export do not)."""
        if self._vault is None:
            raise ConfigError("this operation needs the audit master key", key="master_key")
        return self._vault

    # -- setup ------------------------------------------------------------------------

    def _existing_origin(self) -> str:
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table(meta_table.name):
                raise StateError("not an audit log: no audit tables in this database")
            row = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "origin")
            ).first()
        if row is None:
            raise StateError("not an audit log: its origin is not recorded")
        return str(row[0])

    def _origin(self, wanted: str | None) -> str:
        if wanted is not None and (not wanted or any(c in wanted for c in " +\n")):
            raise ConfigError("an audit origin may not contain spaces, '+' or newlines")
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "origin")
            ).first()
            if row is not None:
                if wanted is not None and wanted != row[0]:
                    raise ConfigError(f"this audit log's origin is {row[0]!r}, not {wanted!r}")
                return str(row[0])
            origin = wanted or f"leadbridge.audit/{uuid4().hex[:16]}"
            conn.execute(meta_table.insert().values(key="origin", value=origin))
            return origin

    def _last_checkpoint(self) -> tuple[int, datetime | None]:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(checkpoints_table.c.size, checkpoints_table.c.created_at)
                .order_by(checkpoints_table.c.size.desc())
                .limit(1)
            ).first()
        if row is None:
            return 0, None
        created = row[1] if row[1].tzinfo else row[1].replace(tzinfo=UTC)
        return int(row[0]), created

    @property
    def verifier_key(self) -> VerifierKey:
        """The public key (with this log's note name) verifiers should pin."""
        if self._signer is None:
            raise ConfigError("no audit signing key configured", key="signing_key")
        return VerifierKey.for_signer(self.origin, self._signer)

    def close(self) -> None:
        """Sign the current head (so the tail is anchored) and release connections."""
        if self._signer is not None:
            try:
                self.checkpoint()
            except StateError as exc:
                log.warning("audit: final checkpoint failed: %s", exc)
        self.engine.dispose()

    # -- appending ----------------------------------------------------------------------

    def _head(self, conn: sa.Connection) -> tuple[int, bytes, str]:
        row = conn.execute(
            sa.select(entries_table.c.seq, entries_table.c.hash, entries_table.c.body)
            .order_by(entries_table.c.seq.desc())
            .limit(1)
        ).first()
        if row is None:
            return 0, GENESIS, ""
        return int(row[0]), bytes(row[1]), str(orjson.loads(row[2])["at"])

    def _prepare(self, conn: sa.Connection, events: Sequence[AuditEvent]) -> list[_Prepared]:
        subjects = {e.subject for e in events if e.subject is not None}
        keys = self.vault.resolve(conn, subjects) if subjects else {}
        prepared: list[_Prepared] = []
        for event in events:
            key = keys[event.subject] if event.subject is not None else None
            ciphertext = None
            if event.personal and key is not None:
                plain = orjson.dumps(dict(event.personal), option=orjson.OPT_SORT_KEYS)
                ciphertext = key.fernet.encrypt(plain)
            fields = {
                "kind": event.kind,
                "actor": event.actor,
                "connection": event.connection,
                "subject": key.pseudonym if key is not None else None,
                "reason": event.reason,
                "request_id": event.request_id,
                "event_at": format_time(event.at),
                "details": dict(event.details),
                "payload_hash": hashlib.sha256(ciphertext).hexdigest() if ciphertext else None,
            }
            prepared.append(
                _Prepared(fields, key.pseudonym if key is not None else None, ciphertext)
            )
        return prepared

    def _append(
        self, conn: sa.Connection, prepared: Sequence[_Prepared]
    ) -> tuple[int, list[tuple[int, str]]]:
        """Chain `prepared` onto the head inside `conn`'s transaction.

        Checkpoints that fall due inside the batch (every `checkpoint_every` entries, and
        the new head once `checkpoint_interval` has passed) are signed and stored in the
        same transaction. Returns the new size and those (size, note) checkpoints.
        """
        seq, prev, last_at = self._head(conn)
        now = self.clock()
        at = max(format_time(now), last_at)
        due = self._last_cp_size + self.checkpoint_every if self._signer is not None else -1
        points: list[tuple[int, bytes]] = []
        entries: list[dict[str, Any]] = []
        personal: list[dict[str, Any]] = []
        for item in prepared:
            seq += 1
            body = encode_body(seq=seq, prev=prev, at=at, fields=item.fields)
            prev = chain_hash(prev, body)
            entries.append({"seq": seq, "body": body, "hash": prev, "subject": item.pseudonym})
            if item.ciphertext is not None:
                personal.append(
                    {"seq": seq, "subject": item.pseudonym, "ciphertext": item.ciphertext}
                )
            if seq >= due > 0:
                points.append((seq, prev))
                due = seq + self.checkpoint_every
        if entries:
            conn.execute(entries_table.insert(), entries)
        if personal:
            conn.execute(personal_table.insert(), personal)
        stale = self._last_cp_time is None or now - self._last_cp_time >= self.checkpoint_interval
        head_signed = bool(points) and points[-1][0] == seq
        if self._signer is not None and stale and seq > self._last_cp_size and not head_signed:
            points.append((seq, prev))
        return seq, self._store_checkpoints(conn, points, now)

    def _store_checkpoints(
        self, conn: sa.Connection, points: Sequence[tuple[int, bytes]], now: datetime
    ) -> list[tuple[int, str]]:
        signer = self._signer
        if signer is None or not points:
            return []
        sizes = [size for size, _root in points]
        existing = set(
            conn.execute(
                sa.select(checkpoints_table.c.size).where(checkpoints_table.c.size.in_(sizes))
            ).scalars()
        )
        notes = [
            (size, root, sign_checkpoint(Checkpoint(self.origin, size, root), signer))
            for size, root in points
            if size not in existing
        ]
        rows = [{"size": z, "root": r, "note": n, "created_at": now} for z, r, n in notes]
        if rows:
            conn.execute(checkpoints_table.insert(), rows)
        return [(size, note) for size, _root, note in notes]

    def _after_checkpoints(self, notes: Sequence[tuple[int, str]], now: datetime) -> None:
        """Remember the newest checkpoint and ship new ones to the second location."""
        if not notes:
            return
        self._last_cp_size, self._last_cp_time = notes[-1][0], now
        if self.export is None:
            return
        try:
            if self._export_backlog:
                self.export_checkpoints()
            else:
                for size, note in notes:
                    self.export.write(size, note)
            self._export_backlog = False
        except (StateError, OSError) as exc:
            self._export_backlog = True
            log.warning("audit: checkpoint export failed, retried with the next one: %s", exc)

    def _transact(self, work: Callable[[sa.Connection], T]) -> T:
        """Run `work` in one transaction, retrying when another writer took the head.

        Another process appending at the same time shows up as a duplicate `seq`
        (IntegrityError, both dialects) or, on SQLite in WAL mode, as a stale read
        snapshot ("database is locked"); both are retried on the new head with jitter.
        """
        for attempt in range(_RETRIES):
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except (sa.exc.IntegrityError, sa.exc.OperationalError) as exc:
                transient = isinstance(exc, sa.exc.IntegrityError) or any(
                    word in str(exc.orig).lower() for word in ("locked", "busy")
                )
                if not transient:
                    raise StateError(f"audit append failed: {exc.orig}") from exc
                if attempt == _RETRIES - 1:
                    raise StateError("audit append kept conflicting with another writer") from exc
                time.sleep(random.uniform(0, 0.05 * 2**attempt))
            except sa.exc.SQLAlchemyError as exc:
                raise StateError(f"audit append failed: {exc.__class__.__name__}") from exc
        raise StateError("audit append failed")  # pragma: no cover - loop always returns

    def record(self, events: Sequence[AuditEvent]) -> None:
        """Append `events` atomically and durably (the `AuditSink` contract); raise, never drop."""
        if not events:
            return
        for event in events:
            check_event(event)
        with self._lock:
            _size, notes = self._transact(
                lambda conn: self._append(conn, self._prepare(conn, events))
            )
            self._after_checkpoints(notes, self.clock())

    # -- checkpoints ----------------------------------------------------------------------

    def checkpoint_if_due(self) -> None:
        """Sign the head if `checkpoint_interval` passed since the last checkpoint.

        `record` does this on every append; a daemon also calls it on a timer so a quiet
        log's last entries do not stay unanchored for longer than the interval.
        """
        if self._signer is None:
            return
        now = self.clock()
        if self._last_cp_time is None or now - self._last_cp_time >= self.checkpoint_interval:
            self.checkpoint()

    def checkpoint(self) -> Checkpoint | None:
        """Sign the current head now (stored, then exported); None for an empty log."""
        if self._signer is None:
            raise ConfigError("no audit signing key configured", key="signing_key")
        with self._lock:
            now = self.clock()

            def work(conn: sa.Connection) -> tuple[Checkpoint | None, list[tuple[int, str]]]:
                size, head, _at = self._head(conn)
                if size == 0:
                    return None, []
                notes = self._store_checkpoints(conn, [(size, head)], now)
                return Checkpoint(origin=self.origin, size=size, root=head), notes

            checkpoint, notes = self._transact(work)
            if checkpoint is not None:
                self._last_cp_size, self._last_cp_time = checkpoint.size, now
            self._after_checkpoints(notes, now)
            if self._export_backlog:
                self.export_checkpoints()  # an explicit checkpoint reports export failures
                self._export_backlog = False
            return checkpoint

    def checkpoint_notes(self) -> list[tuple[str, str]]:
        """(label, signed note) of every checkpoint stored in the database, by size."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(checkpoints_table.c.size, checkpoints_table.c.note).order_by(
                    checkpoints_table.c.size
                )
            ).all()
        return [(f"stored@{size}", str(note)) for size, note in rows]

    def export_checkpoints(self, directory: Path | None = None) -> int:
        """Copy stored checkpoints missing from the export folder; how many were written."""
        export = CheckpointExport(directory) if directory is not None else self.export
        if export is None:
            return 0
        if self._signer is not None:
            export.pin(self.verifier_key)
        written = 0
        for label, note in self.checkpoint_notes():
            written += export.write(int(label.split("@", 1)[1]), note)
        return written

    # -- reading ----------------------------------------------------------------------------

    def iter_rows(self, *, chunk: int = 50_000) -> Iterator[tuple[int, bytes, bytes]]:
        """Every stored (seq, body, hash) in seq order, fetched in keyset-paged chunks."""
        last: int | None = None
        with self.engine.connect() as conn:
            while True:
                query = sa.select(entries_table.c.seq, entries_table.c.body, entries_table.c.hash)
                if last is not None:
                    query = query.where(entries_table.c.seq > last)
                rows = conn.execute(query.order_by(entries_table.c.seq).limit(chunk)).all()
                for seq, body, digest in rows:
                    yield seq, bytes(body), bytes(digest)
                if len(rows) < chunk:
                    return
                last = rows[-1][0]

    def size(self) -> int:
        """How many entries the log holds (its head sequence number)."""
        with self.engine.connect() as conn:
            return self._head(conn)[0]

    def read(
        self,
        *,
        actor: str,
        subject: str | None = None,
        kinds: Sequence[str] | None = None,
        after_seq: int = 0,
        limit: int | None = 100,
        decrypt: bool = False,
        reason: str = "",
        request_id: str | None = None,
    ) -> list[AuditEntry]:
        """Entries in seq order (optionally one subject's); the read itself is audited."""
        entries: list[AuditEntry] = []
        with self.engine.connect() as conn:
            pseudonym = None
            if subject is not None:
                found = self.vault.find(conn, [subject]).get(subject)
                pseudonym = found.pseudonym if found is not None else None
            if subject is None or pseudonym is not None:
                entries = select_entries(
                    conn, pseudonym=pseudonym, kinds=kinds, after_seq=after_seq, limit=limit
                )
                if decrypt:
                    decrypt_entries(conn, self.vault, entries)
        self._record_read(
            actor,
            subject if pseudonym is not None else None,
            reason,
            request_id,
            {
                "query": {
                    "by_subject": subject is not None,
                    "kinds": sorted(kinds) if kinds else None,
                    "after_seq": after_seq,
                    "limit": limit,
                },
                "returned": len(entries),
                "decrypted": decrypt,
            },
        )
        return entries

    def _record_read(
        self,
        actor: str,
        subject: str | None,
        reason: str,
        request_id: str | None,
        details: dict[str, Any],
    ) -> None:
        self.record(
            [
                AuditEvent(
                    kind="audit_read",
                    actor=actor,
                    at=self.clock(),
                    subject=subject,
                    reason=reason or "audit log read",
                    request_id=request_id,
                    details=details,
                )
            ]
        )

    def export_subject(self, subject: str, *, actor: str, reason: str = "") -> SubjectExport:
        """All of one subject's entries with personal values decrypted; audited."""
        entries = self.read(
            actor=actor,
            subject=subject,
            limit=None,
            decrypt=True,
            reason=reason or "subject access export",
        )
        with self.engine.connect() as conn:
            found = self.vault.find(conn, [subject]).get(subject)
        pseudonym = found.pseudonym if found else None
        return SubjectExport(subject=subject, pseudonym=pseudonym, entries=entries)

    # -- erasure ----------------------------------------------------------------------------

    def forget(
        self,
        subject: str,
        *,
        actor: str,
        reason: str = "erasure request",
        request_id: str | None = None,
        compact: bool = False,
    ) -> ErasureResult:
        """Crypto-shred a subject: destroy its key, ciphertexts and pseudonym mapping.

        The erasure is itself recorded (``privacy_action``, under the pseudonym being
        destroyed) in the same transaction, so either everything happened or nothing did.
        On SQLite the WAL is then checkpointed and truncated so no copy of the deleted key
        survives there; `compact` also VACUUMs (needed only if the database was ever
        written without ``secure_delete``, e.g. when shared with another component).
        """
        with self._lock:

            def work(conn: sa.Connection) -> tuple[ErasureResult, list[tuple[int, str]]]:
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA secure_delete=ON")
                found = self.vault.find(conn, [subject]).get(subject)
                pseudonym = found.pseudonym if found else None
                destroyed = 0
                if pseudonym is not None:
                    destroyed = conn.execute(
                        personal_table.delete().where(personal_table.c.subject == pseudonym)
                    ).rowcount
                    self.vault.destroy(conn, subject)
                event = AuditEvent(
                    kind="privacy_action",
                    actor=actor,
                    at=self.clock(),
                    reason=reason,
                    request_id=request_id,
                    details={
                        "action": "erasure",
                        "found": pseudonym is not None,
                        "ciphertexts_destroyed": destroyed,
                    },
                )
                fields = {**self._prepare(conn, [event])[0].fields, "subject": pseudonym}
                seq, notes = self._append(conn, [_Prepared(fields, None, None)])
                result = ErasureResult(
                    found=pseudonym is not None,
                    pseudonym=pseudonym,
                    ciphertexts_destroyed=destroyed,
                    seq=seq,
                )
                return result, notes

            result, notes = self._transact(work)
            self._after_checkpoints(notes, self.clock())
            scrub_deleted(self.engine, compact=compact)
            return result


def open_audit_log(
    target: str | Path,
    *,
    key_dir: Path,
    export_dir: Path | None = None,
    create_keys: bool = True,
    **options: Any,
) -> AuditLog:
    """Open a log with keys from the environment or `key_dir` (generated on first use)."""
    keys = AuditKeys.from_dir(key_dir, create=create_keys)
    return AuditLog.open(target, keys, export_dir=export_dir, **options)
