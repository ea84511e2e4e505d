"""The Starlette application: every route of the emulator, and Salesforce-shaped 404/405s."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from leadbridge.emulators.salesforce.bulk import BulkJobs
from leadbridge.emulators.salesforce.errors import json_response
from leadbridge.emulators.salesforce.gateway import Gateway
from leadbridge.emulators.salesforce.routes_admin import admin_routes
from leadbridge.emulators.salesforce.routes_auth import auth_routes
from leadbridge.emulators.salesforce.routes_bulk import bulk_routes
from leadbridge.emulators.salesforce.routes_composite import composite_routes
from leadbridge.emulators.salesforce.routes_data import data_routes
from leadbridge.emulators.salesforce.routes_tooling import tooling_routes
from leadbridge.emulators.salesforce.routes_upsert import upsert_routes

__all__ = ["build_app"]


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        body = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    elif status == 405:
        body = [
            {
                "errorCode": "METHOD_NOT_ALLOWED",
                "message": f"HTTP Method '{request.method}' not allowed. Allowed are GET,HEAD",
            }
        ]
    else:
        body = [{"errorCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error occurred."}]
    return json_response(body, status)


def build_app(gateway: Gateway, jobs: BulkJobs) -> Starlette:
    """All routes bound to one gateway (org, limits, faults, ledger, OAuth)."""
    routes = [
        *admin_routes(gateway),
        *auth_routes(gateway),
        *tooling_routes(gateway),
        *upsert_routes(gateway),
        *composite_routes(gateway),
        *bulk_routes(gateway, jobs),
        *data_routes(gateway),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: _http_error, Exception: _http_error},
    )
