"""Activity reads: v4 association batch reads, the Events API and call dispositions.

Events API (`GET /events/v3/events`): `occurredAfter` is inclusive and `occurredBefore`
exclusive; `sort` takes `ASCENDING`/`DESCENDING` (or `occurredAt`/`-occurredAt`) and
defaults to newest first; `limit` defaults to 100 and is clamped to 1..1000 (the spec
publishes no maximum); `after` is an opaque keyset cursor, stable while events are added.
A portal without the Enterprise feature (`events_api=False`) answers 403.
"""

from __future__ import annotations

import base64
from bisect import bisect_left, bisect_right
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.common.timefmt import parse_instant
from leadbridge.emulators.hubspot.catalog import (
    ASSOCIATION_TYPE_IDS,
    CALL_DISPOSITIONS,
    CUSTOM_EVENT_NAMES,
    STANDARD_EVENT_TYPES,
    custom_event_type,
    normalize_object_type,
)
from leadbridge.emulators.hubspot.errors import HubSpotHTTPError, json_response, validation_error
from leadbridge.emulators.hubspot.gateway import Gateway
from leadbridge.emulators.hubspot.objects import batch_envelope, standard_error
from leadbridge.emulators.hubspot.portal import WebEvent

__all__ = ["activity_routes"]

ASSOCIATION_BATCH_MAX = 1000
EVENTS_DEFAULT_LIMIT = 100
EVENTS_MAX_LIMIT = 1000


def _cursor(event: WebEvent) -> str:
    return base64.urlsafe_b64encode(f"{event.occurred_ms}:{event.seq}".encode()).decode()


def _uncursor(token: str) -> tuple[int, int]:
    try:
        ms, seq = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        return int(ms), int(seq)
    except (ValueError, UnicodeDecodeError):
        raise validation_error(f"Invalid paging cursor '{token}'.") from None


