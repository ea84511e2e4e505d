"""GDPR erasure on HubSpot: ``POST /crm/v3/objects/contacts/gdpr-delete``, record by record.

HubSpot's GDPR delete removes the contact permanently (no recycle bin), with its
engagement links, and blocklists its e-mail so forms cannot re-create it
(https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/gdpr/post-crm-v3-objects-contacts-gdpr-delete).
The request names the record by id, never by e-mail, so no contact data travels in the
call or lands in an HTTP log. The SDK's `gdpr_api` returns nothing for a 204, so the call
goes straight through the connection's `HttpClient`, which yields the status and body the
receipt needs.
"""

from __future__ import annotations

from collections.abc import Sequence

from leadbridge.connectors.hubspot.client import CONNECTOR, HubSpotApi
from leadbridge.core.errors import APIError
from leadbridge.core.receipts import (
    ErasureReceipt,
    ObjectErasure,
    deleted,
    failed_or_absent,
    now,
)

__all__ = ["GDPR_DELETE_PATH", "gdpr_delete"]

GDPR_DELETE_PATH = "/crm/v3/objects/contacts/gdpr-delete"


def gdpr_delete(api: HubSpotApi, source_ids: Sequence[str]) -> ErasureReceipt:
    """GDPR-delete each contact; a 404 means it is already gone, any other error fails it."""
    started = now()
    objects: list[ObjectErasure] = []
    for source_id in dict.fromkeys(source_ids):
        try:
            response = api.http.send(
                "POST",
                GDPR_DELETE_PATH,
                json={"objectId": source_id},
                category="write",
                parse=False,
            )
        except APIError as exc:
            objects.append(failed_or_absent(source_id, exc))
            continue
        objects.append(deleted(source_id, response))
    return ErasureReceipt(
        system=CONNECTOR,
        action="gdpr-delete",
        permanent=True,
        objects=tuple(objects),
        started_at=started,
        finished_at=now(),
    )
