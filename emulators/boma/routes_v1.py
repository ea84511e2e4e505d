"""BOMA's REST API v1: leads, activities, dossiers, custom fields, inbound messages, OAuth.

Lists page by opaque keyset cursor (``meta.next_cursor``; absent on the last page) over
(updated time, id) ascending, filtered inclusively by ``updated_since``-style parameters.
Writes validate record by record: an unknown custom field is a 422 naming it (seed 000's
``PATCH /leads/{lead_id}`` with ``custom_fields``); the batch endpoint answers each record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.boma.errors import (
    BomaHTTPError,
    bad_request,
    json_response,
    not_found,
    unprocessable,
)
from leadbridge.emulators.boma.gateway import AuthKind, Gateway, Handler
from leadbridge.emulators.boma.store import LeadRow, MessageRow
from leadbridge.emulators.boma.views import (
    activity_json,
    decode_cursor,
    deletion_json,
    encode_cursor,
    int_param,
    json_body,
    lead_json,
    message_json,
    since_param,
    validate_custom_fields,
)
from leadbridge.emulators.common.timefmt import now_ms, parse_instant

__all__ = ["v1_routes"]

_PATCHABLE = {"lead_id", "custom_fields"}
_MESSAGE_KEYS = {
    "lead_id",
    "lead_source",
    "message_body",
    "extracted_data",
    "ai_score",
    "routing_action",
    "received_at",
}


class V1:
    """Handlers of the v1 API."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.store = gateway.store

    # -- lists ----------------------------------------------------------------------

    def _list(
        self,
        request: Request,
        index: str,
        since_name: str,
        key: Callable[[Any], tuple[int, int]],
        render: Callable[[Any], dict[str, Any]],
    ) -> Response:
        limit = int_param(request, "limit", 50, 1, self.gw.limits.page_max)
        since = since_param(request, since_name)
        token = request.query_params.get("cursor")
        after = decode_cursor(token) if token else None
        rows = self.store.page(index, since, after, limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        meta: dict[str, Any] = {"limit": limit}
        if more and rows:
            meta["next_cursor"] = encode_cursor(key(rows[-1]))
        return json_response({"data": [render(r) for r in rows], "meta": meta})

    async def leads(self, request: Request) -> Response:
        return self._list(
            request, "leads", "updated_since", lambda r: (r.updated_ms, r.lead_id), lead_json
        )

    async def activities(self, request: Request) -> Response:
        return self._list(
            request,
            "activities",
            "recorded_since",
            lambda r: (r.recorded_ms, r.activity_id),
            activity_json,
        )

    async def deleted(self, request: Request) -> Response:
        return self._list(
            request,
            "deletions",
            "deleted_since",
            lambda r: (r.deleted_ms, r.lead_id),
            deletion_json,
        )

    async def messages(self, request: Request) -> Response:
        return self._list(
            request, "messages", "since", lambda r: (r.received_ms, r.message_id), message_json
        )

    # -- single leads ---------------------------------------------------------------

    def _lead(self, raw: str) -> LeadRow:
        lead = self.store.leads.get(int(raw)) if raw.isdigit() else None
        if lead is None:
            raise not_found(f"Lead {raw} not found.")
        return lead

    async def lead(self, request: Request) -> Response:
        with self.store.lock:
            return json_response(lead_json(self._lead(request.path_params["lead_id"])))

    async def delete_lead(self, request: Request) -> Response:
        raw = request.path_params["lead_id"]
        if not (raw.isdigit() and self.store.delete_lead(int(raw), now_ms())):
            raise not_found(f"Lead {raw} not found.")
        return Response(status_code=204)

    def _apply(self, raw_id: str, update: object, where: str) -> LeadRow:
        """Validate and apply one lead update (raises BomaHTTPError on the first problem)."""
        if not isinstance(update, dict):
            raise unprocessable("Each update must be an object.", where, "invalid_type")
        for key in update:
            if key not in _PATCHABLE:
                prefix = f"{where}." if where else ""
                raise unprocessable(f"Unknown field '{key}'.", f"{prefix}{key}", "unknown_field")
        body_id = update.get("lead_id")
        if body_id is not None and str(body_id) != raw_id:
            raise unprocessable("'lead_id' does not match the URL.", "lead_id", "mismatch")
        prefix = f"{where}.custom_fields" if where else "custom_fields"
        values = validate_custom_fields(self.store, update.get("custom_fields", {}), prefix)
        with self.store.lock:
            lead = self._lead(raw_id)
            lead.custom.update(values)
            self.store.touch(lead, now_ms())
            return lead

    async def patch_lead(self, request: Request) -> Response:
        raw = request.path_params["lead_id"]
        endpoint = "PATCH /v1/leads/{lead_id}"
        body = await json_body(request)
        try:
            lead = self._apply(raw, body, "")
        except BomaHTTPError as exc:
            self.gw.ledger.record_write(endpoint, raw, _flat(body), exc.status, payload=body)
            raise
        self.gw.ledger.record_write(endpoint, raw, _flat(body), 200, payload=body)
        with self.store.lock:
            return json_response(lead_json(lead))

    async def batch(self, request: Request) -> Response:
        body = await json_body(request)
        updates = body.get("leads")
        cap = self.gw.limits.batch_max
        if not isinstance(updates, list) or not 1 <= len(updates) <= cap:
            raise bad_request(f"'leads' must be a list of 1 to {cap} updates.", "leads")
        endpoint = "POST /v1/leads/batch"
        results: list[dict[str, Any]] = []
        seen: set[str] = set()
        for index, update in enumerate(updates):
            raw = str(update.get("lead_id", "")) if isinstance(update, dict) else ""
            try:
                if not raw:
                    raise unprocessable("'lead_id' is required.", f"leads[{index}]", "missing")
                if raw in seen:
                    raise unprocessable(
                        "Duplicate lead_id in one batch.", f"leads[{index}]", "duplicate"
                    )
                seen.add(raw)
                self._apply(raw, update, f"leads[{index}]")
            except BomaHTTPError as exc:
                self.gw.ledger.record_write(
                    endpoint, raw, _flat(update), exc.status, payload=update
                )
                results.append({"lead_id": raw or None, "status": "error", "error": exc.body})
                continue
            self.gw.ledger.record_write(endpoint, raw, _flat(update), 200, payload=update)
            results.append({"lead_id": raw, "status": "ok"})
        failed = any(r["status"] != "ok" for r in results)
        return json_response({"results": results}, 207 if failed else 200)

    # -- messages (seed 001) --------------------------------------------------------

    async def post_message(self, request: Request) -> Response:
        body = await json_body(request)
        for key in body:
            if key not in _MESSAGE_KEYS:
                raise unprocessable(f"Unknown field '{key}'.", key, "unknown_field")
        for key in ("lead_source", "message_body"):
            if not isinstance(body.get(key), str) or not body[key].strip():
                raise unprocessable(f"'{key}' is required text.", key, "missing")
        extracted = body.get("extracted_data", {})
        if not isinstance(extracted, dict):
            raise unprocessable("'extracted_data' must be an object.", "extracted_data", "type")
        score = body.get("ai_score")
        if score is not None and (
            isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100
        ):
            raise unprocessable("'ai_score' must be an integer 0-100.", "ai_score", "invalid")
        routing = body.get("routing_action")
        if routing is not None and not isinstance(routing, str):
            raise unprocessable("'routing_action' must be text.", "routing_action", "type")
        lead_id = body.get("lead_id")
        if lead_id is not None:
            lead_id = str(lead_id)
            if not lead_id.isdigit() or int(lead_id) not in self.store.leads:
                raise unprocessable(f"Lead {lead_id} not found.", "lead_id", "unknown_lead")
        received = parse_instant(body["received_at"]) if "received_at" in body else now_ms()
        if received is None:
            raise unprocessable("'received_at' must be ISO 8601.", "received_at", "invalid")
        row = MessageRow(
            message_id=self.store.next_message_id(),
            lead_id=lead_id,
            lead_source=body["lead_source"],
            message_body=body["message_body"],
            extracted_data=extracted,
            ai_score=score,
            routing_action=routing,
            received_ms=received,
        )
        self.store.add_message(row)
        self.gw.ledger.record_write(
            "POST /v1/messages", str(row.message_id), _flat(body), 201, payload=body
        )
        return json_response(message_json(row), 201)

    # -- schema, account, OAuth -----------------------------------------------------

    async def custom_fields(self, request: Request) -> Response:
        with self.store.lock:
            return json_response({"data": [dict(f) for f in self.store.custom_fields]})

    async def account(self, request: Request) -> Response:
        limits = self.gw.limits
        return json_response(
            {
                "account_id": self.store.account_id,
                "name": self.store.name,
                "plan": "professional",
                "rate_limit": {"requests": limits.requests, "window_s": limits.window_s},
            }
        )

    async def token(self, request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", errors="replace")
        form = {k: v[0] for k, v in parse_qs(raw).items()}
        no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if form.get("grant_type") != "client_credentials":
            body = {
                "error": "unsupported_grant_type",
                "error_description": "Only client_credentials is supported.",
            }
            return json_response(body, 400, no_store)
        if not self.gw.authority.client_ok(request.headers.get("authorization"), form):
            body = {"error": "invalid_client", "error_description": "Client authentication failed."}
            return json_response(body, 401, {**no_store, "WWW-Authenticate": 'Basic realm="boma"'})
        grant = self.gw.authority.issue(form.get("scope", "leads:read leads:write"))
        return json_response(
            {
                "access_token": grant.access_token,
                "token_type": "Bearer",
                "expires_in": grant.expires_in,
                "scope": grant.scope,
            },
            200,
            no_store,
        )


def _flat(update: object, prefix: str = "") -> dict[str, str]:
    """A write's values as flat text (``custom_fields.predictive_score`` → ``"85"``)."""
    if not isinstance(update, dict):
        return {}
    flat: dict[str, str] = {}
    for key, value in update.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flat(value, f"{name}."))
        else:
            flat[name] = "" if value is None else str(value)
    return flat


def v1_routes(gw: Gateway) -> list[Route]:
    """Every v1 route, wrapped by the gateway."""
    h = V1(gw)

    def route(path: str, handler: Handler, method: str, *, auth: AuthKind = "bearer") -> Route:
        return Route(path, gw.endpoint(handler, f"{method} {path}", auth=auth), methods=[method])

    return [
        route("/v1/oauth/token", h.token, "POST", auth="none"),
        route("/v1/account", h.account, "GET"),
        route("/v1/custom-fields", h.custom_fields, "GET"),
        route("/v1/leads", h.leads, "GET"),
        route("/v1/leads/deleted", h.deleted, "GET"),
        route("/v1/leads/batch", h.batch, "POST"),
        route("/v1/leads/{lead_id}", h.lead, "GET"),
        route("/v1/leads/{lead_id}", h.patch_lead, "PATCH"),
        route("/v1/leads/{lead_id}", h.delete_lead, "DELETE"),
        route("/v1/activities", h.activities, "GET"),
        route("/v1/messages", h.messages, "GET"),
        route("/v1/messages", h.post_message, "POST"),
    ]
