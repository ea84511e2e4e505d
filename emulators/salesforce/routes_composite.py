"""sObject Collections: ``/composite/sobjects`` create, update and delete up to 200 rows.

A request that breaks the rules as a whole (over 200 records, a record without
``attributes.type``, more than 10 type chunks) answers 400 with the error array.
Otherwise the answer is 200 with one result per record, in order: ``{id, success:true,
errors:[]}`` or ``{success:false, errors:[{statusCode, message, fields}]}``. With
``allOrNone:true`` one failure rolls every row back (``ALL_OR_NONE_OPERATION_ROLLED_BACK``
on the rows that were fine).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.salesforce.errors import SalesforceHTTPError, json_response, record_error
from leadbridge.emulators.salesforce.gateway import Gateway
from leadbridge.emulators.salesforce.org import Org
from leadbridge.emulators.salesforce.routes_data import V, json_body

__all__ = ["composite_routes"]

_ROLLED_BACK = record_error(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
)
_MAX_CHUNKS = 10


class CompositeRoutes:
    """Handlers for sObject Collections."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.org: Org = gateway.org

    def _records(self, body: Any) -> tuple[list[dict[str, Any]], bool]:
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceHTTPError(
                400,
                "Json Deserialization failed: 'records' must be an array",
                "JSON_PARSER_ERROR",
            )
        records = body["records"]
        all_or_none = body.get("allOrNone", False)
        if not isinstance(all_or_none, bool):
            raise SalesforceHTTPError(400, "allOrNone must be a boolean", "JSON_PARSER_ERROR")
        limit = self.gw.limits.collections_max
        if len(records) > limit:
            raise SalesforceHTTPError(
                400,
                f"Number of records in the request exceeds the maximum of {limit}",
                "EXCEEDED_ID_LIMIT",
            )
        chunks = 0
        previous: str | None = None
        for record in records:
            kind = record.get("attributes", {}).get("type") if isinstance(record, dict) else None
            if not isinstance(kind, str) or self.org.sobject(kind) is None:
                raise SalesforceHTTPError(
                    400,
                    "When creating or updating records, you must specify the type attribute "
                    "of each record (attributes.type)",
                    "INVALID_TYPE",
                )
            if kind != previous:
                chunks += 1
                previous = kind
        if chunks > _MAX_CHUNKS:
            raise SalesforceHTTPError(
                400,
                "A request can't include more than 10 chunks of object types",
                "EXCEEDED_MAX_TYPES_LIMIT",
            )
        return records, all_or_none

    def _sobject_name(self, record: dict[str, Any]) -> str:
        found = self.org.sobject(str(record["attributes"]["type"]))
        assert found is not None
        return found.name

    async def update(self, request: Request) -> Response:
        records, all_or_none = self._records(await json_body(request))
        seen: set[str] = set()
        plans: list[tuple[str, Any, dict[str, Any], dict[str, Any] | None]] = []
        with self.org.lock:
            for record in records:
                sobject = self._sobject_name(record)
                values = {k: v for k, v in record.items() if k not in ("attributes", "id", "Id")}
                record_id = record.get("id", record.get("Id"))
                if record_id is None:
                    error: dict[str, Any] | None = record_error(
                        "MISSING_ARGUMENT", "Id not specified in an update call", ["Id"]
                    )
                elif isinstance(record_id, str) and record_id[:15] in seen:
                    error = record_error("DUPLICATE_VALUE", "Duplicate id in list", ["Id"])
                else:
                    error = self.org.update(sobject, record_id, values, dry_run=True)
                if isinstance(record_id, str):
                    seen.add(record_id[:15])
                plans.append((sobject, record_id, values, error))
            failed = any(error is not None for *_, error in plans)
            results: list[dict[str, Any]] = []
            for sobject, record_id, values, error in plans:
                if error is None and all_or_none and failed:
                    results.append({"success": False, "errors": [_ROLLED_BACK]})
                    continue
                if error is None:
                    error = self.org.update(sobject, record_id, values)
                if error is None:
                    stored = self.org.get(sobject, str(record_id))
                    results.append(
                        {"id": stored["Id"] if stored else record_id, "success": True, "errors": []}
                    )
                else:
                    results.append({"success": False, "errors": [error]})
                self.gw.ledger.record_write(
                    f"PATCH composite/sobjects {sobject}",
                    str(record_id),
                    {k: str(v) for k, v in values.items()},
                    200 if error is None else 400,
                )
        return json_response(results)

    async def create(self, request: Request) -> Response:
        records, all_or_none = self._records(await json_body(request))
        results: list[dict[str, Any]] = []
        with self.org.lock:
            plans = []
            for record in records:
                sobject = self._sobject_name(record)
                values = {k: v for k, v in record.items() if k != "attributes"}
                if "id" in values or "Id" in values:
                    error: dict[str, Any] | None = record_error(
                        "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"]
                    )
                else:
                    _, error = self.org.create(sobject, values, dry_run=True)
                plans.append((sobject, values, error))
            failed = any(error is not None for *_, error in plans)
            for sobject, values, error in plans:
                if error is not None:
                    results.append({"success": False, "errors": [error]})
                elif all_or_none and failed:
                    results.append({"success": False, "errors": [_ROLLED_BACK]})
                else:
                    new_id, late = self.org.create(sobject, values)
                    results.append(
                        {"id": new_id, "success": True, "errors": []}
                        if late is None
                        else {"success": False, "errors": [late]}
                    )
        return json_response(results)

    async def delete(self, request: Request) -> Response:
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        if not ids:
            raise SalesforceHTTPError(400, "ids parameter is required", "MISSING_ARGUMENT")
        if len(ids) > self.gw.limits.collections_max:
            raise SalesforceHTTPError(
                400, "Number of records in the request exceeds the maximum", "EXCEEDED_ID_LIMIT"
            )
        results: list[dict[str, Any]] = []
        for record_id in ids:
            sobject = self.org.type_of_id(record_id)
            if sobject is not None and self.org.delete(sobject, record_id):
                results.append({"id": record_id, "success": True, "errors": []})
            else:
                results.append(
                    {
                        "success": False,
                        "errors": [record_error("ENTITY_IS_DELETED", "entity is deleted", [])],
                    }
                )
        return json_response(results)


def composite_routes(gw: Gateway) -> list[Route]:
    """The collections routes, all through the gateway."""
    h = CompositeRoutes(gw)
    e = gw.endpoint
    path = f"{V}/composite/sobjects"
    return [
        Route(path, e(h.update, "/composite/sobjects"), methods=["PATCH"]),
        Route(path, e(h.create, "/composite/sobjects"), methods=["POST"]),
        Route(path, e(h.delete, "/composite/sobjects"), methods=["DELETE"]),
        Route(path + "/", e(h.update, "/composite/sobjects"), methods=["PATCH"]),
        Route(path + "/", e(h.create, "/composite/sobjects"), methods=["POST"]),
    ]
