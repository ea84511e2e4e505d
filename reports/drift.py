"""Score distribution over time and its drift (population stability index, PSI).

Two views: scores as *computed* each period (the scorer's output drifting: a changed
preset, a connector sending different data) and scores of leads by *creation* cohort
(the incoming population changing: a new campaign, a new market). Each period's
distribution over ten score bands is compared with the first period that has enough
leads; PSI below 0.1 is stable, 0.1-0.25 a moderate shift, above 0.25 a major one (the
usual credit-scoring thresholds).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from leadbridge.reports.dataset import HistoryCounts, LeadTable

__all__ = ["DistributionRow", "DriftSummary", "distribution", "drift_summary", "psi"]

BANDS = 10
MIN_LEADS = 100
TARGET_PER_PERIOD = 300
Basis = Literal["scored", "created"]


class DistributionRow(BaseModel):
    """Scores of one period in ten bands (0-9, 10-19, ..., 90-100) and its PSI."""

    model_config = ConfigDict(frozen=True)

    basis: Basis
    period: str
    leads: int
    mean_score: float
    bands: tuple[int, ...]
    psi: float | None


class DriftSummary(BaseModel):
    """The latest period against the reference one."""

    model_config = ConfigDict(frozen=True)

    basis: Basis
    granularity: str
    reference: str
    latest: str
    psi: float
    level: Literal["stable", "moderate", "major"]


def psi(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    """Population stability index of two band histograms (counts or shares)."""
    eps = 1e-4
    p = np.maximum(current / max(current.sum(), 1.0), eps)
    q = np.maximum(reference / max(reference.sum(), 1.0), eps)
    return float(np.sum((p - q) * np.log(p / q)))


def _granularity(days: NDArray[np.datetime64], total: int) -> str:
    """The finest of day/week/month that is short enough to read yet holds enough leads.

    PSI over ten bands has a noise floor of about 9 x (1/n1 + 1/n2), so periods need a few
    hundred leads before a PSI means drift rather than sampling noise.
    """
    if days.size == 0:
        return "day"
    span = int((days.max() - days.min()).astype(np.int64)) + 1
    if span <= 45 and total / span >= TARGET_PER_PERIOD:
        return "day"
    if span <= 2 * 365 and total / (span / 7) >= TARGET_PER_PERIOD:
        return "week"
    return "month"


def _periods(days: NDArray[np.datetime64], granularity: str) -> NDArray[np.int64]:
    """Each day's period as an integer (its first day, or its month), cheap to group."""
    if granularity == "month":
        return days.astype("datetime64[M]").astype(np.int64)
    n = days.astype("datetime64[D]").astype(np.int64)
    if granularity == "week":  # ISO weeks start on Monday; 1970-01-01 was a Thursday
        return n - (n + 3) % 7
    return n


def _label(period: np.int64, granularity: str) -> str:
    if granularity == "month":
        return str(np.datetime64(int(period), "M"))
    return str(np.datetime64(int(period), "D"))


def distribution(
    basis: Basis,
    days: NDArray[np.datetime64],
    scores: NDArray[np.int64],
    weights: NDArray[np.int64],
) -> tuple[str, list[DistributionRow]]:
    """Per period: count, mean, band histogram and PSI against the reference period."""
    granularity = _granularity(days, int(weights.sum()))
    if days.size == 0:
        return granularity, []
    periods, codes = np.unique(_periods(days, granularity), return_inverse=True)
    labels = [_label(x, granularity) for x in periods]
    bands = np.minimum(scores // 10, BANDS - 1)
    hist = np.zeros((len(labels), BANDS), dtype=np.int64)
    np.add.at(hist, (codes, bands), weights)
    totals = hist.sum(axis=1)
    sums = np.bincount(codes, weights=scores * weights, minlength=len(labels))
    enough = np.flatnonzero(totals >= MIN_LEADS)
    reference = hist[enough[0]].astype(np.float64) if enough.size else None
    rows = [
        DistributionRow(
            basis=basis,
            period=str(labels[i]),
            leads=int(totals[i]),
            mean_score=float(sums[i] / totals[i]),
            bands=tuple(int(x) for x in hist[i]),
            psi=None
            if reference is None or totals[i] < MIN_LEADS
            else psi(reference, hist[i].astype(np.float64)),
        )
        for i in range(len(labels))
    ]
    return granularity, rows


def by_scoring_day(history: HistoryCounts) -> tuple[str, list[DistributionRow]]:
    """Every score ever computed, by the period it was computed in."""
    days = (
        history.day.astype("datetime64[D]") if history.day.size else np.array([], "datetime64[D]")
    )
    return distribution("scored", days, history.score, history.count)


def by_creation(table: LeadTable) -> tuple[str, list[DistributionRow]]:
    """Leads' scores by the period the lead was created in."""
    known = np.isfinite(table.created)
    days = (table.created[known] // 86_400).astype(np.int64).astype("datetime64[D]")
    return distribution("created", days, table.score[known], np.ones(int(known.sum()), np.int64))


def drift_summary(
    basis: Basis, granularity: str, rows: list[DistributionRow]
) -> DriftSummary | None:
    """The latest period with enough leads against the reference; None if fewer than two."""
    full = [r for r in rows if r.leads >= MIN_LEADS]
    if len(full) < 2:
        return None
    reference, latest = full[0], full[-1]
    value = psi(np.array(reference.bands, float), np.array(latest.bands, float))
    level: Literal["stable", "moderate", "major"] = (
        "stable" if value < 0.1 else "moderate" if value < 0.25 else "major"
    )
    return DriftSummary(
        basis=basis,
        granularity=granularity,
        reference=reference.period,
        latest=latest.period,
        psi=value,
        level=level,
    )
