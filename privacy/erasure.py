"""The right to erasure (GDPR Art. 17 and 19, nFADP Art. 32): everywhere, with proof.

One request, in this order, so that a crash at any step leaves the person no more
exposed than before and the request can simply be run again:

1. **suppress**: the person's keyed fingerprints (e-mail, phone, lead keys, CRM record
   ids) join the suppression list first, so a sync running meanwhile cannot re-import
   what is being deleted;
2. **propagate**: each connected CRM that holds them deletes them (HubSpot GDPR delete,
   Salesforce delete or hard delete, ActiveCampaign delete, REST profiles' ``DELETE``),
   one receipt per system;
3. **local data**: earlier export files are deleted, the state rows are deleted with
   ``secure_delete`` and the database is vacuumed;
4. **audit**: each lead key is crypto-shredded (`AuditLog.forget`: its key destroyed, the
   chain still verifies), then the certificate's SHA-256 is chained in a
   ``privacy_action`` entry that holds no personal data.

The certificate lists what each system answered and what was deleted locally; it holds
CRM record ids but no contact data, so it can be kept as evidence.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import orjson
from pydantic import BaseModel, ConfigDict

from leadbridge.audit.log import AuditLog
from leadbridge.core.errors import LeadbridgeError
from leadbridge.core.models import AuditEvent
from leadbridge.core.receipts import ErasureReceipt, ObjectErasure
from leadbridge.core.redaction import redact
from leadbridge.privacy.holdings import Holding, needles_of, purge_holdings, scrub_files
from leadbridge.privacy.identity import Fingerprinter, SubjectQuery
from leadbridge.privacy.registry import PrivacyRegistry
from leadbridge.sync.state import StateStore

__all__ = ["ErasureCertificate", "SupportsErasure", "erase_subject", "shred_file"]


@runtime_checkable
class SupportsErasure(Protocol):
    """A connector that can delete records for good and say what happened."""

    name: str

    def erase(self, source_ids: Sequence[str], *, permanent: bool = ...) -> ErasureReceipt:
        """Delete these records; one receipt for the system."""

    def close(self) -> None:
        """Release connections."""


EraserFactory = Callable[[str], SupportsErasure]
"""Builds the eraser of a connection, by connection name."""


class ErasureCertificate(BaseModel):
    """The evidence of one erasure request; `sha256` is chained into the audit log."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    actor: str
    requested_at: datetime
    completed_at: datetime
    status: Literal["completed", "partial", "not_found"]
    records_found: int
    receipts: list[ErasureReceipt]
    local_rows_deleted: dict[str, int]
    export_files_deleted: int
    audit_subjects_shredded: int
    audit_ciphertexts_destroyed: int
    suppression_entries: int
    sha256: str = ""

    def digest(self) -> str:
        """SHA-256 of the certificate's canonical JSON, without the digest itself."""
        body = self.model_dump(mode="json", exclude={"sha256"})
        return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def shred_file(path: Path) -> bool:
    """Overwrite a file with zeros, flush it, then unlink it; False if it was not there."""
    try:
        size = path.stat().st_size
        with path.open("r+b") as handle:
            handle.write(b"\0" * size)
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _failed_receipt(system: str, ids: Sequence[str], error: LeadbridgeError) -> ErasureReceipt:
    now = datetime.now(UTC)
    detail = redact(str(error))[:300]
    return ErasureReceipt(
        system=system,
        action="none (connection failed)",
        permanent=False,
        objects=tuple(ObjectErasure(object_id=i, status="failed", detail=detail) for i in ids),
        started_at=now,
        finished_at=now,
    )


def _propagate(
    holdings: Sequence[Holding], erasers: EraserFactory, *, permanent: bool
) -> list[ErasureReceipt]:
    by_connection: dict[str, list[str]] = {}
    for holding in holdings:
        by_connection.setdefault(holding.connection, []).append(holding.source_id)
    receipts: list[ErasureReceipt] = []
    for connection, ids in sorted(by_connection.items()):
        try:
            eraser = erasers(connection)
        except LeadbridgeError as exc:
            receipts.append(
                _failed_receipt(connection, ids, exc).model_copy(update={"connection": connection})
            )
            continue
        try:
            receipt = eraser.erase(ids, permanent=permanent)
        except LeadbridgeError as exc:
            receipt = _failed_receipt(eraser.name, ids, exc)
        finally:
            eraser.close()
        receipts.append(receipt.model_copy(update={"connection": connection}))
    return receipts


def erase_subject(
    query: SubjectQuery,
    holdings: Sequence[Holding],
    *,
    store: StateStore,
    registry: PrivacyRegistry,
    fingerprints: Fingerprinter,
    erasers: EraserFactory,
    audit: AuditLog | None,
    actor: str,
    request_id: str,
    requested_at: datetime,
    permanent: bool = True,
) -> ErasureCertificate:
    """Run one erasure request end to end; the certificate, also stored with the request."""
    marks = fingerprints.of_query(query) | fingerprints.of_leads(h.lead for h in holdings)
    suppressed = registry.mark("suppressed", marks, request_id)
    receipts = _propagate(holdings, erasers, permanent=permanent)
    files = 0
    earlier = registry.touching(marks)
    for request in earlier:
        files += sum(shred_file(Path(name)) for name in request.files)
    registry.forget_files(r.id for r in earlier)
    local = purge_holdings(store, holdings, needles_of(holdings, query))
    scrub_files(store.engine)
    shredded = destroyed = 0
    keys = sorted({h.lead_key for h in holdings})
    if audit is not None:
        for index, key in enumerate(keys):
            result = audit.forget(
                key,
                actor=actor,
                reason="erasure request (GDPR Art. 17)",
                request_id=request_id,
                compact=index == len(keys) - 1,
            )
            shredded += int(result.found)
            destroyed += result.ciphertexts_destroyed
    status: Literal["completed", "partial", "not_found"] = (
        "not_found" if not holdings else "completed" if all(r.ok for r in receipts) else "partial"
    )
    certificate = ErasureCertificate(
        request_id=request_id,
        actor=actor,
        requested_at=requested_at,
        completed_at=datetime.now(UTC),
        status=status,
        records_found=len(holdings),
        receipts=receipts,
        local_rows_deleted=local,
        export_files_deleted=files,
        audit_subjects_shredded=shredded,
        audit_ciphertexts_destroyed=destroyed,
        suppression_entries=suppressed,
    )
    certificate = certificate.model_copy(update={"sha256": certificate.digest()})
    if audit is not None:
        audit.record([_certificate_event(certificate)])
    registry.finish_request(
        request_id,
        "completed" if status != "partial" else "partial",
        certificate.model_dump(mode="json"),
    )
    return certificate


def _certificate_event(certificate: ErasureCertificate) -> AuditEvent:
    details: dict[str, Any] = {
        "action": "erasure_certificate",
        "status": certificate.status,
        "certificate_sha256": certificate.sha256,
        "systems": sorted({r.system for r in certificate.receipts}),
        "records": certificate.records_found,
        "local_rows_deleted": sum(certificate.local_rows_deleted.values()),
    }
    return AuditEvent(
        kind="privacy_action",
        actor=certificate.actor,
        at=certificate.completed_at,
        reason="erasure certificate",
        request_id=certificate.request_id,
        details=details,
    )
