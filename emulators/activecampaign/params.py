"""Query-string and body parsing shared by the routes, with AC's answers to bad input."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from leadbridge.emulators.activecampaign.errors import bad_request

__all__ = ["int_param", "json_body", "page_window"]


def int_param(request: Request, name: str, default: int | None = None) -> int | None:
    """An integer query parameter; junk answers AC's bare 400 ``{}``."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_request() from None


def page_window(request: Request, default: int, maximum: int) -> tuple[int, int]:
    """``(limit, offset)``: a limit above the maximum is clamped, as AC does."""
    limit = int_param(request, "limit", default) or default
    offset = int_param(request, "offset", 0) or 0
    if limit < 0 or offset < 0:
        raise bad_request()
    if limit > maximum:
        request.state.over_limit = limit
    return min(limit, maximum), offset


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 ``{}``."""
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise bad_request() from None
    if not isinstance(body, dict):
        raise bad_request()
    return body
