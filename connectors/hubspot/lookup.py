"""Contacts by id: what a webhook names, read now instead of waiting for the next search.

A webhook says *which* contacts changed; searching by ``lastmodifieddate`` would also
lag behind the search index. ``POST /crm/v3/objects/contacts/batch/read`` returns the
current record at once (up to 100 ids per call), with the same properties the contacts
stream asks for, mapped by the same `ContactMapper`. Ids HubSpot no longer knows (the
contact was deleted or merged away) come back as deletions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hubspot.crm import contacts as sdk_contacts

from leadbridge.connectors.hubspot.connector import HubSpotConnector
from leadbridge.connectors.hubspot.mapping import reject
from leadbridge.core.errors import MappingError
from leadbridge.core.models import Activity, Lead, Outcome, Page, RecordError

__all__ = ["BATCH_READ_MAX", "read_contacts"]

BATCH_READ_MAX = 100


def read_contacts(connector: HubSpotConnector, ids: Sequence[str]) -> Page:
    """The current state of contacts `ids` as one page (no bookmark: cursors stay put)."""
    wanted = list(dict.fromkeys(i for i in (str(x).strip() for x in ids) if i.isdigit()))
    rollups = connector._use_rollups()
    properties = connector.contacts.properties(rollups=rollups)
    batch = connector.api.api("read", "contacts_batch", lambda c: c.crm.contacts.batch_api)
    leads: list[Lead] = []
    outcomes: list[Outcome] = []
    activities: list[Activity] = []
    rejects: list[RecordError] = []
    found: set[str] = set()
    for start in range(0, len(wanted), BATCH_READ_MAX):
        chunk = wanted[start : start + BATCH_READ_MAX]
        body = sdk_contacts.BatchReadInputSimplePublicObjectId(
            inputs=[sdk_contacts.SimplePublicObjectId(id=i) for i in chunk],
            properties=properties,
        )

        def fetch(body: Any = body) -> Any:
            return batch.read(batch_read_input_simple_public_object_id=body)

        response: Any = connector.api.call("contacts batch read", fetch)
        for record in getattr(response, "results", None) or []:
            record_id = str(getattr(record, "id", "") or "")
            found.add(record_id)
            try:
                mapped = connector.contacts.map(record, rollups=rollups)
            except MappingError as exc:
                rejects.append(reject("contacts", record_id, str(exc), record))
                continue
            leads.append(mapped.lead)
            outcomes.extend(mapped.outcomes)
            activities.extend(mapped.activities)
    missing = tuple(i for i in wanted if i not in found)
    return Page(
        stream="contacts",
        leads=tuple(leads),
        outcomes=tuple(outcomes),
        activities=tuple(activities),
        deleted=missing,
        rejects=tuple(rejects),
    )
