"""The request pipeline every API route goes through: ledger, auth, limits, faults.

`Gateway.endpoint` wraps a handler with, in order: injected latency, authentication
(bearer or API key), the per-client request window (429 with ``Retry-After``), injected
429/5xx, the handler (whose `BomaHTTPError` becomes an error body), injected malformed
bodies on reads, the ``RateLimit-*`` headers and finally the ledger entry.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from leadbridge.emulators.boma.auth import TokenAuthority
from leadbridge.emulators.boma.config import BomaFaults, BomaLimits
from leadbridge.emulators.boma.errors import JSON_TYPE, BomaHTTPError, error_body, json_response
from leadbridge.emulators.boma.store import BomaStore
from leadbridge.emulators.common.faults import (
    FaultDice,
    html_error_page,
    malformed_response,
    pace,
)
from leadbridge.emulators.common.ledger import Ledger
from leadbridge.emulators.common.limiter import Decision, SlidingWindow

__all__ = ["AuthKind", "Gateway", "Handler"]

Handler = Callable[[Request], Awaitable[Response]]
AuthKind = Literal["bearer", "api_key", "none"]


class Gateway:
    """Shared state of one emulator instance, and the wrapper applied to its routes."""

    def __init__(
        self,
        store: BomaStore,
        *,
        limits: BomaLimits,
        faults: BomaFaults,
        ledger: Ledger,
        authority: TokenAuthority,
    ) -> None:
        self.store = store
        self.limits = limits
        self.faults = faults
        self.ledger = ledger
        self.authority = authority
        self.window = SlidingWindow(limits.requests, limits.window_s)
        self.dice = FaultDice(faults.seed)

    def endpoint(self, handler: Handler, template: str, *, auth: AuthKind = "bearer") -> Handler:
        """Wrap `handler`; `template` (``"PATCH /v1/leads/{lead_id}"``) keys the ledger."""

        async def run(request: Request) -> Response:
            request.state.endpoint = template
            response = await self._serve(request, handler, auth)
            self.ledger.record(template, response.status_code)
            return response

        return run

    def _limit_headers(self, decision: Decision) -> dict[str, str]:
        reset = math.ceil(decision.retry_after_s) if not decision.allowed else 0
        return {
            "RateLimit-Limit": str(decision.limit),
            "RateLimit-Remaining": str(max(decision.remaining, 0)),
            "RateLimit-Reset": str(reset or math.ceil(self.limits.window_s)),
        }

    async def _serve(self, request: Request, handler: Handler, auth: AuthKind) -> Response:
        faults = self.faults
        await pace(self.dice, seed=faults.seed, latency_ms=faults.latency_ms)
        if faults.expire_tokens:
            self.authority.expire_all()
            faults.expire_tokens = False
        headers: dict[str, str] = {}
        try:
            if auth != "none":
                who = (
                    self.authority.bearer(request.headers.get("authorization"))
                    if auth == "bearer"
                    else self.authority.key(request.headers.get("x-api-key"))
                )
                decision = self.window.acquire(who)
                headers = self._limit_headers(decision)
                if not decision.allowed:
                    wait = str(max(1, math.ceil(decision.retry_after_s)))
                    body = error_body("rate_limited", "Too many requests, slow down.")
                    return json_response(body, 429, {**headers, "Retry-After": wait})
                injected = self._injected_failure(headers)
                if injected is not None:
                    return injected
            response = await handler(request)
        except BomaHTTPError as exc:
            response = exc.response()
        if (
            response.status_code == 200
            and auth != "none"
            and request.method == "GET"
            and self.dice.roll(faults.malformed)
        ):
            response = malformed_response(
                response, self.dice, self.faults.malformed_kinds, JSON_TYPE
            )
        response.headers.update(headers)
        return response

    def _injected_failure(self, headers: dict[str, str]) -> Response | None:
        faults = self.faults
        if self.dice.roll(faults.rate_429):
            body = error_body("rate_limited", "Too many requests, slow down.")
            extra = {
                **headers,
                "RateLimit-Remaining": "0",
                "Retry-After": str(faults.retry_after_s),
            }
            return json_response(body, 429, extra)
        if self.dice.roll(faults.rate_5xx):
            status = self.dice.choice((500, 502, 503, 504))
            if status == 502:
                return Response(html_error_page(502), 502, media_type="text/html")
            message = {500: "Internal error", 503: "Service unavailable", 504: "Upstream timeout"}
            return json_response(error_body("server_error", message[status]), status)
        return None
