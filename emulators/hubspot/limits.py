"""HubSpot's request limits: 10 s burst per app, daily quota per portal, search bucket.

Non-search answers carry `X-HubSpot-RateLimit-*` headers (the daily pair only for
private-app tokens, as HubSpot omits it for OAuth apps); search answers carry none.
"""

from __future__ import annotations

from dataclasses import dataclass

from leadbridge.emulators.common.limiter import DailyQuota, SlidingWindow
from leadbridge.emulators.hubspot.config import HubSpotLimits
from leadbridge.emulators.hubspot.errors import rate_limit_body

__all__ = ["Principal", "RateGate", "Verdict"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a private app (by token) or an OAuth app (by client id)."""

    kind: str  # "private_app" | "oauth"
    key: str


@dataclass(frozen=True)
class Verdict:
    """Whether to serve, the headers to add, and the 429 body when refused."""

    allowed: bool
    headers: dict[str, str]
    body: dict[str, object] | None = None


class RateGate:
    """Applies the three HubSpot limits to one request."""

    def __init__(self, limits: HubSpotLimits, portal_id: int) -> None:
        self.limits = limits
        self._portal_key = f"portal:{portal_id}"
        self.burst = SlidingWindow(limits.burst_per_10s, 10.0)
        self.search = SlidingWindow(limits.search_per_s, 1.0)
        self.daily = DailyQuota(limits.daily)

    def check(self, who: Principal, *, search: bool) -> Verdict:
        """Count the request against its buckets; refuse with HubSpot's 429 body if full."""
        if search:
            window = self.search.acquire(self._portal_key)
            if not window.allowed:
                return Verdict(
                    False, {}, rate_limit_body("SECONDLY", "You have reached your secondly limit.")
                )
            day = self.daily.acquire(self._portal_key)
            if not day.allowed:
                return Verdict(
                    False, {}, rate_limit_body("DAILY", "You have reached your daily limit.")
                )
            return Verdict(True, {})
        burst = self.burst.acquire(f"{who.kind}:{who.key}")
        if not burst.allowed:
            headers = self._headers(who, 0, self.daily.remaining(self._portal_key))
            body = rate_limit_body(
                "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit."
            )
            return Verdict(False, headers, body)
        day = self.daily.acquire(self._portal_key)
        headers = self._headers(who, burst.remaining, day.remaining)
        if not day.allowed:
            body = rate_limit_body("DAILY", "You have reached your daily limit.")
            return Verdict(False, headers, body)
        return Verdict(True, headers)

    def _headers(self, who: Principal, remaining: int, daily_remaining: int) -> dict[str, str]:
        headers = {
            "X-HubSpot-RateLimit-Max": str(self.limits.burst_per_10s),
            "X-HubSpot-RateLimit-Remaining": str(remaining),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
        }
        if who.kind == "private_app":
            headers["X-HubSpot-RateLimit-Daily"] = str(self.limits.daily)
            headers["X-HubSpot-RateLimit-Daily-Remaining"] = str(max(daily_remaining, 0))
        return headers

    def fault_headers(self, who: Principal) -> dict[str, str]:
        """Headers of an injected 429 (window reported as exhausted)."""
        return self._headers(who, 0, self.daily.remaining(self._portal_key))
