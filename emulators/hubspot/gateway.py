"""The request pipeline every API route goes through: ledger, auth, limits, faults.

Routes are plain `async def handler(request) -> Response`; `Gateway.endpoint` wraps them
with, in order: injected latency, bearer authentication, HubSpot's rate limits, injected
429/5xx, the handler (whose `HubSpotHTTPError` becomes an error body), injected malformed
bodies on reads, the `X-HubSpot-RateLimit-*` headers and finally the ledger entry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from leadbridge.emulators.common.faults import (
    FaultDice,
    html_error_page,
    malformed_response,
    pace,
)
from leadbridge.emulators.common.ledger import Ledger
from leadbridge.emulators.hubspot.config import HubSpotFaults, HubSpotLimits
from leadbridge.emulators.hubspot.errors import (
    JSON_TYPE,
    HubSpotHTTPError,
    error_body,
    json_response,
    rate_limit_body,
)
from leadbridge.emulators.hubspot.limits import Principal, RateGate
from leadbridge.emulators.hubspot.oauth import OAuthAuthority
from leadbridge.emulators.hubspot.portal import Portal

__all__ = ["Gateway", "Handler"]

Handler = Callable[[Request], Awaitable[Response]]
Scope = str | Callable[[Request], str | None] | None
_PATH_TYPE_PARAMS = ("objectType", "fromObjectType", "toObjectType")


class Gateway:
    """Shared state of one emulator instance, and the wrapper applied to its routes."""

    def __init__(
        self,
        portal: Portal,
        *,
        limits: HubSpotLimits,
        faults: HubSpotFaults,
        ledger: Ledger,
        oauth: OAuthAuthority,
    ) -> None:
        self.portal = portal
        self.limits = limits
        self.faults = faults
        self.ledger = ledger
        self.oauth = oauth
        self.rates = RateGate(limits, portal.portal_id)
        self.dice = FaultDice(faults.seed)

    def endpoint_key(self, request: Request, template: str) -> str:
        """`"POST /crm/v3/objects/contacts/search"`: the template with object types filled."""
        path = template
        for name in _PATH_TYPE_PARAMS:
            value = request.path_params.get(name)
            if value is not None:
                path = path.replace("{" + name + "}", str(value))
        return f"{request.method} {path}"

    def endpoint(
        self,
        handler: Handler,
        template: str,
        *,
        search: bool = False,
        scope: Scope = None,
        authenticated: bool = True,
        limited: bool = True,
    ) -> Handler:
        """Wrap `handler` in the pipeline; `template` names the endpoint in the ledger."""

        async def run(request: Request) -> Response:
            key = self.endpoint_key(request, template)
            request.state.endpoint = key
            response = await self._serve(request, handler, search, scope, authenticated, limited)
            self.ledger.record(key, response.status_code)
            return response

        return run

    async def _serve(
        self,
        request: Request,
        handler: Handler,
        search: bool,
        scope: Scope,
        authenticated: bool,
        limited: bool,
    ) -> Response:
        faults = self.faults
        await pace(self.dice, seed=faults.seed, latency_ms=faults.latency_ms)
        if faults.expire_tokens:
            self.oauth.expire_all()
            faults.expire_tokens = False
        headers: dict[str, str] = {}
        try:
            if authenticated:
                needed = scope(request) if callable(scope) else scope
                who = self.oauth.authenticate(request.headers.get("authorization"), needed)
                if limited:
                    verdict = self.rates.check(who, search=search)
                    headers = verdict.headers
                    if not verdict.allowed:
                        return json_response(verdict.body, 429, headers)
                    injected = self._injected_failure(who, search)
                    if injected is not None:
                        return injected
            response = await handler(request)
        except HubSpotHTTPError as exc:
            response = exc.response()
        if (
            response.status_code == 200
            and authenticated
            and limited
            and (request.method == "GET" or search)
            and self.dice.roll(faults.malformed)
        ):
            response = malformed_response(
                response, self.dice, self.faults.malformed_kinds, JSON_TYPE
            )
        response.headers.update(headers)
        return response

    def _injected_failure(self, who: Principal, search: bool) -> Response | None:
        faults = self.faults
        if self.dice.roll(faults.rate_429):
            policy = "SECONDLY" if search else "TEN_SECONDLY_ROLLING"
            message = (
                "You have reached your secondly limit."
                if search
                else "You have reached your ten_secondly_rolling limit."
            )
            headers = {} if search else self.rates.fault_headers(who)
            return json_response(rate_limit_body(policy, message), 429, headers)
        if self.dice.roll(faults.rate_5xx):
            status = self.dice.choice((500, 502, 503, 504))
            if status == 502:
                return Response(html_error_page(502), 502, media_type="text/html")
            message = {
                500: "internal error",
                503: "Service Unavailable",
                504: "Gateway Timeout",
            }[status]
            return json_response(error_body(message, "INTERNAL_ERROR"), status)
        return None
