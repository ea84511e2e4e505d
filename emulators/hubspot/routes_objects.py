"""`/crm/v3/objects/...`: search, list, read, update, batch, upsert, archive, GDPR delete.

Reads work for contacts and the engagement types; writes exist for contacts only (the
connector never writes engagements). Every per-object write outcome lands in the ledger.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.common.timefmt import now_ms
from leadbridge.emulators.hubspot.catalog import normalize_object_type
from leadbridge.emulators.hubspot.errors import (
    HubSpotHTTPError,
    json_response,
    not_found,
    validation_error,
)
from leadbridge.emulators.hubspot.gateway import Gateway
from leadbridge.emulators.hubspot.objects import (
    batch_envelope,
    problems_message,
    property_errors,
    requested_properties,
    serialize,
    standard_error,
)
from leadbridge.emulators.hubspot.search import parse_search, run_search
from leadbridge.emulators.hubspot.store import CrmRecord, ObjectStore

__all__ = ["object_routes"]

LIST_MAX_LIMIT = 100
BATCH_READ_HISTORY_MAX = 50


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        raise validation_error("Request body is required.")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise HubSpotHTTPError(
            400, "Invalid input JSON on line 1: the body is not valid JSON.", "VALIDATION_ERROR"
        ) from None


def _scope(object_type: str, write: bool = False) -> str:
    return f"crm.objects.{object_type}.{'write' if write else 'read'}"


class ObjectRoutes:
    """Route handlers bound to one gateway."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.portal = gateway.portal

    def _store(self, request: Request) -> ObjectStore:
        name = request.path_params.get("objectType", "contacts")
        store = self.portal.store(name)
        if store is None:
            raise HubSpotHTTPError(
                400, f"Unable to infer object type from: {name}", "VALIDATION_ERROR"
            )
        return store

    def _inputs(self, body: object, *, limit: int) -> list[dict[str, Any]]:
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise validation_error("'inputs' must be an array of objects.")
        if len(inputs) > limit:
            raise HubSpotHTTPError(
                400,
                f"Batch input contains {len(inputs)} inputs; the limit is {limit}.",
                "VALIDATION_ERROR",
                context={"limit": [str(limit)], "size": [str(len(inputs))]},
            )
        ids = [str(i.get("id", "")) for i in inputs]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise validation_error(
                f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique",
                ids=duplicates,
            )
        return inputs

    def _resolve(
        self, store: ObjectStore, raw_id: object, id_property: str | None, *, archived: bool
    ) -> CrmRecord | None:
        text = str(raw_id or "").strip()
        if id_property and id_property != "hs_object_id":
            if store is not self.portal.contacts or id_property != "email":
                return self._by_unique(store, id_property, text, archived)
            record = self.portal.contact_by_email(text)
        else:
            record = store.records.get(int(text)) if text.isdigit() else None
        if record is None or record.archived != archived:
            return None
        return record

    def _by_unique(
        self, store: ObjectStore, prop: str, value: str, archived: bool
    ) -> CrmRecord | None:
        definition = self.portal.properties.get(prop) if store is self.portal.contacts else None
        if definition is None or not definition.has_unique_value:
            raise validation_error(f"Property '{prop}' is not a unique identifier property.")
        for record in store.records.values():
            if record.properties.get(prop) == value and record.archived == archived:
                return record
        return None

    # -- reads -----------------------------------------------------------------------------
    async def search(self, request: Request) -> Response:
        store = self._store(request)
        body = await _json(request)
        limits = self.gw.limits
        query = parse_search(store, body, max_limit=limits.search_max_limit)
        with self.portal.lock:
            result = run_search(store, query, max_results=limits.search_max_results)
            results = [serialize(store, r, query.properties) for r in result.records]
        payload: dict[str, Any] = {"total": result.total, "results": results}
        if result.next_offset is not None:
            after = str(result.next_offset)
            payload["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
        return json_response(payload)

    async def list(self, request: Request) -> Response:
        store = self._store(request)
        params = request.query_params
        try:
            limit = int(params.get("limit", "10"))
        except ValueError:
            raise validation_error("limit must be an integer.") from None
        if limit < 1 or limit > LIST_MAX_LIMIT:
            raise validation_error(
                f"limit must be between 1 and {LIST_MAX_LIMIT}, got {limit}.", limit=[str(limit)]
            )
        after_raw = params.get("after", "")
        if after_raw and not after_raw.isdigit():
            raise validation_error("'after' must be a paging token from a previous page.")
        after = int(after_raw or 0)
        archived = params.get("archived", "false").lower() == "true"
        props = requested_properties(request)
        with self.portal.lock:
            if archived:
                ids = sorted(i for i, r in store.records.items() if r.archived and i >= after)
            else:
                ids = store.by_id[bisect_left(store.by_id, after) :]
            page = ids[: limit + 1]
            results = [serialize(store, store.records[i], props) for i in page[:limit]]
        payload: dict[str, Any] = {"results": results}
        if len(page) > limit:
            nxt = str(page[limit])
            query = urlencode({"after": nxt, "limit": limit})
            link = f"{self.gw_base(request)}{request.url.path}?{query}"
            payload["paging"] = {"next": {"after": nxt, "link": link}}
        return json_response(payload)

    @staticmethod
    def gw_base(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    async def get_one(self, request: Request) -> Response:
        store = self._store(request)
        params = request.query_params
        archived = params.get("archived", "false").lower() == "true"
        with self.portal.lock:
            record = self._resolve(
                store, request.path_params["objectId"], params.get("idProperty"), archived=archived
            )
            if record is None:
                raise not_found()
            return json_response(serialize(store, record, requested_properties(request)))

    async def batch_read(self, request: Request) -> Response:
        store = self._store(request)
        requested_at = datetime.now(UTC)
        body = await _json(request)
        history = body.get("propertiesWithHistory") if isinstance(body, dict) else None
        cap = BATCH_READ_HISTORY_MAX if history else self.gw.limits.batch_max
        inputs = self._inputs(body, limit=cap)
        props = body.get("properties") or []
        id_property = body.get("idProperty")
        archived = request.query_params.get("archived", "false").lower() == "true"
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        with self.portal.lock:
            for item in inputs:
                record = self._resolve(store, item.get("id"), id_property, archived=archived)
                if record is None:
                    missing.append(str(item.get("id")))
                else:
                    results.append(serialize(store, record, props))
        errors = []
        if missing:
            kind = store.object_type.rstrip("s").upper()
            errors.append(
                standard_error(
                    "OBJECT_NOT_FOUND",
                    f"Could not get some {kind} objects, they may be deleted or not exist. "
                    "Check that ids are valid.",
                    {"ids": missing},
                )
            )
        payload, status = batch_envelope(results, errors, requested_at)
        return json_response(payload, status)

    # -- contact writes --------------------------------------------------------------------
    def _write_record(
        self, endpoint: str, record_id: str, values: dict[str, Any], status: int
    ) -> None:
        clean = {str(k): "" if v is None else str(v) for k, v in values.items()}
        self.gw.ledger.record_write(endpoint, record_id, clean, status)

    async def patch_one(self, request: Request) -> Response:
        contacts = self.portal.contacts
        body = await _json(request)
        values = body.get("properties") if isinstance(body, dict) else None
        endpoint = request.state.endpoint
        raw_id = request.path_params["objectId"]
        with self.portal.lock:
            record = self._resolve(
                contacts, raw_id, request.query_params.get("idProperty"), archived=False
            )
            if record is None:
                self._write_record(endpoint, str(raw_id), values or {}, 404)
                raise not_found()
            clean, problems = property_errors(self.portal.properties, values)
            if problems:
                self._write_record(endpoint, str(record.id), values or {}, 400)
                raise HubSpotHTTPError(
                    400,
                    problems_message(problems),
                    "VALIDATION_ERROR",
                    errors=[
                        {"message": str(p["message"]), "code": str(p["error"])} for p in problems
                    ],
                )
            self.portal.update_contact(record, clean)
            self._write_record(endpoint, str(record.id), clean, 200)
            return json_response(serialize(contacts, record, list(clean)))

    async def create_one(self, request: Request) -> Response:
        body = await _json(request)
        values = body.get("properties") if isinstance(body, dict) else None
        with self.portal.lock:
            record, error = self._create(values, request.state.endpoint)
            if record is None:
                raise HubSpotHTTPError(error["_status"], error["message"], error["category"])
            return json_response(serialize(self.portal.contacts, record, list(values or {})), 201)

    def _create(self, values: object, endpoint: str) -> tuple[CrmRecord | None, dict[str, Any]]:
        clean, problems = property_errors(self.portal.properties, values)
        email = clean.get("email", "").strip().lower()
        if problems:
            self._write_record(endpoint, "", clean, 400)
            return None, {
                "_status": 400,
                "message": problems_message(problems),
                "category": "VALIDATION_ERROR",
            }
        if email and email in self.portal.blocklist:
            self._write_record(endpoint, "", clean, 400)
            return None, {
                "_status": 400,
                "message": f"Contact {email} was deleted for GDPR reasons and cannot be recreated.",
                "category": "VALIDATION_ERROR",
            }
        existing = self.portal.contact_by_email(email) if email else None
        if existing is not None and not existing.archived:
            self._write_record(endpoint, "", clean, 409)
            return None, {
                "_status": 409,
                "message": f"Contact already exists. Existing ID: {existing.id}",
                "category": "CONFLICT",
            }
        record = self.portal.create_contact(clean)
        self._write_record(endpoint, str(record.id), clean, 201)
        return record, {}

    async def batch_update(self, request: Request) -> Response:
        contacts = self.portal.contacts
        requested_at = datetime.now(UTC)
        inputs = self._inputs(await _json(request), limit=self.gw.limits.batch_max)
        endpoint = request.state.endpoint
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        stamp = now_ms()
        with self.portal.lock:
            for item in inputs:
                raw_id = str(item.get("id", ""))
                values = item.get("properties")
                record = self._resolve(contacts, raw_id, item.get("idProperty"), archived=False)
                if record is None:
                    errors.append(
                        standard_error(
                            "OBJECT_NOT_FOUND", f"Object {raw_id} not found", {"ids": [raw_id]}
                        )
                    )
                    self._write_record(endpoint, raw_id, values or {}, 404)
                    continue
                clean, problems = property_errors(self.portal.properties, values)
                if problems:
                    names = [str(p.get("name", "")) for p in problems]
                    errors.append(
                        standard_error(
                            "VALIDATION_ERROR",
                            problems_message(problems),
                            {"ids": [raw_id], "propertyName": names},
                        )
                    )
                    self._write_record(endpoint, raw_id, values or {}, 400)
                    continue
                self.portal.update_contact(record, clean, stamp)
                self._write_record(endpoint, str(record.id), clean, 200)
                result = serialize(contacts, record, list(clean))
                if item.get("objectWriteTraceId"):
                    result["objectWriteTraceId"] = str(item["objectWriteTraceId"])
                results.append(result)
        payload, status = batch_envelope(results, errors, requested_at)
        return json_response(payload, status)

    async def batch_upsert(self, request: Request) -> Response:
        contacts = self.portal.contacts
        requested_at = datetime.now(UTC)
        inputs = self._inputs(await _json(request), limit=self.gw.limits.batch_max)
        endpoint = request.state.endpoint
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        with self.portal.lock:
            for item in inputs:
                raw_id = str(item.get("id", ""))
                id_property = item.get("idProperty") or "hs_object_id"
                values = item.get("properties")
                record = self._resolve(contacts, raw_id, id_property, archived=False)
                if record is None and id_property == "hs_object_id":
                    errors.append(
                        standard_error(
                            "OBJECT_NOT_FOUND", f"Object {raw_id} not found", {"ids": [raw_id]}
                        )
                    )
                    self._write_record(endpoint, raw_id, values or {}, 404)
                    continue
                if record is None:
                    merged = dict(values) if isinstance(values, dict) else {}
                    merged[id_property] = raw_id
                    created, error = self._create(merged, endpoint)
                    if created is None:
                        errors.append(
                            standard_error(error["category"], error["message"], {"ids": [raw_id]})
                        )
                        continue
                    results.append({**serialize(contacts, created, list(merged)), "new": True})
                    continue
                clean, problems = property_errors(self.portal.properties, values)
                if problems:
                    errors.append(
                        standard_error(
                            "VALIDATION_ERROR", problems_message(problems), {"ids": [raw_id]}
                        )
                    )
                    self._write_record(endpoint, str(record.id), values or {}, 400)
                    continue
                self.portal.update_contact(record, clean)
                self._write_record(endpoint, str(record.id), clean, 200)
                results.append({**serialize(contacts, record, list(clean)), "new": False})
        payload, status = batch_envelope(results, errors, requested_at)
        return json_response(payload, status)

    async def batch_archive(self, request: Request) -> Response:
        inputs = self._inputs(await _json(request), limit=self.gw.limits.batch_max)
        endpoint = request.state.endpoint
        with self.portal.lock:
            for item in inputs:
                raw_id = str(item.get("id", ""))
                record = self._resolve(self.portal.contacts, raw_id, None, archived=False)
                if record is not None:
                    self.portal.archive_contact(record)
                self._write_record(endpoint, raw_id, {}, 204)
        return Response(status_code=204)

    async def gdpr_delete(self, request: Request) -> Response:
        body = await _json(request)
        if not isinstance(body, dict) or not body.get("objectId"):
            raise validation_error("'objectId' is required.")
        raw_id = str(body["objectId"])
        id_property = body.get("idProperty")
        with self.portal.lock:
            record = None
            if id_property == "email":
                record = self.portal.contact_by_email(raw_id)
            elif raw_id.isdigit():
                record = self.portal.contacts.records.get(int(raw_id))
            if record is None:
                if id_property != "email":
                    raise not_found()
                self.portal.blocklist.add(raw_id.strip().lower())
            else:
                self.portal.gdpr_delete(record)
            self.gw.ledger.record_write(
                request.state.endpoint, str(record.id) if record else raw_id, {}, 204
            )
        return Response(status_code=204)


def object_routes(gw: Gateway) -> list[Route]:
    """Routes for contacts (read/write) and engagements (read)."""
    h = ObjectRoutes(gw)
    base = "/crm/v3/objects/contacts"
    generic = "/crm/v3/objects/{objectType}"
    w = _scope("contacts", write=True)

    def ep(handler: Any, template: str, **kw: Any) -> Any:
        return gw.endpoint(handler, template, **kw)

    return [
        Route(
            f"{base}/batch/update",
            ep(h.batch_update, f"{base}/batch/update", scope=w),
            methods=["POST"],
        ),
        Route(
            f"{base}/batch/upsert",
            ep(h.batch_upsert, f"{base}/batch/upsert", scope=w),
            methods=["POST"],
        ),
        Route(
            f"{base}/batch/archive",
            ep(h.batch_archive, f"{base}/batch/archive", scope=w),
            methods=["POST"],
        ),
        Route(
            f"{base}/gdpr-delete",
            ep(h.gdpr_delete, f"{base}/gdpr-delete", scope=w),
            methods=["POST"],
        ),
        Route(base, ep(h.create_one, base, scope=w), methods=["POST"]),
        Route(
            f"{base}/{{objectId}}",
            ep(h.patch_one, f"{base}/{{objectId}}", scope=w),
            methods=["PATCH"],
        ),
        Route(
            f"{generic}/search",
            ep(h.search, f"{generic}/search", search=True, scope=_path_scope),
            methods=["POST"],
        ),
        Route(
            f"{generic}/batch/read",
            ep(h.batch_read, f"{generic}/batch/read", scope=_path_scope),
            methods=["POST"],
        ),
        Route(generic, ep(h.list, generic, scope=_path_scope), methods=["GET"]),
        Route(
            f"{generic}/{{objectId}}",
            ep(h.get_one, f"{generic}/{{objectId}}", scope=_path_scope),
            methods=["GET"],
        ),
    ]


def _path_scope(request: Request) -> str | None:
    """The read scope of the `{objectType}` in the path."""
    name = normalize_object_type(str(request.path_params.get("objectType", "")))
    return _scope(name) if name else None
