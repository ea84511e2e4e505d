"""Erasure on ActiveCampaign: ``DELETE /api/3/contacts/{id}``, record by record.

ActiveCampaign's API v3 has no separate GDPR endpoint: deleting the contact removes it
with its field values, tracking logs and list memberships (there is no recycle bin). The
call names the contact by id only, so no contact data travels or lands in an HTTP log.
"""

from __future__ import annotations

from collections.abc import Sequence

from leadbridge.connectors.activecampaign.client import CONNECTOR, ActiveCampaignApi
from leadbridge.core.errors import APIError
from leadbridge.core.receipts import (
    ErasureReceipt,
    ObjectErasure,
    deleted,
    failed_or_absent,
    now,
)

__all__ = ["delete_contacts"]


def delete_contacts(api: ActiveCampaignApi, source_ids: Sequence[str]) -> ErasureReceipt:
    """Delete each contact; a 404 means it is already gone, any other error fails it."""
    started = now()
    objects: list[ObjectErasure] = []
    for source_id in dict.fromkeys(source_ids):
        if not source_id.isdigit():
            objects.append(
                ObjectErasure(object_id=source_id, status="failed", detail="not a contact id")
            )
            continue
        try:
            response = api.http.send(
                "DELETE", f"contacts/{source_id}", category="write", parse=False
            )
        except APIError as exc:
            objects.append(failed_or_absent(source_id, exc))
            continue
        objects.append(deleted(source_id, response))
    return ErasureReceipt(
        system=CONNECTOR,
        action="delete",
        permanent=True,
        objects=tuple(objects),
        started_at=started,
        finished_at=now(),
    )
