"""The emulator's knobs: ActiveCampaign's published limits and the faults to inject.

`ActiveCampaignLimits` is frozen (an account's plan does not change mid-run);
`ActiveCampaignFaults` is mutable so a test or the `/_emulator/faults` route can turn
chaos on and off, or switch the throttle answer to 503, while a sync is running.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from leadbridge.emulators.common.faults import MALFORMED_KINDS, FaultSettings

__all__ = ["ActiveCampaignFaults", "ActiveCampaignLimits"]


class ActiveCampaignLimits(BaseModel):
    """Rate limits, page and import caps, and date-filter semantics of one account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests_per_s: int = Field(5, ge=1)
    """Per account, shared by every API key -> 429 with ``Retry-After`` (or 503 mode)."""
    page_max: int = Field(100, ge=1)
    """``limit`` above this is clamped (AC documents a maximum of 100)."""
    page_default: int = Field(20, ge=1)
    bulk_max: int = Field(250, ge=1)
    """Contacts per ``/import/bulk_import`` request; more -> HTTP 400, nothing queued."""
    imports_per_window: int = Field(100, ge=1)
    import_window_s: float = Field(60.0, gt=0.0)
    """100 imports per minute -> "Rate limit exceeded."."""
    import_limit_status: Literal[400, 429] = 429
    """The spec shows the import limit under HTTP 400; clients report 429. Both exist here."""
    import_delay_s: float = Field(0.2, ge=0.0)
    """How long a queued import takes before ``/import/info`` says completed."""
    updated_after_inclusive: bool = False
    """Whether ``filters[updated_after]=T`` also returns contacts with ``udate == T``."""
    timezone: str = "America/Chicago"
    """The account's zone: every ``cdate``/``udate`` carries its offset (-05:00/-06:00)."""


class ActiveCampaignFaults(FaultSettings):
    """Chaos to inject; every probability is a fraction of eligible requests."""

    rate_throttle: float = Field(0.0, ge=0.0, le=1.0)
    """Fraction of requests answered as throttled (429 + Retry-After, or 503 in 503 mode)."""
    throttle_status: Literal[429, 503] = 429
    """503 mode: the account limit (and injected throttles) answer 503 without Retry-After."""
    retry_after_s: int = Field(1, ge=0)
    """``Retry-After`` of injected 429s."""
    rate_5xx: float = Field(0.0, ge=0.0, le=1.0)
    latency_ms: float = Field(0.0, ge=0.0)
    malformed: float = Field(0.0, ge=0.0, le=1.0)
    """Fraction of GET responses replaced by a malformed body."""
    malformed_kinds: tuple[str, ...] = MALFORMED_KINDS
    seed: int = 0
