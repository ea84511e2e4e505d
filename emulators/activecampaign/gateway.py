"""The request pipeline every API route goes through: ledger, auth, limits, faults.

`Gateway.endpoint` wraps a route with, in order: injected latency, the ``Api-Token``
check (403 ``{"message": "Forbidden"}``), the account's 5-requests-per-second window
(429 with ``Retry-After`` and ``RateLimit-*`` headers, or 503 in 503 mode), injected
throttles and 5xx, the due bulk imports, the handler (whose `ACHTTPError` becomes an error
body), injected malformed bodies on reads, and finally the ledger entry.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from leadbridge.emulators.activecampaign.account import Account
from leadbridge.emulators.activecampaign.config import ActiveCampaignFaults, ActiveCampaignLimits
from leadbridge.emulators.activecampaign.errors import JSON_TYPE, ACHTTPError, json_response
from leadbridge.emulators.common.faults import (
    FaultDice,
    html_error_page,
    malformed_response,
    pace,
)
from leadbridge.emulators.common.ledger import Ledger
from leadbridge.emulators.common.limiter import SlidingWindow

__all__ = ["API_PREFIX", "Gateway", "Handler"]

Handler = Callable[[Request], Awaitable[Response]]
API_PREFIX = "/api/3"


def _unavailable() -> Response:
    """What AC's edge answers in 503 mode: an HTML page and no Retry-After."""
    return Response(
        b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>"
        b"<center><h1>503 Service Temporarily Unavailable</h1></center></body></html>",
        503,
        media_type="text/html",
    )


class Gateway:
    """Shared state of one emulator instance, and the wrapper applied to its routes."""

    def __init__(
        self,
        account: Account,
        *,
        limits: ActiveCampaignLimits,
        faults: ActiveCampaignFaults,
        ledger: Ledger,
        api_keys: set[str],
    ) -> None:
        self.account = account
        self.limits = limits
        self.faults = faults
        self.ledger = ledger
        self.api_keys = api_keys
        self.window = SlidingWindow(limits.requests_per_s, 1.0)
        self.imports = SlidingWindow(limits.imports_per_window, limits.import_window_s)
        self.dice = FaultDice(faults.seed)
        self.violations: list[str] = []
        """Requests AC would not honour as sent (a page limit above 100 is clamped)."""

    def base_url(self, request: Request) -> str:
        """The API root as the client reached it (for ``links``)."""
        return f"{request.url.scheme}://{request.url.netloc}{API_PREFIX}"

    def endpoint(self, handler: Handler, template: str) -> Handler:
        """Wrap `handler`; `template` (``"GET /api/3/contacts/{id}"``) names it in the ledger."""

        async def run(request: Request) -> Response:
            response = await self._serve(request, handler)
            self.ledger.record(template, response.status_code)
            over = getattr(request.state, "over_limit", None)
            if over is not None:
                self.violations.append(f"{template}: limit={over} above {self.limits.page_max}")
            return response

        return run

    async def _serve(self, request: Request, handler: Handler) -> Response:
        faults = self.faults
        await pace(self.dice, seed=faults.seed, latency_ms=faults.latency_ms)
        if request.headers.get("api-token") not in self.api_keys:
            return json_response({"message": "Forbidden"}, 403)
        decision = self.window.acquire(self.account.name)
        headers = {
            "RateLimit-Limit": str(self.limits.requests_per_s),
            "RateLimit-Remaining": str(decision.remaining),
            "RateLimit-Reset": "1",
        }
        if not decision.allowed:
            return self._throttled(max(1, math.ceil(decision.retry_after_s)), headers)
        if self.dice.roll(faults.rate_throttle):
            return self._throttled(faults.retry_after_s, {**headers, "RateLimit-Remaining": "0"})
        if self.dice.roll(faults.rate_5xx):
            status = self.dice.choice((500, 502, 504))
            if status == 502:
                return Response(html_error_page(502), 502, media_type="text/html")
            return json_response({"message": "An unexpected error occurred"}, status)
        self.account.apply_due_imports()
        try:
            response = await handler(request)
        except ACHTTPError as exc:
            response = exc.response()
        if (
            response.status_code == 200
            and request.method == "GET"
            and self.dice.roll(faults.malformed)
        ):
            response = malformed_response(
                response, self.dice, self.faults.malformed_kinds, JSON_TYPE
            )
        response.headers.update(headers)
        return response

    def _throttled(self, retry_after: int, headers: dict[str, str]) -> Response:
        if self.faults.throttle_status == 503:
            return _unavailable()
        return json_response(
            {"message": "Too Many Requests"},
            429,
            {**headers, "Retry-After": str(retry_after), "RateLimit-Remaining": "0"},
        )
