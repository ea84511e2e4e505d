"""Salesforce's error bodies, built in one place.

REST errors are a JSON **array** of ``{message, errorCode, fields}``; per-record results
of sObject Collections carry ``errors: [{statusCode, message, fields}]``; the OAuth
endpoints answer ``{error, error_description}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = [
    "JSON_TYPE",
    "SalesforceHTTPError",
    "invalid_field",
    "json_response",
    "malformed_query",
    "not_found",
    "oauth_error",
    "record_error",
]

JSON_TYPE = "application/json;charset=UTF-8"


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson."""
    return Response(
        orjson.dumps(payload), status_code=status, headers=headers, media_type=JSON_TYPE
    )


def error_array(message: str, code: str, fields: list[str] | None = None) -> list[dict[str, Any]]:
    """``[{"message", "errorCode", "fields"}]``: the one shape of a REST error."""
    entry: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        entry["fields"] = fields
    return [entry]


def record_error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    """One per-record error of a collections or bulk result."""
    return {"statusCode": code, "message": message, "fields": list(fields or [])}


class SalesforceHTTPError(Exception):
    """Raised by handlers; the gateway turns it into Salesforce's error array."""

    def __init__(
        self, status: int, message: str, code: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: Any = error_array(message, code, fields)

    def response(self) -> Response:
        return json_response(self.body, self.status)


class OAuthHTTPError(SalesforceHTTPError):
    """An OAuth endpoint error: ``{error, error_description}`` instead of the array."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(status, description, error)
        self.body = {"error": error, "error_description": description}


def oauth_error(error: str, description: str, status: int = 400) -> OAuthHTTPError:
    return OAuthHTTPError(status, error, description)


def malformed_query(message: str) -> SalesforceHTTPError:
    return SalesforceHTTPError(400, message, "MALFORMED_QUERY")


def invalid_field(message: str, fields: list[str] | None = None) -> SalesforceHTTPError:
    return SalesforceHTTPError(400, message, "INVALID_FIELD", fields)


def not_found(message: str = "The requested resource does not exist") -> SalesforceHTTPError:
    return SalesforceHTTPError(404, message, "NOT_FOUND")
