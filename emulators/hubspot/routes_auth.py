"""OAuth routes: `/oauth/authorize` (instant 302), `/oauth/v1/token` and token info.

The token endpoint is counted in the ledger but neither authenticated nor rate limited.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from leadbridge.emulators.hubspot.errors import json_response, not_found, oauth_error
from leadbridge.emulators.hubspot.gateway import Gateway, Handler
from leadbridge.emulators.hubspot.oauth import OAuthFailure

__all__ = ["auth_routes"]


class AuthRoutes:
    """Handlers bound to the gateway's OAuth authority."""

    def __init__(self, gateway: Gateway) -> None:
        self.oauth = gateway.oauth

    async def authorize(self, request: Request) -> Response:
        params = request.query_params
        redirect_uri = params.get("redirect_uri", "")
        try:
            code = self.oauth.issue_code(
                client_id=params.get("client_id", ""),
                redirect_uri=redirect_uri,
                scope=params.get("scope", ""),
                code_challenge=params.get("code_challenge"),
                code_challenge_method=params.get("code_challenge_method"),
            )
        except OAuthFailure as exc:
            return oauth_error(exc.status, exc.message)
        parts = urlsplit(redirect_uri)
        query = parse_qsl(parts.query, keep_blank_values=True)
        query.append(("code", code))
        if params.get("state") is not None:
            query.append(("state", params["state"]))
        target = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))
        return RedirectResponse(target, status_code=302)

    async def token(self, request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", errors="replace")
        form = dict(parse_qsl(raw, keep_blank_values=True))
        for key, value in request.query_params.items():
            form.setdefault(key, value)
        try:
            return json_response(self.oauth.exchange(form))
        except OAuthFailure as exc:
            return oauth_error(exc.status, exc.message)

    async def access_token_info(self, request: Request) -> Response:
        info = self.oauth.introspect(request.path_params["token"])
        if info is None:
            raise not_found("The access token is invalid or has expired.")
        return json_response(info)

    async def revoke_refresh(self, request: Request) -> Response:
        if not self.oauth.revoke_refresh(request.path_params["token"]):
            raise not_found("The refresh token is invalid.")
        return Response(status_code=204)


def auth_routes(gw: Gateway) -> list[Route]:
    """OAuth routes."""
    h = AuthRoutes(gw)

    def open_ep(handler: Handler, template: str) -> Handler:
        return gw.endpoint(handler, template, authenticated=False)

    return [
        Route("/oauth/authorize", open_ep(h.authorize, "/oauth/authorize"), methods=["GET"]),
        Route("/oauth/v1/token", open_ep(h.token, "/oauth/v1/token"), methods=["POST"]),
        Route(
            "/oauth/v1/access-tokens/{token}",
            open_ep(h.access_token_info, "/oauth/v1/access-tokens/{token}"),
            methods=["GET"],
        ),
        Route(
            "/oauth/v1/refresh-tokens/{token}",
            open_ep(h.revoke_refresh, "/oauth/v1/refresh-tokens/{token}"),
            methods=["DELETE"],
        ),
    ]
