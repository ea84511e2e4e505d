"""JSON views of the stored rows, keyset cursors, query parameters and body validation.

Shared by both route sets so a lead looks the same wherever it is listed, and so a bad
parameter always answers the same 400.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from starlette.requests import Request

from leadbridge.emulators.boma.errors import bad_request, unprocessable
from leadbridge.emulators.boma.store import ActivityRow, BomaStore, Deletion, LeadRow, MessageRow
from leadbridge.emulators.common.timefmt import parse_instant, to_iso_ms

__all__ = [
    "activity_json",
    "decode_cursor",
    "deletion_json",
    "encode_cursor",
    "int_param",
    "json_body",
    "lead_json",
    "message_json",
    "since_param",
    "validate_custom_fields",
]


def lead_json(row: LeadRow) -> dict[str, Any]:
    """A lead as ``GET /v1/leads`` lists it."""
    dossier = (
        {"status": row.dossier_status, "updated_at": to_iso_ms(row.dossier_ms or row.updated_ms)}
        if row.dossier_status
        else None
    )
    return {
        "lead_id": str(row.lead_id),
        "first_name": row.first_name,
        "last_name": row.last_name,
        "email": row.email,
        "phone": row.phone,
        "language": row.language,
        "address": {"canton": row.canton, "country": row.country},
        "job_status": row.job_status,
        "requested_amount": row.requested_amount,
        "property_value": row.property_value,
        "project_type": row.project_type,
        "source": row.source,
        "consent": {"marketing": row.marketing_consent},
        "created_at": to_iso_ms(row.created_ms),
        "updated_at": to_iso_ms(row.updated_ms),
        "dossier": dossier,
        "custom_fields": dict(row.custom),
    }


def activity_json(row: ActivityRow) -> dict[str, Any]:
    """An activity as ``GET /v1/activities`` lists it."""
    return {
        "activity_id": row.activity_id,
        "lead_id": str(row.lead_id) if row.lead_id is not None else None,
        "type": row.type,
        "occurred_at": row.occurred_raw or to_iso_ms(row.occurred_ms),
        "recorded_at": to_iso_ms(row.recorded_ms),
        "data": dict(row.data),
    }


def message_json(row: MessageRow) -> dict[str, Any]:
    """An inbound message (seed 001 field names)."""
    return {
        "message_id": str(row.message_id),
        "lead_id": row.lead_id,
        "lead_source": row.lead_source,
        "message_body": row.message_body,
        "extracted_data": dict(row.extracted_data),
        "ai_score": row.ai_score,
        "routing_action": row.routing_action,
        "received_at": to_iso_ms(row.received_ms),
    }


def deletion_json(row: Deletion) -> dict[str, Any]:
    """A deleted lead."""
    return {"lead_id": str(row.lead_id), "deleted_at": to_iso_ms(row.deleted_ms)}


def encode_cursor(key: tuple[int, int]) -> str:
    """An opaque keyset cursor for the position after `key`."""
    return base64.urlsafe_b64encode(f"{key[0]}:{key[1]}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[int, int]:
    """The keyset position of a cursor; 400 if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        at, _, ident = raw.partition(":")
        return int(at), int(ident)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_request("Invalid cursor.", "cursor") from None


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter within [low, high]; 400 otherwise."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"'{name}' must be an integer.", name) from None
    if not low <= value <= high:
        raise bad_request(f"'{name}' must be between {low} and {high}.", name)
    return value


def since_param(request: Request, name: str) -> int | None:
    """An instant query parameter (ISO 8601 or epoch ms); 400 if unreadable."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    value = parse_instant(raw)
    if value is None:
        raise bad_request(f"'{name}' must be an ISO 8601 timestamp or epoch milliseconds.", name)
    return value


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; 400 otherwise."""
    try:
        body = orjson.loads(await request.body() or b"null")
    except orjson.JSONDecodeError:
        raise bad_request("Request body must be valid JSON.") from None
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object.")
    return body


def validate_custom_fields(store: BomaStore, values: object, prefix: str) -> dict[str, Any]:
    """Check a ``custom_fields`` object against the schema; 422 names the first bad field."""
    if not isinstance(values, dict):
        raise unprocessable("'custom_fields' must be an object.", prefix, "invalid_type")
    for key, value in values.items():
        where = f"{prefix}.{key}"
        schema = store.field_schema(key)
        if schema is None:
            raise unprocessable(f"Unknown custom field '{key}'.", where, "unknown_field")
        if value is None:
            continue
        kind = schema["type"]
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                raise unprocessable(f"'{key}' must be an integer.", where, "invalid_type")
            if not schema.get("min", value) <= value <= schema.get("max", value):
                raise unprocessable(
                    f"'{key}' must be between {schema['min']} and {schema['max']}.",
                    where,
                    "out_of_range",
                )
        elif kind == "enum":
            if value not in schema["options"]:
                options = ", ".join(schema["options"])
                raise unprocessable(f"'{key}' must be one of {options}.", where, "invalid_option")
        elif not isinstance(value, str):
            raise unprocessable(f"'{key}' must be a string.", where, "invalid_type")
    return values
