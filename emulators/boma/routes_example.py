"""A second, differently shaped REST CRM over the same data, under ``/example``.

It exists to prove that a new CRM needs only a profile (``mappings/rest_example_pagenum
.toml``): API-key auth (``X-Api-Key``), camel-free nested contacts with epoch-millisecond
times, page-number paging on contacts (``page``/``per_page``, ``pagination.total_pages``),
limit/offset on events (``total``), a ``links.next`` URL on removed contacts, custom
properties that must be created before use, and a batch update answering per record.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.boma.errors import BomaHTTPError, bad_request, json_response
from leadbridge.emulators.boma.gateway import Gateway, Handler
from leadbridge.emulators.boma.store import ActivityRow, Deletion, LeadRow
from leadbridge.emulators.boma.views import (
    decode_cursor,
    encode_cursor,
    int_param,
    json_body,
    since_param,
)
from leadbridge.emulators.common.timefmt import now_ms

__all__ = ["example_routes"]

STAGES = {"Nouveau": "new", "Instruction": "in_review", "Accord": "approved", "Refusée": "declined"}
EVENT_NAMES = {
    "page_view": "page.view",
    "simulator_run": "simulator.run",
    "document_download": "document.download",
    "email_open": "email.open",
    "email_click": "email.click",
    "form_submit": "form.submit",
    "call": "call.logged",
    "meeting_request": "meeting.requested",
}
PROPERTY_TYPES = ("number", "text", "textarea", "datetime", "select")


def contact_json(row: LeadRow) -> dict[str, Any]:
    """A lead as the /example API shapes a contact."""
    return {
        "id": row.lead_id,
        "name": {"first": row.first_name, "last": row.last_name},
        "contact": {"email": row.email, "phone": row.phone},
        "locale": row.language,
        "region": row.canton,
        "country": row.country,
        "employment": row.job_status,
        "loan": {"amount": row.requested_amount, "property_value": row.property_value},
        "stage": STAGES.get(row.dossier_status or ""),
        "stage_changed": row.dossier_ms,
        "created": row.created_ms,
        "modified": row.updated_ms,
        "properties": dict(row.example_props),
    }


def event_json(row: ActivityRow) -> dict[str, Any]:
    """An activity as an /example event."""
    return {
        "event_id": row.activity_id,
        "contact_id": row.lead_id,
        "name": EVENT_NAMES.get(row.type, row.type),
        "timestamp": row.occurred_raw or row.occurred_ms,
        "recorded": row.recorded_ms,
        "props": dict(row.data),
    }


def removed_json(row: Deletion) -> dict[str, Any]:
    """A deleted contact."""
    return {"id": row.lead_id, "removed_at": row.deleted_ms}


class Example:
    """Handlers of the /example API."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.store = gateway.store

    async def contacts(self, request: Request) -> Response:
        size = int_param(request, "per_page", 20, 1, self.gw.limits.example_page_max)
        page = int_param(request, "page", 1, 1, 1_000_000)
        rows = self.store.window("leads", since_param(request, "modified_after"))
        pages = max(1, math.ceil(len(rows) / size))
        chunk = rows[(page - 1) * size : page * size]
        return json_response(
            {
                "items": [contact_json(r) for r in chunk],
                "pagination": {
                    "page": page,
                    "per_page": size,
                    "total_pages": pages,
                    "total_items": len(rows),
                },
            }
        )

    async def events(self, request: Request) -> Response:
        limit = int_param(request, "limit", 20, 1, self.gw.limits.example_page_max)
        offset = int_param(request, "offset", 0, 0, 10_000_000)
        rows = self.store.window("activities", since_param(request, "since"))
        chunk = rows[offset : offset + limit]
        return json_response({"events": [event_json(r) for r in chunk], "total": len(rows)})

    async def removed(self, request: Request) -> Response:
        limit = int_param(request, "limit", 20, 1, self.gw.limits.example_page_max)
        since = since_param(request, "since")
        token = request.query_params.get("after")
        after = decode_cursor(token) if token else None
        rows = self.store.page("deletions", since, after, limit + 1)
        next_link = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            link = request.url.include_query_params(
                after=encode_cursor((last.deleted_ms, last.lead_id)), limit=limit
            )
            next_link = str(link)
        return json_response(
            {"removed": [removed_json(r) for r in rows], "links": {"next": next_link}}
        )

    async def properties(self, request: Request) -> Response:
        with self.store.lock:
            listed = [dict(p) for p in self.store.example_properties.values()]
        return json_response({"properties": listed})

    async def create_property(self, request: Request) -> Response:
        body = await json_body(request)
        name, label, kind = body.get("name"), body.get("label"), body.get("type")
        if not isinstance(name, str) or not name.isidentifier():
            raise BomaHTTPError(422, "invalid_property", "'name' must be an identifier.")
        if kind not in PROPERTY_TYPES:
            raise BomaHTTPError(
                422, "invalid_property", f"'type' must be one of {', '.join(PROPERTY_TYPES)}."
            )
        with self.store.lock:
            if name in self.store.example_properties:
                raise BomaHTTPError(409, "conflict", f"Property '{name}' already exists.")
            definition = {"name": name, "label": str(label or name), "type": kind}
            self.store.example_properties[name] = definition
        return json_response(definition, 201)

    async def batch_update(self, request: Request) -> Response:
        body = await json_body(request)
        updates = body.get("updates")
        cap = self.gw.limits.example_batch_max
        if not isinstance(updates, list) or not 1 <= len(updates) <= cap:
            raise bad_request(f"'updates' must hold 1 to {cap} items.", "updates")
        results = [self._update(u) for u in updates]
        return json_response({"results": results})

    def _update(self, update: object) -> dict[str, Any]:
        endpoint = "POST /example/contacts/batch-update"
        if not isinstance(update, dict):
            return {"id": None, "success": False, "message": "Each update must be an object."}
        raw_id = update.get("id")
        props = update.get("properties")
        ident = str(raw_id)

        def fail(message: str, status: int) -> dict[str, Any]:
            self.gw.ledger.record_write(endpoint, ident, _text(props), status, payload=update)
            return {"id": raw_id, "success": False, "message": message}

        with self.store.lock:
            lead = self.store.leads.get(int(ident)) if ident.isdigit() else None
            if lead is None:
                return fail(f"Contact {ident} does not exist.", 404)
            if not isinstance(props, dict) or not props:
                return fail("'properties' must be a non-empty object.", 422)
            for key, value in props.items():
                definition = self.store.example_properties.get(key)
                if definition is None:
                    return fail(f"Property '{key}' does not exist.", 422)
                if (
                    definition["type"] == "number"
                    and value is not None
                    and (isinstance(value, bool) or not isinstance(value, int | float))
                ):
                    return fail(f"Property '{key}' expects a number.", 422)
            lead.example_props.update(props)
            self.store.touch(lead, now_ms())
        self.gw.ledger.record_write(endpoint, ident, _text(props), 200, payload=update)
        return {"id": raw_id, "success": True}


def _text(props: object) -> dict[str, str]:
    if not isinstance(props, dict):
        return {}
    return {str(k): "" if v is None else str(v) for k, v in props.items()}


def example_routes(gw: Gateway) -> list[Route]:
    """Every /example route, wrapped by the gateway with API-key auth."""
    h = Example(gw)

    def route(path: str, handler: Handler, method: str) -> Route:
        return Route(
            path, gw.endpoint(handler, f"{method} {path}", auth="api_key"), methods=[method]
        )

    return [
        route("/example/contacts", h.contacts, "GET"),
        route("/example/contacts/batch-update", h.batch_update, "POST"),
        route("/example/events", h.events, "GET"),
        route("/example/removed", h.removed, "GET"),
        route("/example/properties", h.properties, "GET"),
        route("/example/properties", h.create_property, "POST"),
    ]
