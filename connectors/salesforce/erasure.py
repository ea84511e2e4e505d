"""Erasure on Salesforce: delete to the recycle bin, or hard delete that skips it.

A REST ``DELETE /sobjects/{Lead|Contact}/{id}`` moves the record to the recycle bin,
where it stays restorable (and readable through ``queryAll``) for 15 days. With
``permanent=True`` the records go through a Bulk API 2.0 ``hardDelete`` job instead, which
deletes them without passing through the bin (the integration user needs the "Bulk API
Hard Delete" permission). Records are named by id only, so no contact data travels in the
calls. The object type comes from the id's key prefix (00Q Lead, 003 Contact).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import partial
from typing import Any

import orjson

from leadbridge.connectors.salesforce.client import CONNECTOR, SalesforceApi
from leadbridge.connectors.salesforce.writeback import sobject_of
from leadbridge.core.errors import APIError, LeadbridgeError
from leadbridge.core.receipts import (
    ErasureReceipt,
    ObjectErasure,
    deleted,
    failed_or_absent,
    now,
)
from leadbridge.core.redaction import redact

__all__ = ["erase_records"]


def erase_records(
    api: SalesforceApi, source_ids: Sequence[str], *, permanent: bool = False
) -> ErasureReceipt:
    """Delete Leads/Contacts by id: to the recycle bin, or permanently (Bulk hardDelete)."""
    started = now()
    by_object: dict[str, list[str]] = {}
    objects: list[ObjectErasure] = []
    for source_id in dict.fromkeys(source_ids):
        sobject = sobject_of(source_id)
        if sobject is None:
            objects.append(
                ObjectErasure(object_id=source_id, status="failed", detail="not a Lead/Contact id")
            )
            continue
        by_object.setdefault(sobject, []).append(source_id)
    for sobject, ids in by_object.items():
        if permanent:
            objects.extend(_hard_delete(api, sobject, ids))
        else:
            objects.extend(_delete(api, sobject, record_id) for record_id in ids)
    return ErasureReceipt(
        system=CONNECTOR,
        action="bulk-hardDelete" if permanent else "delete",
        permanent=permanent,
        objects=tuple(objects),
        started_at=started,
        finished_at=now(),
    )


def _delete(api: SalesforceApi, sobject: str, record_id: str) -> ObjectErasure:
    path = f"/services/data/v{api.config.api_version}/sobjects/{sobject}/{record_id}"
    try:
        api.guard.check(CONNECTOR)
        response = api.http.send("DELETE", path, category="write", parse=False)
    except APIError as exc:
        return failed_or_absent(record_id, exc)
    return deleted(record_id, response)


def _hard_delete(api: SalesforceApi, sobject: str, ids: list[str]) -> list[ObjectErasure]:
    """One Bulk API 2.0 hardDelete job; per-record outcomes from its result files."""
    sf = api.sdk("write")
    handler = getattr(sf.bulk2, sobject)
    try:
        jobs = api.call(
            "bulk hard delete",
            partial(
                handler.hard_delete, records=[{"Id": i} for i in ids], wait=api.config.bulk_poll_s
            ),
        )
    except LeadbridgeError as exc:
        detail = redact(str(exc))[:300]
        return [ObjectErasure(object_id=i, status="failed", detail=detail) for i in ids]
    outcomes: dict[str, ObjectErasure] = {}
    for job in jobs:
        job_id = str(job.get("job_id", ""))
        results: Any = api.call("bulk results", partial(handler.get_all_ingest_records, job_id))
        for row in results.get("successfulRecords", []):
            record_id = str(row.get("sf__Id") or row.get("Id"))
            outcomes[record_id] = _bulk_row(record_id, job_id, row, "deleted")
        for row in results.get("failedRecords", []):
            record_id = str(row.get("Id") or row.get("sf__Id"))
            error = str(row.get("sf__Error", ""))
            status = "already_absent" if error.startswith("ENTITY_IS_DELETED") else "failed"
            outcomes[record_id] = _bulk_row(record_id, job_id, row, status, error)
    return [
        outcomes.get(i)
        or ObjectErasure(object_id=i, status="failed", detail="not processed by the bulk job")
        for i in ids
    ]


def _bulk_row(
    record_id: str, job_id: str, row: dict[str, Any], status: str, error: str = ""
) -> ObjectErasure:
    digest = hashlib.sha256(orjson.dumps(row, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return ObjectErasure.model_validate(
        {
            "object_id": record_id,
            "status": status,
            "request_id": job_id,
            "response_sha256": digest,
            "detail": "" if status == "deleted" else redact(error)[:300],
        }
    )
