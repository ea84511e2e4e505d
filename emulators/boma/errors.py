"""BOMA's error bodies, built in one place so every route answers the same shape.

API errors are ``{"code", "message", "details"?: [{"field", "issue"}], "request_id"}``;
the OAuth token endpoint answers RFC 6749 §5.2 ``{"error", "error_description"}``.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.responses import Response

__all__ = [
    "JSON_TYPE",
    "BomaHTTPError",
    "bad_request",
    "error_body",
    "json_response",
    "not_found",
    "unprocessable",
]

JSON_TYPE = "application/json"


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson."""
    return Response(
        orjson.dumps(payload), status_code=status, headers=headers, media_type=JSON_TYPE
    )


def error_body(
    code: str, message: str, details: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    """The standard API error object."""
    body: dict[str, Any] = {"code": code, "message": message, "request_id": str(uuid.uuid4())}
    if details:
        body["details"] = details
    return body


class BomaHTTPError(Exception):
    """Raised by handlers; the gateway turns it into the error response."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(code, message, details)
        self.headers = headers or {}

    def response(self) -> Response:
        """The JSON error response."""
        return json_response(self.body, self.status, self.headers)


def bad_request(message: str, field: str | None = None) -> BomaHTTPError:
    """400 with one detail."""
    details = [{"field": field, "issue": "invalid"}] if field else None
    return BomaHTTPError(400, "bad_request", message, details)


def unprocessable(message: str, field: str, issue: str) -> BomaHTTPError:
    """422 validation failure naming the field."""
    return BomaHTTPError(422, "validation_failed", message, [{"field": field, "issue": issue}])


def not_found(message: str) -> BomaHTTPError:
    """404."""
    return BomaHTTPError(404, "not_found", message)
