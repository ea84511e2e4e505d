"""HubSpot's error bodies, built in one place so every route answers the same shape.

`{status:"error", message, correlationId, category, subCategory?, errors?, context?}` for
API errors, `{..., errorType:"RATE_LIMIT", policyName, requestId}` for 429s and
`{status:"BAD_...", message, ...}` for the OAuth token endpoint.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["HubSpotHTTPError", "error_body", "json_response", "oauth_error", "rate_limit_body"]

JSON_TYPE = "application/json;charset=utf-8"


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson (fast enough for 50k-contact portals)."""
    return Response(
        orjson.dumps(payload), status_code=status, headers=headers, media_type=JSON_TYPE
    )


def error_body(
    message: str,
    category: str,
    *,
    sub_category: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    context: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The standard API error object."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
    }
    if sub_category:
        body["subCategory"] = sub_category
    if errors:
        body["errors"] = errors
    if context:
        body["context"] = context
    return body


def rate_limit_body(policy: str, message: str) -> dict[str, Any]:
    """The 429 body (`policyName` is TEN_SECONDLY_ROLLING, DAILY or SECONDLY for search)."""
    return {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        "requestId": uuid.uuid4().hex,
    }


def oauth_error(status: str, message: str) -> Response:
    """A 400 from `/oauth/v1/token` (`BAD_REFRESH_TOKEN`, `BAD_AUTH_CODE`, ...).

    HubSpot's body carries the reason in `status`; `category` repeats it so the spec's
    `Error` schema holds, and `error: invalid_grant` is what current HubSpot adds for
    dead grants (RFC 6749 clients key on it).
    """
    body: dict[str, Any] = {
        "status": status,
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "requestId": uuid.uuid4().hex,
        "category": status,
    }
    if status in {"BAD_REFRESH_TOKEN", "BAD_AUTH_CODE"}:
        body["error"] = "invalid_grant"
        body["error_description"] = message
    return json_response(body, 400)


class HubSpotHTTPError(Exception):
    """Raised inside a route to answer with HubSpot's error body."""

    def __init__(
        self,
        status: int,
        message: str,
        category: str,
        *,
        sub_category: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        context: dict[str, list[str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers
        self.body = error_body(
            message, category, sub_category=sub_category, errors=errors, context=context
        )

    def response(self) -> Response:
        """The HTTP answer."""
        return json_response(self.body, self.status, self.headers)


def validation_error(message: str, **context: list[str]) -> HubSpotHTTPError:
    """A 400 VALIDATION_ERROR."""
    return HubSpotHTTPError(400, message, "VALIDATION_ERROR", context=context or None)


def not_found(message: str = "resource not found") -> HubSpotHTTPError:
    """A 404 OBJECT_NOT_FOUND."""
    return HubSpotHTTPError(404, message, "OBJECT_NOT_FOUND")
