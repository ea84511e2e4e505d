"""Collections upsert on an external id, and merges as a user would make them.

``PATCH /composite/sobjects/{SObject}/{ExtIdField}`` creates or updates up to 200 records
matched on the external-id field; each result carries ``created``. A value matching more
than one record fails that record with ``DUPLICATE_EXTERNAL_ID`` (the single-record
endpoint answers 300 there). The index of external ids is built once per request, so a
50,000-record org upserts in linear time.

Merges happen in the Salesforce UI or the SOAP API; ``POST /_emulator/merge {master,
loser}`` reproduces their visible effect: the loser's tasks and events move to the
master, and the loser goes to the recycle bin with ``MasterRecordId`` set, which is how
``queryAll`` shows a merge. ``MasterRecordId`` is part of Lead and Contact from the start.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.salesforce.errors import SalesforceHTTPError, json_response, record_error
from leadbridge.emulators.salesforce.gateway import Gateway
from leadbridge.emulators.salesforce.org import NULL, Org
from leadbridge.emulators.salesforce.routes_data import V, json_body
from leadbridge.emulators.salesforce.schema import FieldDef

__all__ = ["add_master_record_id", "merge_records", "upsert_routes"]


def add_master_record_id(org: Org) -> None:
    """Give Lead and Contact their read-only ``MasterRecordId`` lookup (idempotent)."""
    for sobject in ("Lead", "Contact"):
        if org.schema[sobject].get("MasterRecordId") is None:
            org.schema[sobject].add(
                FieldDef(
                    "MasterRecordId",
                    "reference",
                    label="Master Record ID",
                    reference_to=(sobject,),
                    updateable=False,
                    createable=False,
                )
            )


def merge_records(org: Org, master: str, loser: str) -> None:
    """Merge `loser` into `master`: activities re-parented, loser binned with its master."""
    sobject = org.type_of_id(loser)
    if sobject not in ("Lead", "Contact") or org.type_of_id(master) != sobject:
        raise SalesforceHTTPError(400, "merge needs two Leads or two Contacts", "INVALID_ID_FIELD")
    with org.lock:
        survivor, gone = org.get(sobject, master), org.get(sobject, loser)
        if survivor is None or gone is None or master == loser:
            raise SalesforceHTTPError(400, "entity is deleted", "ENTITY_IS_DELETED")
        for child in ("Task", "Event"):
            for row in list(org.rows(child)):
                if row.get("WhoId") == gone["Id"]:
                    row["WhoId"] = survivor["Id"]
                    org.touch(child, row["Id"])
        for name, value in gone.items():
            if (
                survivor.get(name) in (None, "")
                and value not in (None, "")
                and not name.startswith("_")
            ):
                spec = org.schema[sobject].get(name)
                if spec is not None and spec.updateable and not spec.name.startswith("Leadbridge"):
                    survivor[name] = value
        org.touch(sobject, survivor["Id"])
        gone["MasterRecordId"] = survivor["Id"]
        org.delete(sobject, gone["Id"])


class UpsertRoutes:
    """Handlers for external-id upserts and the merge admin route."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.org: Org = gateway.org
        add_master_record_id(self.org)

    async def upsert(self, request: Request) -> Response:
        sobject_type = self.org.sobject(str(request.path_params["sobject"]))
        if sobject_type is None:
            raise SalesforceHTTPError(404, "The requested resource does not exist", "NOT_FOUND")
        sobject = sobject_type.name
        key_field = sobject_type.get(str(request.path_params["field"]))
        if key_field is None or self.org.visible_field(sobject, key_field.name) is None:
            raise SalesforceHTTPError(
                400,
                "Provided external ID field does not exist or is not accessible",
                "INVALID_FIELD",
            )
        body = await json_body(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or len(records) > self.gw.limits.collections_max:
            raise SalesforceHTTPError(
                400,
                f"'records' must be an array of at most {self.gw.limits.collections_max}",
                "JSON_PARSER_ERROR",
            )
        key = key_field.name
        results: list[dict[str, Any]] = []
        with self.org.lock:
            index: dict[str, list[str]] = {}
            for row in self.org.rows(sobject):
                value = row.get(key)
                if value not in (None, NULL, ""):
                    index.setdefault(str(value).lower(), []).append(row["Id"])
            for record in records:
                results.append(self._one(sobject, key, record, index))
        return json_response(results)

    def _one(
        self, sobject: str, key: str, record: Any, index: dict[str, list[str]]
    ) -> dict[str, Any]:
        kind = record.get("attributes", {}).get("type") if isinstance(record, dict) else None
        if not isinstance(kind, str) or kind.lower() != sobject.lower():
            return {
                "success": False,
                "errors": [record_error("INVALID_TYPE", "attributes.type must match the URL", [])],
            }
        values = {k: v for k, v in record.items() if k != "attributes"}
        wanted = values.get(key)
        if wanted in (None, ""):
            error = record_error("MISSING_ARGUMENT", f"{key} not specified", [key])
            return {"success": False, "errors": [error]}
        matches = index.get(str(wanted).lower(), [])
        if len(matches) > 1:
            error = record_error(
                "DUPLICATE_EXTERNAL_ID",
                f"{key}: more than one record found for external id field",
                [key],
            )
            return {"success": False, "errors": [error]}
        endpoint = f"PATCH composite/sobjects/{sobject}/{key}"
        if matches:
            update = {k: v for k, v in values.items() if k != key}
            problem = self.org.update(sobject, matches[0], update)
            self.gw.ledger.record_write(
                endpoint,
                matches[0],
                {k: str(v) for k, v in update.items()},
                200 if problem is None else 400,
            )
            if problem is not None:
                return {"success": False, "errors": [problem]}
            return {"id": matches[0], "success": True, "errors": [], "created": False}
        new_id, problem = self.org.create(sobject, values)
        self.gw.ledger.record_write(
            endpoint,
            new_id or "",
            {k: str(v) for k, v in values.items()},
            201 if problem is None else 400,
        )
        if problem is not None or new_id is None:
            return {"success": False, "errors": [problem]}
        index[str(wanted).lower()] = [new_id]
        return {"id": new_id, "success": True, "errors": [], "created": True}

    async def merge(self, request: Request) -> Response:
        body = await json_body(request)
        master = body.get("master") if isinstance(body, dict) else None
        loser = body.get("loser") if isinstance(body, dict) else None
        if not isinstance(master, str) or not isinstance(loser, str):
            raise SalesforceHTTPError(400, "give 'master' and 'loser' ids", "MISSING_ARGUMENT")
        try:
            merge_records(self.org, master, loser)
        except SalesforceHTTPError as exc:
            return exc.response()
        return json_response({"id": master, "success": True, "merged": [loser]})


def upsert_routes(gw: Gateway) -> list[Route]:
    """The upsert route (through the gateway) and the unauthenticated merge admin route."""
    h = UpsertRoutes(gw)
    path = f"{V}/composite/sobjects/{{sobject}}/{{field}}"
    return [
        Route(
            path, gw.endpoint(h.upsert, "/composite/sobjects/{sobject}/{field}"), methods=["PATCH"]
        ),
        Route("/_emulator/merge", h.merge, methods=["POST"]),
    ]
