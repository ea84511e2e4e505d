"""`/crm/v3/properties/contacts...`: property and property-group definitions.

Creating a property or group that already exists is a 409 CONFLICT, so a connector's
field bootstrap must be idempotent (read first, or treat 409 as done).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.common.timefmt import now_ms
from leadbridge.emulators.hubspot.errors import (
    HubSpotHTTPError,
    json_response,
    not_found,
    validation_error,
)
from leadbridge.emulators.hubspot.gateway import Gateway
from leadbridge.emulators.hubspot.properties import (
    FIELD_TYPES_BY_TYPE,
    PropertyDef,
    PropertyGroupDef,
)

__all__ = ["schema_routes"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
READ = "crm.schemas.contacts.read"
WRITE = "crm.schemas.contacts.write"


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise validation_error("Request body must be valid JSON.") from None
    if not isinstance(body, dict):
        raise validation_error("Request body must be a JSON object.")
    return body


def _contacts_only(request: Request) -> None:
    if request.path_params.get("objectType", "").lower() not in {"contacts", "contact", "0-1"}:
        raise HubSpotHTTPError(
            400,
            f"Unable to infer object type from: {request.path_params.get('objectType')}",
            "VALIDATION_ERROR",
        )


class SchemaRoutes:
    """Handlers for property and group definitions."""

    def __init__(self, gateway: Gateway) -> None:
        self.portal = gateway.portal

    async def list_properties(self, request: Request) -> Response:
        _contacts_only(request)
        with self.portal.lock:
            results = [p.to_json() for p in self.portal.properties.values()]
        return json_response({"results": results})

    async def get_property(self, request: Request) -> Response:
        _contacts_only(request)
        with self.portal.lock:
            prop = self.portal.properties.get(request.path_params["propertyName"])
            if prop is None:
                raise not_found(f"Unable to find property {request.path_params['propertyName']}")
            return json_response(prop.to_json())

    async def create_property(self, request: Request) -> Response:
        _contacts_only(request)
        body = await _body(request)
        missing = [
            k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)
        ]
        if missing:
            raise validation_error(f"Missing required fields: {missing}", missing=missing)
        name, type_, field_type = str(body["name"]), str(body["type"]), str(body["fieldType"])
        if not _NAME.match(name):
            raise validation_error(
                f"Property name '{name}' must be lower-case letters, digits and underscores."
            )
        if field_type not in FIELD_TYPES_BY_TYPE.get(type_, set()):
            raise validation_error(
                f"fieldType '{field_type}' is not valid for a property of type '{type_}'."
            )
        options = body.get("options") or []
        if type_ == "enumeration" and not options:
            raise validation_error("Enumeration properties require options.")
        with self.portal.lock:
            if name in self.portal.properties:
                raise HubSpotHTTPError(
                    409,
                    f"Property named '{name}' already exists.",
                    "OBJECT_ALREADY_EXISTS",
                    context={"name": [name]},
                )
            if str(body["groupName"]) not in self.portal.groups:
                raise validation_error(
                    f"Property group '{body['groupName']}' does not exist.",
                    groupName=[str(body["groupName"])],
                )
            stamp = now_ms()
            prop = PropertyDef(
                name=name,
                label=str(body["label"]),
                type=type_,
                field_type=field_type,
                group_name=str(body["groupName"]),
                description=str(body.get("description", "")),
                options=[
                    {
                        "label": str(o.get("label", o.get("value"))),
                        "value": str(o.get("value")),
                        "displayOrder": int(o.get("displayOrder", i)),
                        "hidden": bool(o.get("hidden", False)),
                    }
                    for i, o in enumerate(options)
                    if isinstance(o, dict)
                ],
                hubspot_defined=False,
                has_unique_value=bool(body.get("hasUniqueValue", False)),
                display_order=int(body.get("displayOrder", -1)),
                form_field=bool(body.get("formField", False)),
                hidden=bool(body.get("hidden", False)),
                created_ms=stamp,
                updated_ms=stamp,
            )
            self.portal.properties[name] = prop
            self.portal.contacts.prop_types[name] = type_
            return json_response(prop.to_json(), 201)

    async def list_groups(self, request: Request) -> Response:
        _contacts_only(request)
        with self.portal.lock:
            results = [g.to_json() for g in self.portal.groups.values()]
        return json_response({"results": results})

    async def get_group(self, request: Request) -> Response:
        _contacts_only(request)
        with self.portal.lock:
            group = self.portal.groups.get(request.path_params["groupName"])
            if group is None:
                raise not_found(f"Unable to find group {request.path_params['groupName']}")
            return json_response(group.to_json())

    async def create_group(self, request: Request) -> Response:
        _contacts_only(request)
        body = await _body(request)
        name, label = body.get("name"), body.get("label")
        if not isinstance(name, str) or not isinstance(label, str) or not name or not label:
            raise validation_error("Property groups require 'name' and 'label'.")
        if not _NAME.match(name):
            raise validation_error(
                f"Group name '{name}' must be lower-case letters, digits and underscores."
            )
        with self.portal.lock:
            if name in self.portal.groups:
                raise HubSpotHTTPError(
                    409,
                    f"A property group named '{name}' already exists.",
                    "OBJECT_ALREADY_EXISTS",
                    context={"name": [name]},
                )
            group = PropertyGroupDef(name, label, int(body.get("displayOrder", -1)))
            self.portal.groups[name] = group
            return json_response(group.to_json(), 201)


def schema_routes(gw: Gateway) -> list[Route]:
    """Property and group routes."""
    h = SchemaRoutes(gw)
    base = "/crm/v3/properties/{objectType}"

    def ep(handler: Any, template: str, scope: str) -> Any:
        return gw.endpoint(handler, template, scope=scope)

    return [
        Route(f"{base}/groups", ep(h.list_groups, f"{base}/groups", READ), methods=["GET"]),
        Route(f"{base}/groups", ep(h.create_group, f"{base}/groups", WRITE), methods=["POST"]),
        Route(
            f"{base}/groups/{{groupName}}",
            ep(h.get_group, f"{base}/groups/{{groupName}}", READ),
            methods=["GET"],
        ),
        Route(base, ep(h.list_properties, base, READ), methods=["GET"]),
        Route(base, ep(h.create_property, base, WRITE), methods=["POST"]),
        Route(
            f"{base}/{{propertyName}}",
            ep(h.get_property, f"{base}/{{propertyName}}", READ),
            methods=["GET"],
        ),
    ]
