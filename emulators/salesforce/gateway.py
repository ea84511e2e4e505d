"""The pipeline every API route goes through: ledger, auth, allocation, faults, headers.

`Gateway.endpoint` wraps a handler with, in order: injected latency, bearer
authentication (401 ``INVALID_SESSION_ID``), the org's rolling 24 h API allocation
(403 ``REQUEST_LIMIT_EXCEEDED``), injected throttling and 5xx, the handler (whose
`SalesforceHTTPError` becomes Salesforce's error array), injected malformed bodies on
reads, the ``Sforce-Limit-Info`` header that Salesforce puts on every response, and the
ledger entry.
"""

from __future__ import annotations

import random
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
from leadbridge.emulators.common.limiter import SlidingWindow
from leadbridge.emulators.salesforce.config import SalesforceFaults, SalesforceLimits
from leadbridge.emulators.salesforce.errors import JSON_TYPE, SalesforceHTTPError, json_response
from leadbridge.emulators.salesforce.oauth import OAuthServer
from leadbridge.emulators.salesforce.org import Org

__all__ = ["Gateway", "Handler"]

Handler = Callable[[Request], Awaitable[Response]]
_ORG_KEY = "org"


class Gateway:
    """Shared state of one emulator instance, and the wrapper applied to its routes."""

    def __init__(
        self,
        org: Org,
        *,
        limits: SalesforceLimits,
        faults: SalesforceFaults,
        ledger: Ledger,
        oauth: OAuthServer,
        org_id: str,
    ) -> None:
        self.org = org
        self.limits = limits
        self.faults = faults
        self.ledger = ledger
        self.oauth = oauth
        self.org_id = org_id
        self.allocation = SlidingWindow(limits.daily_api_requests, limits.daily_window_s)
        self.dice = FaultDice(faults.seed)
        self.api_version = "60.0"

    def limit_info(self) -> str:
        """``api-usage=used/max`` as Salesforce reports it."""
        used = self.limits.daily_api_requests - self.allocation.remaining(_ORG_KEY)
        return f"api-usage={used}/{self.limits.daily_api_requests}"

    def usage(self) -> tuple[int, int]:
        """(used, max) of the daily allocation."""
        remaining = self.allocation.remaining(_ORG_KEY)
        return self.limits.daily_api_requests - remaining, self.limits.daily_api_requests

    def endpoint(self, handler: Handler, template: str, *, counted: bool = True) -> Handler:
        """Wrap `handler` in the pipeline; `template` names the endpoint in the ledger."""

        async def run(request: Request) -> Response:
            key = f"{request.method} {template}"
            response = await self._serve(request, handler, counted)
            self.ledger.record(key, response.status_code)
            return response

        return run

    async def _serve(self, request: Request, handler: Handler, counted: bool) -> Response:
        faults = self.faults
        await pace(self.dice, seed=faults.seed, latency_ms=faults.latency_ms)
        if faults.expire_tokens:
            self.oauth.expire_all()
            faults.expire_tokens = False
        try:
            self.oauth.authenticate(request.headers.get("authorization"))
            if counted:
                decision = self.allocation.acquire(_ORG_KEY)
                if not decision.allowed:
                    raise SalesforceHTTPError(
                        403, "TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED"
                    )
            injected = self._injected_failure()
            if injected is not None:
                response = injected
            else:
                response = await handler(request)
        except SalesforceHTTPError as exc:
            response = exc.response()
        if (
            response.status_code == 200
            and request.method == "GET"
            and "json" in response.headers.get("content-type", "")
            and self.dice.roll(faults.malformed)
        ):
            response = malformed_response(
                response, self.dice, self.faults.malformed_kinds, JSON_TYPE
            )
        response.headers["Sforce-Limit-Info"] = self.limit_info()
        return response

    def _injected_failure(self) -> Response | None:
        faults = self.faults
        if self.dice.roll(faults.rate_limited):
            return json_response(
                [
                    {
                        "message": "ConcurrentPerOrgLongTxn Limit exceeded.",
                        "errorCode": "REQUEST_LIMIT_EXCEEDED",
                    }
                ],
                403,
            )
        if self.dice.roll(faults.rate_5xx):
            status = self.dice.choice((500, 502, 503))
            if status == 502:
                return Response(html_error_page(502), 502, media_type="text/html")
            if status == 503:
                return json_response(
                    [
                        {
                            "message": "Service temporarily unavailable",
                            "errorCode": "SERVER_UNAVAILABLE",
                        }
                    ],
                    503,
                )
            error_id = f"{random.randint(100000, 999999)}-{random.randint(10000, 99999)}"
            return json_response(
                [
                    {
                        "message": "An unexpected error occurred. Please include this ErrorId "
                        f"if you contact support: {error_id} (-1234567890)",
                        "errorCode": "UNKNOWN_EXCEPTION",
                    }
                ],
                500,
            )
        return None
