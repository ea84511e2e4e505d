"""The emulator's knobs: an org's published limits and the faults to inject.

`SalesforceLimits` is frozen (an org's edition does not change mid-run);
`SalesforceFaults` is mutable so a test or ``/_emulator/faults`` can turn chaos on and
off while a sync runs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from leadbridge.emulators.common.faults import MALFORMED_KINDS, FaultSettings

__all__ = ["SalesforceFaults", "SalesforceLimits"]


class SalesforceLimits(BaseModel):
    """Limits of an Enterprise Edition org (the emulator's defaults) and API caps."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    daily_api_requests: int = Field(100_000, ge=1)
    """Rolling 24 h allocation; past it every call gets 403 REQUEST_LIMIT_EXCEEDED."""
    daily_window_s: float = Field(86_400.0, gt=0.0)
    """The allocation's rolling window (24 h; shorter in tests that watch it return)."""
    query_page_size: int = Field(2000, ge=1, le=2000)
    """Rows per query page (Salesforce: up to 2,000; `Sforce-Query-Options` can lower it)."""
    query_locator_ttl_s: float = Field(900.0, gt=0.0)
    """A query cursor expires after 15 minutes without use -> INVALID_QUERY_LOCATOR."""
    collections_max: int = Field(200, ge=1)
    deleted_horizon_days: float = Field(15.0, gt=0.0)
    """The recycle bin keeps deletions this long; `/deleted` cannot see further back."""
    replication_window_days: float = Field(30.0, gt=0.0)
    """`/deleted` and `/updated` refuse a start older than this (INVALID_REPLICATION_DATE)."""
    bulk_job_delay_s: float = Field(0.2, ge=0.0)
    """Time a Bulk 2.0 job spends UploadComplete -> InProgress -> JobComplete."""
    session_timeout_s: float = Field(7200.0, gt=0.0)
    """Access tokens die after the session timeout (2 h); the token reply never says so."""
    rotate_refresh_tokens: bool = False
    """Connected-app refresh token rotation: each refresh returns a new refresh token."""


class SalesforceFaults(FaultSettings):
    """Chaos to inject; every probability is a fraction of eligible API requests."""

    rate_limited: float = Field(0.0, ge=0.0, le=1.0)
    """403 REQUEST_LIMIT_EXCEEDED as the concurrent long-running request cap sends it."""
    rate_5xx: float = Field(0.0, ge=0.0, le=1.0)
    latency_ms: float = Field(0.0, ge=0.0)
    malformed: float = Field(0.0, ge=0.0, le=1.0)
    """Fraction of successful GET answers replaced by a malformed body."""
    malformed_kinds: tuple[str, ...] = MALFORMED_KINDS
    expire_tokens: bool = False
    """One-shot: every access token issued so far dies now (then resets to False)."""
    seed: int = 0
