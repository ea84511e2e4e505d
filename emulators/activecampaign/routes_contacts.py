"""Contacts and what hangs off them: list/filter/page, get, delete, sync, activity.

``GET /contacts`` pages with limit/offset (max 100) or, for large accounts, with
``orders[id]=ASC`` plus ``id_greater``; ``meta.total`` counts what matched the filters
(after ``id_greater``). ``filters[updated_after]`` is strict unless the account's limits
make it inclusive, since AC's own wording ("after") leaves it open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.activecampaign.account import Contact, valid_email
from leadbridge.emulators.activecampaign.errors import (
    ACHTTPError,
    bad_request,
    json_response,
    unprocessable,
)
from leadbridge.emulators.activecampaign.gateway import API_PREFIX, Gateway
from leadbridge.emulators.activecampaign.params import int_param, json_body, page_window
from leadbridge.emulators.activecampaign.wire import (
    activity_json,
    contact_json,
    field_value_json,
    tracking_json,
)

__all__ = ["contact_routes"]

_ORDER_KEYS: dict[str, Callable[[Contact], Any]] = {
    "id": lambda c: c.id,
    "cdate": lambda c: (c.cdate, c.id),
    "email": lambda c: (c.email.lower(), c.id),
    "first_name": lambda c: (c.first_name.lower(), c.id),
    "last_name": lambda c: (c.last_name.lower(), c.id),
    "name": lambda c: (f"{c.first_name} {c.last_name}".lower(), c.id),
}


class ContactRoutes:
    """Handlers bound to one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.account = gateway.account

    def _instant(self, request: Request, name: str) -> int | None:
        raw = request.query_params.get(name)
        if raw is None or raw == "":
            return None
        parsed = self.account.parse_instant(raw)
        if parsed is None:
            raise bad_request()
        return parsed

    def _contact_id(self, request: Request) -> int:
        raw = str(request.path_params["id"])
        if not raw.isdigit():
            raise bad_request()
        return int(raw)

    async def list(self, request: Request) -> Response:
        q = request.query_params
        limits = self.gw.limits
        limit, offset = page_window(request, limits.page_default, limits.page_max)
        id_greater = int_param(request, "id_greater")
        id_less = int_param(request, "id_less")
        ids_raw = q.getlist("ids[]") or [p for p in (q.get("ids") or "").split(",") if p]
        if any(not p.strip().isdigit() for p in ids_raw):
            raise bad_request()
        ids = {int(p) for p in ids_raw}
        email = (q.get("email") or "").strip().lower()
        updated_after = self._instant(request, "filters[updated_after]")
        updated_before = self._instant(request, "filters[updated_before]")
        created_after = self._instant(request, "filters[created_after]")
        created_before = self._instant(request, "filters[created_before]")
        inclusive = limits.updated_after_inclusive
        with self.account.lock:
            rows = [
                c
                for c in self.account.contacts.values()
                if (id_greater is None or c.id > id_greater)
                and (id_less is None or c.id < id_less)
                and (not ids or c.id in ids)
                and (not email or c.email.lower() == email)
                and (
                    updated_after is None
                    or (c.udate >= updated_after if inclusive else c.udate > updated_after)
                )
                and (updated_before is None or c.udate < updated_before)
                and (created_after is None or c.cdate > created_after)
                and (created_before is None or c.cdate < created_before)
            ]
            order_key, descending = _ORDER_KEYS["id"], False
            for name, key in _ORDER_KEYS.items():
                direction = q.get(f"orders[{name}]")
                if direction:
                    if direction.lower() not in ("asc", "desc"):
                        raise bad_request()
                    order_key, descending = key, direction.lower() == "desc"
                    break
            rows.sort(key=order_key, reverse=descending)
            base = self.gw.base_url(request)
            page = [contact_json(self.account, c, base) for c in rows[offset : offset + limit]]
        return json_response(
            {
                "scoreValues": [],
                "contacts": page,
                "meta": {
                    "total": str(len(rows)),
                    "page_input": {
                        "segmentid": None,
                        "formid": 0,
                        "listid": 0,
                        "tagid": 0,
                        "limit": limit,
                        "offset": offset,
                        "search": None,
                        "sort": None,
                        "seriesid": 0,
                        "waitid": 0,
                        "status": -1,
                        "forceQuery": 0,
                        "cacheid": "",
                    },
                },
            }
        )

    async def get(self, request: Request) -> Response:
        contact = self.account.contact(self._contact_id(request))
        base = self.gw.base_url(request)
        with self.account.lock:
            values = [
                field_value_json(self.account, v, base) for v in self.account.values_of(contact.id)
            ]
            body = {
                "contactAutomations": [],
                "contactData": [],
                "contactGoals": [],
                "contactLists": [],
                "contactLogs": [],
                "contactTags": [],
                "contactDeals": [],
                "deals": [],
                "fieldValues": values,
                "geoIps": [],
                "accountContacts": [],
                "contact": contact_json(self.account, contact, base),
            }
        return json_response(body)

    async def delete(self, request: Request) -> Response:
        self.account.delete_contact(self._contact_id(request))
        return json_response({})

    async def field_values(self, request: Request) -> Response:
        contact = self.account.contact(self._contact_id(request))
        base = self.gw.base_url(request)
        with self.account.lock:
            values = [
                field_value_json(self.account, v, base) for v in self.account.values_of(contact.id)
            ]
        return json_response({"fieldValues": values})

    async def tracking_logs(self, request: Request) -> Response:
        contact = self.account.contact(self._contact_id(request))
        limits = self.gw.limits
        limit, offset = page_window(request, limits.page_default, limits.page_max)
        base = self.gw.base_url(request)
        with self.account.lock:
            logs = sorted(self.account.tracking.get(contact.id, []), key=lambda t: (t.tstamp, t.id))
            page = [tracking_json(self.account, t, base) for t in logs[offset : offset + limit]]
        return json_response({"trackingLogs": page, "meta": {"total": str(len(logs))}})

    async def activities(self, request: Request) -> Response:
        contact_id = int_param(request, "contact")
        if contact_id is None:
            raise bad_request()
        after = self._instant(request, "after")
        direction = (request.query_params.get("orders[tstamp]") or "DESC").upper()
        if direction not in ("ASC", "DESC"):
            raise bad_request()
        limits = self.gw.limits
        limit, offset = page_window(request, limits.page_default, limits.page_max)
        with self.account.lock:
            rows = [
                a
                for a in self.account.activities.get(contact_id, [])
                if after is None or a.tstamp > after
            ]
            rows.sort(key=lambda a: (a.tstamp, a.id), reverse=direction == "DESC")
            page = [activity_json(self.account, a) for a in rows[offset : offset + limit]]
        return json_response(
            {"activities": page, "activityRecipients": [], "meta": {"total": str(len(rows))}}
        )

    async def sync(self, request: Request) -> Response:
        body = await json_body(request)
        data = body.get("contact")
        if not isinstance(data, dict):
            raise bad_request()
        email = str(data.get("email") or "").strip()
        if not valid_email(email):
            raise ACHTTPError(
                422,
                {
                    "errors": [
                        {
                            "title": "Contact Email Address is not valid.",
                            "detail": "",
                            "code": "email_invalid",
                            "error": "must_be_valid_email_address",
                            "source": {"pointer": "/data/attributes/email"},
                        }
                    ]
                },
            )
        values = data.get("fieldValues") or []
        if not isinstance(values, list):
            raise bad_request()
        parsed: list[tuple[int, str]] = []
        for entry in values:
            fid = str(entry.get("field", "")) if isinstance(entry, dict) else ""
            if not fid.isdigit():
                raise unprocessable(
                    "Field id is required", code="field_missing", pointer="/data/attributes/field"
                )
            value = "" if entry.get("value") is None else str(entry["value"])
            problem = self.account.check_value(int(fid), value)
            if problem is not None:
                raise unprocessable(problem, code="field_invalid", pointer="/data/attributes/value")
            parsed.append((int(fid), value))
        base = self.gw.base_url(request)
        with self.account.lock:
            contact, created = self.account.upsert_by_email(
                email,
                first_name=_opt(data.get("firstName")),
                last_name=_opt(data.get("lastName")),
                phone=_opt(data.get("phone")),
            )
            stored = [self.account.set_value(contact, fid, value) for fid, value in parsed]
            answer = {
                "fieldValues": [field_value_json(self.account, v, base) for v in stored],
                "contact": contact_json(self.account, contact, base),
            }
        return json_response(answer, 201 if created else 200)


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def contact_routes(gw: Gateway) -> list[Route]:
    """The contact endpoints, wrapped in the gateway pipeline."""
    h = ContactRoutes(gw)
    p = API_PREFIX

    def route(path: str, handler: Any, method: str) -> Route:
        return Route(p + path, gw.endpoint(handler, f"{method} {p}{path}"), methods=[method])

    return [
        route("/contacts", h.list, "GET"),
        route("/contact/sync", h.sync, "POST"),
        route("/contacts/{id}", h.get, "GET"),
        route("/contacts/{id}", h.delete, "DELETE"),
        route("/contacts/{id}/fieldValues", h.field_values, "GET"),
        route("/contacts/{id}/trackingLogs", h.tracking_logs, "GET"),
        route("/activities", h.activities, "GET"),
    ]
