"""``/services/oauth2/token`` and ``/services/oauth2/authorize`` (not API calls: uncounted)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadbridge.emulators.salesforce.errors import SalesforceHTTPError, json_response
from leadbridge.emulators.salesforce.gateway import Gateway

__all__ = ["auth_routes"]


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip()).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, password = decoded.partition(":")
    return user, password


def auth_routes(gw: Gateway) -> list[Route]:
    """The OAuth endpoints; they answer ``{error, error_description}`` on failure."""

    async def token(request: Request) -> Response:
        try:
            form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
            reply = gw.oauth.token(form, _basic(request.headers.get("authorization")))
            response = json_response(reply)
        except SalesforceHTTPError as exc:
            response = exc.response()
        gw.ledger.record("POST /services/oauth2/token", response.status_code)
        return response

    async def authorize(request: Request) -> Response:
        try:
            target = gw.oauth.authorize(dict(request.query_params))
            response: Response = RedirectResponse(target, status_code=302)
        except SalesforceHTTPError as exc:
            response = exc.response()
        gw.ledger.record("GET /services/oauth2/authorize", response.status_code)
        return response

    return [
        Route("/services/oauth2/token", token, methods=["POST"]),
        Route("/services/oauth2/authorize", authorize, methods=["GET"]),
    ]
