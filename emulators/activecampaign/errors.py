"""ActiveCampaign's error bodies, built in one place so every route answers alike.

AC is inconsistent and the emulator keeps it so: 403/404 answer ``{"message": ...}``,
validation answers 422 ``{"errors": [{title, detail, code, source: {pointer}}]}``, many
400s are a bare ``{}``, and the bulk importer answers ``{success: 0, message,
failureReasons}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

__all__ = [
    "JSON_TYPE",
    "ACHTTPError",
    "bad_request",
    "forbidden",
    "json_response",
    "not_found",
    "unprocessable",
]

JSON_TYPE = "application/json; charset=utf-8"


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised with orjson."""
    return Response(
        orjson.dumps(payload), status_code=status, headers=headers, media_type=JSON_TYPE
    )


class ACHTTPError(Exception):
    """Raised inside a route to answer with an ActiveCampaign-shaped error."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = headers

    def response(self) -> Response:
        """The HTTP answer."""
        return json_response(self.body, self.status, self.headers)


def forbidden() -> ACHTTPError:
    """A missing or unknown ``Api-Token``."""
    return ACHTTPError(403, {"message": "Forbidden"})


def not_found(message: str) -> ACHTTPError:
    """``{"message": "No Result found for Subscriber with id N"}`` and friends."""
    return ACHTTPError(404, {"message": message})


def bad_request(body: Any = None) -> ACHTTPError:
    """A 400, by default AC's unhelpful ``{}``."""
    return ACHTTPError(400, body if body is not None else {})


def unprocessable(title: str, *, code: str, detail: str = "", pointer: str = "") -> ACHTTPError:
    """A 422 with one JSON:API-style error."""
    error: dict[str, Any] = {"title": title, "detail": detail, "code": code}
    if pointer:
        error["source"] = {"pointer": pointer}
    return ACHTTPError(422, {"errors": [error]})
