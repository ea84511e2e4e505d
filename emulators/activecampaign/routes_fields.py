"""Custom fields: ``/fields``, ``/fieldRels``, ``/fieldOption/bulk`` and ``/fieldValues``.

A new field is invisible on contacts until it is related to a list (``relid`` 0 means
all lists), which is why integrations create a ``fieldRel`` right after the field.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.activecampaign.errors import bad_request, json_response, unprocessable
from leadbridge.emulators.activecampaign.gateway import API_PREFIX, Gateway
from leadbridge.emulators.activecampaign.params import int_param, json_body, page_window
from leadbridge.emulators.activecampaign.wire import (
    field_json,
    field_option_json,
    field_rel_json,
    field_value_json,
)

__all__ = ["field_routes"]


def _int(value: Any) -> int | None:
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() else None


class FieldRoutes:
    """Handlers bound to one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.account = gateway.account

    def _options(self, field_id: int) -> list[str]:
        return [str(o.id) for o in self.account.field_options.values() if o.field == field_id]

    async def list_fields(self, request: Request) -> Response:
        limits = self.gw.limits
        limit, offset = page_window(request, limits.page_default, limits.page_max)
        perstag = request.query_params.get("filters[perstag]")
        base = self.gw.base_url(request)
        with self.account.lock:
            rows = [
                f for f in self.account.fields.values() if perstag is None or f.perstag == perstag
            ]
            page = rows[offset : offset + limit]
            ids = {f.id for f in page}
            body = {
                "fieldOptions": [
                    field_option_json(o)
                    for o in self.account.field_options.values()
                    if o.field in ids
                ],
                "fieldRels": [
                    field_rel_json(self.account, r)
                    for r in self.account.field_rels.values()
                    if r.field in ids
                ],
                "fields": [field_json(self.account, f, base, self._options(f.id)) for f in page],
                "meta": {"total": str(len(rows))},
            }
        return json_response(body)

    async def create_field(self, request: Request) -> Response:
        data = (await json_body(request)).get("field")
        if not isinstance(data, dict):
            raise bad_request()
        created = self.account.add_field(
            str(data.get("title") or ""),
            str(data.get("type") or ""),
            perstag=str(data["perstag"]) if data.get("perstag") else None,
            descript=str(data["descript"]) if data.get("descript") is not None else None,
            defval=str(data["defval"]) if data.get("defval") is not None else None,
        )
        base = self.gw.base_url(request)
        return json_response({"field": field_json(self.account, created, base, [])}, 201)

    async def create_field_rel(self, request: Request) -> Response:
        data = (await json_body(request)).get("fieldRel")
        if not isinstance(data, dict):
            raise bad_request()
        field_id, relid = _int(data.get("field")), _int(data.get("relid"))
        if field_id is None or relid is None:
            raise unprocessable(
                "field and relid are required", code="field_missing", pointer="/data/attributes"
            )
        rel = self.account.add_field_rel(field_id, relid)
        return json_response({"fieldRel": field_rel_json(self.account, rel)}, 201)

    async def bulk_options(self, request: Request) -> Response:
        rows = (await json_body(request)).get("fieldOptions")
        if not isinstance(rows, list) or not rows:
            raise bad_request()
        created = []
        for i, row in enumerate(rows):
            field_id = _int(row.get("field")) if isinstance(row, dict) else None
            if field_id is None or not isinstance(row, dict) or not row.get("label"):
                raise unprocessable(
                    "field and label are required",
                    code="field_missing",
                    pointer=f"/data/{i}/attributes",
                )
            label = str(row["label"])
            value = str(row.get("value") or label)
            created.append(
                self.account.add_field_option(field_id, label, value, _int(row.get("orderid")) or i)
            )
        return json_response({"fieldOptions": [field_option_json(o) for o in created]}, 201)

    async def list_values(self, request: Request) -> Response:
        limits = self.gw.limits
        limit, offset = page_window(request, limits.page_default, limits.page_max)
        field_id = int_param(request, "filters[fieldid]")
        wanted = request.query_params.get("filters[val]")
        base = self.gw.base_url(request)
        with self.account.lock:
            rows = sorted(
                (
                    v
                    for v in self.account.values.values()
                    if (field_id is None or v.field == field_id)
                    and (wanted is None or v.value == wanted)
                ),
                key=lambda v: v.id,
            )
            page = [field_value_json(self.account, v, base) for v in rows[offset : offset + limit]]
        return json_response({"fieldValues": page, "meta": {"total": str(len(rows))}})

    async def _write_value(self, request: Request, status: int) -> Response:
        data = (await json_body(request)).get("fieldValue")
        if not isinstance(data, dict):
            raise bad_request()
        contact_id, field_id = _int(data.get("contact")), _int(data.get("field"))
        if contact_id is None or field_id is None:
            raise unprocessable(
                "contact and field are required", code="field_missing", pointer="/data/attributes"
            )
        value = "" if data.get("value") is None else str(data["value"])
        problem = self.account.check_value(field_id, value)
        if problem is not None:
            raise unprocessable(problem, code="field_invalid", pointer="/data/attributes/value")
        base = self.gw.base_url(request)
        with self.account.lock:
            contact = self.account.contact(contact_id)
            stored = self.account.set_value(contact, field_id, value)
            body = {"contacts": [], "fieldValue": field_value_json(self.account, stored, base)}
        return json_response(body, status)

    async def create_value(self, request: Request) -> Response:
        return await self._write_value(request, 201)

    async def update_value(self, request: Request) -> Response:
        raw = str(request.path_params["id"])
        if not raw.isdigit():
            raise bad_request()
        self.account.value_by_id(int(raw))
        return await self._write_value(request, 200)


def field_routes(gw: Gateway) -> list[Route]:
    """The custom-field endpoints, wrapped in the gateway pipeline."""
    h = FieldRoutes(gw)
    p = API_PREFIX

    def route(path: str, handler: Any, method: str) -> Route:
        return Route(p + path, gw.endpoint(handler, f"{method} {p}{path}"), methods=[method])

    return [
        route("/fields", h.list_fields, "GET"),
        route("/fields", h.create_field, "POST"),
        route("/fieldRels", h.create_field_rel, "POST"),
        route("/fieldOption/bulk", h.bulk_options, "POST"),
        route("/fieldValues", h.list_values, "GET"),
        route("/fieldValues", h.create_value, "POST"),
        route("/fieldValues/{id}", h.update_value, "PUT"),
    ]
