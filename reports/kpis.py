"""All scoring KPIs of a state store in one typed, JSON-ready object.

`build_report` is what the static report, the live dashboard and the tests share, so a
number on screen is exactly the number the tests recompute from the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from leadbridge.core.errors import ConfigError
from leadbridge.reports.advisor import Advice, Per, advise
from leadbridge.reports.conversion import (
    DecileRow,
    HotPrecision,
    SegmentRow,
    TierRow,
    decile_table,
    hot_precision,
    segment_table,
    tier_table,
)
from leadbridge.reports.dataset import LOST, WON, LeadTable, load_history_counts, load_leads
from leadbridge.reports.drift import (
    DistributionRow,
    DriftSummary,
    by_creation,
    by_scoring_day,
    drift_summary,
)
from leadbridge.reports.misses import FalseNegatives, false_negatives
from leadbridge.reports.operations import Operations, operations
from leadbridge.reports.velocity import VelocityRow, velocity_table
from leadbridge.sync.state import StateStore

__all__ = ["KpiReport", "ReportOptions", "Summary", "build_report", "decided_mask"]


class ReportOptions(BaseModel):
    """What counts as hot and cold, when a lead is decided, and the scope."""

    model_config = ConfigDict(frozen=True)

    hot_tiers: tuple[str, ...] = ("hot", "very_hot")
    cold_tiers: tuple[str, ...] = ("cold",)
    maturity_days: float = Field(90.0, ge=0)
    false_positive_target: float = Field(0.30, gt=0, le=1)
    connection: str | None = None
    as_of: datetime | None = None
    crms: Mapping[str, str] = Field(default_factory=dict)
    capacity: float | None = Field(None, gt=0)
    per: Per = "week"
    segment_top: int = Field(12, ge=1)

    def moment(self) -> datetime:
        """The report's "now" (aware UTC)."""
        if self.as_of is None:
            return datetime.now(UTC)
        return self.as_of if self.as_of.tzinfo else self.as_of.replace(tzinfo=UTC)


class Summary(BaseModel):
    """The headline counts."""

    model_config = ConfigDict(frozen=True)

    as_of: datetime
    connection: str | None
    leads_scored: int
    leads_unscored: int
    average_score: float | None
    decided: int
    won: int
    lost: int
    conversion_rate: float | None
    maturity_days: float
    scored_after_outcome: int


class KpiReport(BaseModel):
    """Every KPI the report and the dashboard show."""

    model_config = ConfigDict(frozen=True)

    summary: Summary
    tiers: tuple[TierRow, ...]
    segments: tuple[SegmentRow, ...]
    deciles: tuple[DecileRow, ...]
    hot: HotPrecision
    false_negatives: FalseNegatives
    velocity: tuple[VelocityRow, ...]
    distribution: tuple[DistributionRow, ...]
    drift: tuple[DriftSummary, ...]
    operations: Operations
    advice: Advice | None = None


def decided_mask(table: LeadTable, options: ReportOptions) -> np.ndarray:
    """The leads whose outcome-based KPIs count (see `leadbridge.reports.conversion`)."""
    return table.decided(options.moment().timestamp(), options.maturity_days)


def _tier_mask(table: LeadTable, names: tuple[str, ...]) -> np.ndarray:
    wanted = [i for i, label in enumerate(table.tier.labels) if label in names]
    return np.isin(table.tier.codes, wanted)


def build_report(
    store: StateStore, options: ReportOptions | None = None, *, table: LeadTable | None = None
) -> KpiReport:
    """Compute every KPI of the store (one connection when `options.connection` is set)."""
    opts = options or ReportOptions()
    if set(opts.hot_tiers) & set(opts.cold_tiers):
        raise ConfigError("a tier cannot be both hot and cold", key="hot_tiers")
    now = opts.moment()
    data = table if table is not None else load_leads(store, connection=opts.connection)
    decided = decided_mask(data, opts)
    hot = _tier_mask(data, opts.hot_tiers)
    cold = _tier_mask(data, opts.cold_tiers)
    n_dec = int(decided.sum())
    n_won = int((decided & (data.status == WON)).sum())
    summary = Summary(
        as_of=now,
        connection=opts.connection,
        leads_scored=len(data),
        leads_unscored=data.unscored,
        average_score=float(data.score.mean()) if len(data) else None,
        decided=n_dec,
        won=n_won,
        lost=int((decided & (data.status == LOST)).sum()),
        conversion_rate=n_won / n_dec if n_dec else None,
        maturity_days=opts.maturity_days,
        scored_after_outcome=data.leaky,
    )
    history = load_history_counts(store, connection=opts.connection)
    drift: list[DriftSummary] = []
    distribution: list[DistributionRow] = []
    for basis, (granularity, rows) in (
        ("scored", by_scoring_day(history)),
        ("created", by_creation(data)),
    ):
        distribution.extend(rows)
        found = drift_summary("scored" if basis == "scored" else "created", granularity, rows)
        if found is not None:
            drift.append(found)
    return KpiReport(
        summary=summary,
        tiers=tuple(tier_table(data, decided)),
        segments=tuple(segment_table(data, decided, hot, top=opts.segment_top)),
        deciles=tuple(decile_table(data, decided)),
        hot=hot_precision(data, decided, hot, opts.hot_tiers, opts.false_positive_target),
        false_negatives=false_negatives(store, data, decided, cold, opts.cold_tiers),
        velocity=tuple(velocity_table(data)),
        distribution=tuple(distribution),
        drift=tuple(drift),
        operations=operations(store, as_of=now, connection=opts.connection, crms=opts.crms),
        advice=None
        if opts.capacity is None
        else advise(data, decided, capacity=opts.capacity, per=opts.per, as_of=now),
    )
