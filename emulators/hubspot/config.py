"""The emulator's knobs: HubSpot's published limits and the faults to inject.

`HubSpotLimits` is frozen (a portal's tier does not change mid-run); `HubSpotFaults` is
mutable so a test or the `/_emulator/faults` route can turn chaos on and off while a sync
is running.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from leadbridge.emulators.common.faults import MALFORMED_KINDS, FaultSettings

__all__ = ["HubSpotFaults", "HubSpotLimits"]


class HubSpotLimits(BaseModel):
    """Rate limits and caps of a privately distributed app on a Free/Starter portal."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    burst_per_10s: int = Field(100, ge=1)
    """Rolling 10 s window per app/token -> 429 TEN_SECONDLY_ROLLING."""
    daily: int = Field(250_000, ge=1)
    """Per portal, resets at midnight -> 429 DAILY."""
    search_per_s: int = Field(5, ge=1)
    """Separate search bucket (POST */search) per portal; search replies carry no headers."""
    search_max_limit: int = Field(200, ge=1)
    search_max_results: int = Field(10_000, ge=1)
    """Paging past this many results of one query -> HTTP 400."""
    batch_max: int = Field(100, ge=1)
    events_api: bool = True
    """Events API (Enterprise). False answers 403 like a lower-tier portal."""
    token_ttl_s: int = Field(1800, ge=1)
    """OAuth access-token lifetime (`expires_in`)."""


class HubSpotFaults(FaultSettings):
    """Chaos to inject; every probability is a fraction of eligible requests."""

    rate_429: float = Field(0.0, ge=0.0, le=1.0)
    rate_5xx: float = Field(0.0, ge=0.0, le=1.0)
    latency_ms: float = Field(0.0, ge=0.0)
    malformed: float = Field(0.0, ge=0.0, le=1.0)
    """Fraction of GET/search responses replaced by a malformed body."""
    malformed_kinds: tuple[str, ...] = MALFORMED_KINDS
    expire_tokens: bool = False
    """One-shot: every OAuth access token issued so far expires now (then resets to False)."""
    seed: int = 0
