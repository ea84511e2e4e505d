"""``POST /crm/v3/objects/contacts/merge``: two contacts become one.

As in HubSpot, the primary keeps its values and takes the secondary's where its own are
blank, inherits the secondary's engagements and events, and lists every id merged into
it in ``hs_merged_object_ids`` (``;``-separated). The secondary disappears from reads
and search (it is neither live nor archived any more).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.common.timefmt import now_ms
from leadbridge.emulators.hubspot.catalog import ENGAGEMENT_TYPES
from leadbridge.emulators.hubspot.errors import json_response, not_found, validation_error
from leadbridge.emulators.hubspot.gateway import Gateway
from leadbridge.emulators.hubspot.objects import serialize
from leadbridge.emulators.hubspot.portal import Portal

__all__ = ["MERGED_PROPERTY", "merge_contacts", "merge_routes"]

MERGED_PROPERTY = "hs_merged_object_ids"
_KEEP = frozenset({"hs_object_id", "createdate", "lastmodifieddate", "hs_lastmodifieddate"})


def merge_contacts(portal: Portal, primary_id: int, secondary_id: int) -> None:
    """Fold `secondary_id` into `primary_id` (both must be live contacts)."""
    with portal.lock:
        primary = portal.contacts.get_live(primary_id)
        secondary = portal.contacts.get_live(secondary_id)
        if primary is None or secondary is None or primary_id == secondary_id:
            raise not_found("Both contacts must exist and differ to be merged.")
        for name, value in secondary.properties.items():
            if name not in _KEEP and value and not primary.properties.get(name):
                primary.properties[name] = value
        merged = [i for i in primary.properties.get(MERGED_PROPERTY, "").split(";") if i]
        merged += [str(secondary.id)]
        merged += [i for i in secondary.properties.get(MERGED_PROPERTY, "").split(";") if i]
        primary.properties[MERGED_PROPERTY] = ";".join(dict.fromkeys(merged))
        links = portal.associations
        for kind in ENGAGEMENT_TYPES:
            for engagement_id in list(links.targets("contacts", kind, secondary.id)):
                links.link(kind, engagement_id, primary.id)
        email = secondary.properties.get("email", "")
        portal.gdpr_delete(secondary)
        portal.blocklist.discard(email.strip().lower())
        portal.contacts.touch(primary, max(now_ms(), primary.updated_ms + 1))


def merge_routes(gw: Gateway) -> list[Route]:
    """The merge endpoint, through the gateway (auth, limits, ledger)."""
    portal = gw.portal

    async def merge(request: Request) -> Response:
        try:
            body: Any = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise validation_error("Invalid input JSON.") from None
        primary = str((body or {}).get("primaryObjectId", ""))
        secondary = str((body or {}).get("objectIdToMerge", ""))
        if not (primary.isdigit() and secondary.isdigit()):
            raise validation_error("'primaryObjectId' and 'objectIdToMerge' are required.")
        merge_contacts(portal, int(primary), int(secondary))
        gw.ledger.record_write(request.state.endpoint, primary, {MERGED_PROPERTY: secondary}, 200)
        record = portal.contacts.records[int(primary)]
        return json_response(serialize(portal.contacts, record, [MERGED_PROPERTY, "email"]))

    path = "/crm/v3/objects/contacts/merge"
    scope = "crm.objects.contacts.write"
    return [Route(path, gw.endpoint(merge, path, scope=scope), methods=["POST"])]