class ActivityRoutes:
    """Handlers for associations, events and dispositions."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.portal = gateway.portal

    async def associations_batch_read(self, request: Request) -> Response:
        requested_at = datetime.now(UTC)
        from_raw = request.path_params["fromObjectType"]
        to_raw = request.path_params["toObjectType"]
        from_type, to_type = normalize_object_type(from_raw), normalize_object_type(to_raw)
        if from_type is None or to_type is None or (from_type, to_type) not in ASSOCIATION_TYPE_IDS:
            raise HubSpotHTTPError(
                400,
                f"Unable to infer object type from: {from_raw if from_type is None else to_raw}",
                "VALIDATION_ERROR",
            )
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise validation_error("Request body must be valid JSON.") from None
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise validation_error("'inputs' must be an array of {id} objects.")
        if len(inputs) > ASSOCIATION_BATCH_MAX:
            raise validation_error(
                f"Batch input contains {len(inputs)} inputs; the limit is {ASSOCIATION_BATCH_MAX}."
            )
        type_id = ASSOCIATION_TYPE_IDS[(from_type, to_type)]
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        with self.portal.lock:
            for item in inputs:
                raw_id = str(item.get("id", ""))
                targets = (
                    self.portal.associations.targets(from_type, to_type, int(raw_id))
                    if raw_id.isdigit()
                    else []
                )
                if not targets:
                    errors.append(
                        standard_error(
                            "VALIDATION_ERROR",
                            f"No {to_type} is associated with {from_type.rstrip('s')} {raw_id}.",
                            {"fromObjectId": [raw_id]},
                        )
                    )
                    continue
                results.append(
                    {
                        "from": {"id": raw_id},
                        "to": [
                            {
                                "toObjectId": str(t),
                                "associationTypes": [
                                    {"category": "HUBSPOT_DEFINED", "typeId": type_id}
                                ],
                            }
                            for t in targets
                        ],
                    }
                )
        payload, status = batch_envelope(results, errors, requested_at)
        return json_response(payload, status)

    async def events(self, request: Request) -> Response:
        if not self.gw.limits.events_api:
            raise HubSpotHTTPError(
                403,
                "The Events API requires a Marketing, Sales, Service, Content or Data Hub "
                "Enterprise subscription.",
                "FORBIDDEN",
            )
        params = request.query_params
        try:
            limit = int(params.get("limit", str(EVENTS_DEFAULT_LIMIT)))
        except ValueError:
            raise validation_error("limit must be an integer.") from None
        limit = min(max(limit, 1), EVENTS_MAX_LIMIT)
        object_type = params.get("objectType")
        object_id_raw = params.get("objectId")
        if object_id_raw is not None and not object_type:
            raise validation_error("objectId must be used together with objectType.")
        if object_id_raw is not None and not object_id_raw.isdigit():
            raise validation_error(f"Invalid objectId '{object_id_raw}'.")
        lo = self._instant(params.get("occurredAfter"), "occurredAfter")
        hi = self._instant(params.get("occurredBefore"), "occurredBefore")
        sort = ",".join(params.getlist("sort")).strip().upper()
        descending = sort not in {"ASCENDING", "OCCURREDAT", "ASC"}
        event_type = params.get("eventType")
        wanted_ids = set(params.getlist("id"))
        after = params.get("after")
        with self.portal.lock:
            if object_type and normalize_object_type(object_type) != "contacts":
                source: list[WebEvent] = []
            elif object_id_raw is not None:
                source = self.portal.events.by_object.get(int(object_id_raw), [])
            else:
                source = self.portal.events.events
            keys = (
                [e.key() for e in source]
                if source is not self.portal.events.events
                else (self.portal.events.keys)
            )
            start = bisect_left(keys, (lo, -1)) if lo is not None else 0
            stop = bisect_left(keys, (hi, -1)) if hi is not None else len(keys)
            if after:
                cursor = _uncursor(after)
                if descending:
                    stop = min(stop, bisect_left(keys, cursor))
                else:
                    start = max(start, bisect_right(keys, cursor))
            window = range(stop - 1, start - 1, -1) if descending else range(start, stop)
            page: list[WebEvent] = []
            more = False
            for pos in window:
                event = source[pos]
                if event_type and event.event_type != event_type:
                    continue
                if wanted_ids and event.id not in wanted_ids:
                    continue
                if len(page) == limit:
                    more = True
                    break
                page.append(event)
            results = [e.to_json() for e in page]
        payload: dict[str, Any] = {"results": results}
        if more and page:
            token = _cursor(page[-1])
            query = dict(params.items())
            query["after"] = token
            link = (
                f"{request.url.scheme}://{request.url.netloc}{request.url.path}?{urlencode(query)}"
            )
            payload["paging"] = {"next": {"after": token, "link": link}}
        return json_response(payload)

    @staticmethod
    def _instant(raw: str | None, name: str) -> int | None:
        if raw is None or raw == "":
            return None
        ms = parse_instant(raw)
        if ms is None:
            raise validation_error(f"{name} must be an ISO 8601 timestamp, got '{raw}'.")
        return ms

    async def event_types(self, request: Request) -> Response:
        if not self.gw.limits.events_api:
            raise HubSpotHTTPError(403, "The Events API requires Enterprise.", "FORBIDDEN")
        custom = [custom_event_type(self.portal.portal_id, n) for n in CUSTOM_EVENT_NAMES]
        return json_response({"eventTypes": [*STANDARD_EVENT_TYPES, *custom]})

    async def dispositions(self, request: Request) -> Response:
        return json_response([{"id": k, "label": v} for k, v in CALL_DISPOSITIONS.items()])


def activity_routes(gw: Gateway) -> list[Route]:
    """Association, event and disposition routes."""
    h = ActivityRoutes(gw)
    assoc = "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read"
    return [
        Route(
            assoc,
            gw.endpoint(h.associations_batch_read, assoc, scope="crm.objects.contacts.read"),
            methods=["POST"],
        ),
        Route(
            "/events/v3/events",
            gw.endpoint(h.events, "/events/v3/events", scope="oauth"),
            methods=["GET"],
        ),
        Route(
            "/events/v3/events/",
            gw.endpoint(h.events, "/events/v3/events", scope="oauth"),
            methods=["GET"],
        ),
        Route(
            "/events/v3/events/event-types",
            gw.endpoint(h.event_types, "/events/v3/events/event-types", scope="oauth"),
            methods=["GET"],
        ),
        Route(
            "/calling/v1/dispositions",
            gw.endpoint(h.dispositions, "/calling/v1/dispositions"),
            methods=["GET"],
        ),
    ]
