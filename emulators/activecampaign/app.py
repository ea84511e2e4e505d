"""The Starlette application: every route of the emulator, and AC-shaped 404/405s."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from leadbridge.emulators.activecampaign.errors import json_response
from leadbridge.emulators.activecampaign.gateway import Gateway
from leadbridge.emulators.activecampaign.routes_admin import admin_routes
from leadbridge.emulators.activecampaign.routes_contacts import contact_routes
from leadbridge.emulators.activecampaign.routes_fields import field_routes
from leadbridge.emulators.activecampaign.routes_import import import_routes

__all__ = ["build_app"]


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return json_response({"message": "No Result found"}, 404)
    if status == 405:
        return json_response({"message": "Method Not Allowed"}, 405)
    return json_response({"message": "An unexpected error occurred"}, 500)


def build_app(gateway: Gateway) -> Starlette:
    """All routes bound to one gateway (account, limits, faults, ledger, keys)."""
    routes = [
        *admin_routes(gateway),
        *contact_routes(gateway),
        *field_routes(gateway),
        *import_routes(gateway),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _http_error},
    )
