"""The Starlette application: every route of the emulator, and HubSpot-shaped 404/405s."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from leadbridge.emulators.hubspot.errors import error_body, json_response
from leadbridge.emulators.hubspot.gateway import Gateway
from leadbridge.emulators.hubspot.routes_activity import activity_routes
from leadbridge.emulators.hubspot.routes_admin import admin_routes
from leadbridge.emulators.hubspot.routes_auth import auth_routes
from leadbridge.emulators.hubspot.routes_merge import merge_routes
from leadbridge.emulators.hubspot.routes_objects import object_routes
from leadbridge.emulators.hubspot.routes_schema import schema_routes

__all__ = ["build_app"]


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        body = error_body(
            f"Unable to route {request.method} {request.url.path}", "OBJECT_NOT_FOUND"
        )
    elif status == 405:
        body = error_body(f"Method {request.method} is not allowed here", "VALIDATION_ERROR")
    else:
        body = error_body("internal error", "INTERNAL_ERROR")
    return json_response(body, status)


def build_app(gateway: Gateway) -> Starlette:
    """All routes bound to one gateway (portal, limits, faults, ledger, OAuth)."""
    routes = [
        *admin_routes(gateway),
        *auth_routes(gateway),
        *schema_routes(gateway),
        *activity_routes(gateway),
        *merge_routes(gateway),
        *object_routes(gateway),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _http_error},
    )
