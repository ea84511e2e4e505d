"""What a CRM answered to an erasure request: one receipt per system, one line per record.

The receipts are the evidence gathered into an erasure certificate (GDPR Art. 17 and 19,
nFADP Art. 32): which system was asked to delete which record, how, when, what it
answered (HTTP status, request id, SHA-256 of the response body). They hold CRM record
ids but no contact data, so the certificate can be kept after the person is gone.

It lives in `core` because every connector produces receipts and the privacy package
gathers them.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from leadbridge.core.errors import APIError, NotFound
from leadbridge.core.http import Response
from leadbridge.core.models import AwareDatetime
from leadbridge.core.redaction import redact

__all__ = ["ErasureReceipt", "ObjectErasure", "deleted", "failed_or_absent", "now"]

ObjectStatus = Literal["deleted", "already_absent", "failed"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ObjectErasure(_Frozen):
    """The fate of one CRM record: deleted, already gone (404/410), or failed."""

    object_id: str
    status: ObjectStatus
    http_status: int | None = None
    request_id: str | None = None
    response_sha256: str | None = None
    detail: str = ""


class ErasureReceipt(_Frozen):
    """One system's answer to one erasure request."""

    system: str
    action: str
    permanent: bool
    objects: tuple[ObjectErasure, ...]
    started_at: AwareDatetime
    finished_at: AwareDatetime
    connection: str | None = None

    @property
    def ok(self) -> bool:
        """True when no record failed (already absent counts as erased)."""
        return all(o.status != "failed" for o in self.objects)


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def deleted(object_id: str, response: Response) -> ObjectErasure:
    """A record the CRM acknowledged deleting."""
    return ObjectErasure(
        object_id=object_id,
        status="deleted",
        http_status=response.status,
        request_id=response.request_id,
        response_sha256=_sha256(response.body),
    )


def failed_or_absent(object_id: str, error: APIError) -> ObjectErasure:
    """A refused delete: a 404/410 means the record is already gone, anything else failed."""
    gone = isinstance(error, NotFound) or error.status in (404, 410)
    return ObjectErasure(
        object_id=object_id,
        status="already_absent" if gone else "failed",
        http_status=error.status,
        request_id=error.request_id,
        response_sha256=_sha256((error.body or "").encode()),
        detail="" if gone else redact(error.message)[:300],
    )


def now() -> datetime:
    """The receipts' clock (UTC)."""
    return datetime.now(UTC)
