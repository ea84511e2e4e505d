"""Object shapes on the wire and the checks applied to property writes.

Requested properties that have no value come back as `null`, as HubSpot does; the
created/modified dates and `hs_object_id` are always included.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from leadbridge.emulators.common.timefmt import to_iso_ms
from leadbridge.emulators.hubspot.properties import PropertyDef, check_value
from leadbridge.emulators.hubspot.store import CrmRecord, ObjectStore

__all__ = [
    "batch_envelope",
    "problems_message",
    "property_errors",
    "requested_properties",
    "serialize",
    "standard_error",
]

_ERROR_CODES = {
    "number": "INVALID_INTEGER",
    "bool": "INVALID_BOOLEAN",
    "enumeration": "INVALID_OPTION",
    "date": "INVALID_DATE",
    "datetime": "INVALID_DATE",
}


def requested_properties(request: Request) -> list[str]:
    """`?properties=a,b&properties=c` -> `[a, b, c]`."""
    names: list[str] = []
    for raw in request.query_params.getlist("properties"):
        names.extend(p.strip() for p in raw.split(",") if p.strip())
    return names


def serialize(
    store: ObjectStore, record: CrmRecord, props: list[str] | tuple[str, ...]
) -> dict[str, Any]:
    """The spec's `SimplePublicObject` for `record` with the requested properties."""
    wanted = list(props) if props else list(store.default_props)
    for always in (store.created_prop, store.modified_prop, "hs_object_id"):
        if always not in wanted:
            wanted.append(always)
    values = record.properties
    body: dict[str, Any] = {
        "id": str(record.id),
        "properties": {name: values.get(name) for name in wanted},
        "createdAt": to_iso_ms(record.created_ms),
        "updatedAt": to_iso_ms(record.updated_ms),
        "archived": record.archived,
    }
    if record.archived_ms is not None:
        body["archivedAt"] = to_iso_ms(record.archived_ms)
    return body


def standard_error(category: str, message: str, context: dict[str, list[str]]) -> dict[str, Any]:
    """A per-record `StandardError` inside a batch response."""
    return {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
        "errors": [],
        "links": {},
    }


def property_errors(
    definitions: dict[str, PropertyDef], values: object
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Validated values, and HubSpot's per-property validation results for refused ones."""
    if not isinstance(values, dict):
        return {}, [
            {"isValid": False, "message": "properties must be an object", "error": "INVALID_JSON"}
        ]
    clean: dict[str, str] = {}
    problems: list[dict[str, Any]] = []
    for name, value in values.items():
        prop = definitions.get(str(name))
        if prop is None:
            problems.append(
                {
                    "isValid": False,
                    "message": f'Property "{name}" does not exist',
                    "error": "PROPERTY_DOESNT_EXIST",
                    "name": name,
                    "localizedErrorMessage": f'Property "{name}" does not exist',
                }
            )
            continue
        normalized, reason = check_value(prop, value)
        if normalized is None:
            code = "READ_ONLY_VALUE" if prop.read_only else _ERROR_CODES.get(prop.type, "INVALID")
            problems.append({"isValid": False, "message": reason, "error": code, "name": name})
            continue
        clean[prop.name] = normalized
    return clean, problems


def problems_message(problems: list[dict[str, Any]]) -> str:
    """`Property values were not valid: [...]`, as HubSpot words it."""
    return "Property values were not valid: " + json.dumps(problems, ensure_ascii=False)


def batch_envelope(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], requested_at: datetime
) -> tuple[dict[str, Any], int]:
    """`BatchResponse...` (200) or `...WithErrors` (207) and its status code."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "requestedAt": requested_at.isoformat().replace("+00:00", "Z"),
        "startedAt": requested_at.isoformat().replace("+00:00", "Z"),
        "completedAt": now.isoformat().replace("+00:00", "Z"),
    }
    if errors:
        body["errors"] = errors
        body["numErrors"] = len(errors)
        return body, 207
    return body, 200
