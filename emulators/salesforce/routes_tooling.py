"""The Tooling API slice used to create custom fields: ``CustomField`` create and query.

``POST /tooling/sobjects/CustomField {"FullName": "Lead.Foo__c", "Metadata": {...}}``
validates the metadata like the platform (a Number needs precision and scale, a Text a
length...) and adds the field to the object. The new field is invisible to the API user
(queries say "No such column", writes fail ``INVALID_FIELD``) until ``FieldPermissions``
grant it, which is the step integrations most often forget.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.salesforce import soql
from leadbridge.emulators.salesforce.errors import (
    SalesforceHTTPError,
    json_response,
    malformed_query,
    not_found,
)
from leadbridge.emulators.salesforce.gateway import Gateway
from leadbridge.emulators.salesforce.org import Org
from leadbridge.emulators.salesforce.routes_data import V, json_body
from leadbridge.emulators.salesforce.schema import FieldDef, SObjectType

__all__ = ["ToolingSource", "tooling_routes"]

_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c$")
_TYPES = {
    "Number": "double",
    "Text": "string",
    "DateTime": "datetime",
    "Date": "date",
    "Checkbox": "boolean",
    "LongTextArea": "textarea",
    "TextArea": "textarea",
}


def _integrity(message: str) -> SalesforceHTTPError:
    return SalesforceHTTPError(400, message, "FIELD_INTEGRITY_EXCEPTION", [])


def field_from_metadata(name: str, metadata: Any) -> FieldDef:
    """The field a CustomField's Metadata describes, or the platform's refusal."""
    if not isinstance(metadata, dict):
        raise _integrity("Metadata: required")
    label = metadata.get("label")
    if not isinstance(label, str) or not label.strip():
        raise _integrity("Field Label: You must enter a value")
    kind = metadata.get("type")
    if kind not in _TYPES:
        raise _integrity(f"Data Type: bad value for restricted picklist field: {kind}")
    if kind == "Number":
        precision, scale = metadata.get("precision"), metadata.get("scale")
        if not isinstance(precision, int) or not 1 <= precision <= 18:
            raise _integrity("Length: Length must be between 1 and 18")
        if not isinstance(scale, int) or not 0 <= scale <= precision:
            raise _integrity("Decimal Places: must be between 0 and the length")
        return FieldDef(name, "double", label=label, precision=precision, scale=scale)
    if kind in ("Text", "LongTextArea"):
        length = metadata.get("length")
        low, high = (1, 255) if kind == "Text" else (256, 131072)
        if not isinstance(length, int) or not low <= length <= high:
            raise _integrity(f"Length: Length must be between {low} and {high}")
        if kind == "LongTextArea" and not isinstance(metadata.get("visibleLines"), int):
            raise _integrity("# Visible Lines: You must enter a value")
        return FieldDef(name, _TYPES[kind], label=label, length=length)
    if kind == "Checkbox" and metadata.get("defaultValue") is None:
        raise _integrity("Default Value: You must enter a value")
    return FieldDef(name, _TYPES[kind], label=label, length=255 if kind == "TextArea" else None)


class ToolingSource:
    """The Tooling API's ``CustomField`` table as a SOQL source."""

    def __init__(self, org: Org) -> None:
        self.org = org
        table = SObjectType("CustomField")
        for column in ("Id", "DeveloperName", "TableEnumOrId", "NamespacePrefix", "FullName"):
            table.add(FieldDef(column, "id" if column == "Id" else "string"))
        table.add(FieldDef("IsDeleted", "boolean"))
        self.table = table

    def sobject(self, name: str) -> SObjectType | None:
        return self.table if name.lower() == "customfield" else None

    def visible_field(self, sobject: str, name: str) -> FieldDef | None:
        return self.table.get(name)

    def rows(self, sobject: str, *, include_deleted: bool = False) -> Iterable[dict[str, Any]]:
        with self.org.lock:
            return [dict(row, IsDeleted=False) for row in self.org.custom_fields.values()]

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        return self.org.custom_fields.get(record_id)

    @staticmethod
    def type_of_id(record_id: str) -> str | None:
        return "CustomField" if record_id.startswith("00N") else None


class ToolingRoutes:
    """Handlers for the Tooling slice."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.org = gateway.org
        self.source = ToolingSource(gateway.org)

    async def create_field(self, request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("FullName"), str):
            raise SalesforceHTTPError(
                400, "FullName: required field missing", "REQUIRED_FIELD_MISSING", ["FullName"]
            )
        object_name, _, name = body["FullName"].partition(".")
        sobject = self.org.sobject(object_name)
        if sobject is None:
            raise _integrity(f"Invalid parent entity: {object_name}")
        if not _NAME.match(name):
            raise SalesforceHTTPError(
                400,
                "The Field Name can only contain underscores and alphanumeric characters, "
                "must end with __c, begin with a letter and not contain two consecutive "
                "underscores.",
                "INVALID_FIELD",
                ["FullName"],
            )
        spec = field_from_metadata(name, body.get("Metadata"))
        with self.org.lock:
            if sobject.get(name) is not None:
                raise SalesforceHTTPError(
                    400,
                    f"There is already a field named {name.removesuffix('__c')} on {sobject.name}.",
                    "DUPLICATE_DEVELOPER_NAME",
                    [],
                )
            field_id = self.org.add_custom_field(sobject.name, spec)
        self.gw.ledger.record_write(
            "POST tooling CustomField", field_id, {"FullName": f"{sobject.name}.{name}"}, 201
        )
        return json_response(
            {"id": field_id, "success": True, "errors": [], "warnings": [], "infos": []}, 201
        )

    async def get_field(self, request: Request) -> Response:
        row = self.org.custom_fields.get(str(request.path_params["id"]))
        if row is None:
            raise not_found()
        object_name, _, name = row["FullName"].partition(".")
        spec = self.org.schema[object_name].get(name)
        metadata: dict[str, Any] = {"label": spec.label if spec else name}
        return json_response({"attributes": {"type": "CustomField"}, **row, "Metadata": metadata})

    async def query(self, request: Request) -> Response:
        version = str(request.path_params["version"])[1:]
        text = request.query_params.get("q")
        if text is None:
            raise malformed_query("A query string has to be specified")
        rows = soql.run(
            soql.parse(text),
            self.source,
            api_version=version,
            url_prefix="/services/data",
        )
        for row in rows:
            row["attributes"]["url"] = row["attributes"]["url"].replace(
                "/sobjects/", "/tooling/sobjects/"
            )
        return json_response(
            {
                "size": len(rows),
                "totalSize": len(rows),
                "done": True,
                "queryLocator": None,
                "entityTypeName": "CustomField",
                "records": rows,
            }
        )


def tooling_routes(gw: Gateway) -> list[Route]:
    """The Tooling routes, all through the gateway."""
    h = ToolingRoutes(gw)
    e = gw.endpoint
    base = f"{V}/tooling"
    return [
        Route(
            f"{base}/sobjects/CustomField",
            e(h.create_field, "/tooling/sobjects/CustomField"),
            methods=["POST"],
        ),
        Route(
            f"{base}/sobjects/CustomField/",
            e(h.create_field, "/tooling/sobjects/CustomField"),
            methods=["POST"],
        ),
        Route(
            f"{base}/sobjects/CustomField/{{id}}",
            e(h.get_field, "/tooling/sobjects/CustomField/{id}"),
            methods=["GET"],
        ),
        Route(f"{base}/query/", e(h.query, "/tooling/query"), methods=["GET"]),
        Route(f"{base}/query", e(h.query, "/tooling/query"), methods=["GET"]),
    ]
