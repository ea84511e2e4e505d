"""The Starlette application: every route of the emulator, and BOMA-shaped 404/405s."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from leadbridge.emulators.boma.errors import error_body, json_response
from leadbridge.emulators.boma.gateway import Gateway
from leadbridge.emulators.boma.routes_admin import admin_routes
from leadbridge.emulators.boma.routes_example import example_routes
from leadbridge.emulators.boma.routes_v1 import v1_routes

__all__ = ["build_app"]


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        body = error_body("not_found", f"No route for {request.method} {request.url.path}.")
    elif status == 405:
        body = error_body("method_not_allowed", f"{request.method} is not allowed here.")
    else:
        status = 500
        body = error_body("server_error", "Internal error.")
    return json_response(body, status)


def build_app(gateway: Gateway) -> Starlette:
    """All routes bound to one gateway (store, limits, faults, ledger, credentials)."""
    routes = [*admin_routes(gateway), *v1_routes(gateway), *example_routes(gateway)]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _http_error},
    )
