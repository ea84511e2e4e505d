"""The emulator's knobs: BOMA's limits and the faults to inject.

`BomaLimits` is frozen (an account's plan does not change mid-run); `BomaFaults` is
mutable so a test or the `/_emulator/faults` route can turn chaos on and off while a sync
is running.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from leadbridge.emulators.common.faults import MALFORMED_KINDS, FaultSettings

__all__ = ["BomaFaults", "BomaLimits"]


class BomaLimits(BaseModel):
    """Request budget, page and batch caps, token lifetime."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requests: int = Field(20, ge=1)
    """Requests per `window_s` per client (token, API key) -> 429 + Retry-After."""
    window_s: float = Field(1.0, gt=0.0)
    page_max: int = Field(200, ge=1)
    """Largest `limit` on the v1 cursor endpoints (above: 400)."""
    example_page_max: int = Field(100, ge=1)
    """Largest `per_page`/`limit` on the /example API (above: 400)."""
    batch_max: int = Field(50, ge=1)
    """Largest v1 `POST /leads/batch` (above: 400)."""
    example_batch_max: int = Field(25, ge=1)
    token_ttl_s: int = Field(3600, ge=1)
    """OAuth client-credentials token lifetime (`expires_in`)."""


class BomaFaults(FaultSettings):
    """Chaos to inject; every probability is a fraction of eligible API requests."""

    rate_429: float = Field(0.0, ge=0.0, le=1.0)
    rate_5xx: float = Field(0.0, ge=0.0, le=1.0)
    retry_after_s: int = Field(1, ge=0)
    """Retry-After sent with injected 429s."""
    latency_ms: float = Field(0.0, ge=0.0)
    malformed: float = Field(0.0, ge=0.0, le=1.0)
    """Fraction of successful GET responses replaced by a malformed body."""
    malformed_kinds: tuple[str, ...] = MALFORMED_KINDS
    expire_tokens: bool = False
    """One-shot: every OAuth access token issued so far expires now (then resets)."""
    seed: int = 0
