"""The threshold advisor: which score cut-off fills the sales team's capacity.

Seed 004: "too high an MQL threshold starves sales, too low floods them; find the balance
for your processing capacity". Given a capacity ("200 leads a week"), the advisor counts
how many leads per week reached each score over a recent window (the flow the team will
face) and picks the lowest threshold whose weekly flow fits the capacity. Historical
outcomes of decided leads give the precision and recall at that threshold, hence the
conversions to expect. A "day" is a working day (five a week); a month is 52/12 weeks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from leadbridge.core.errors import ConfigError
from leadbridge.reports.dataset import LeadTable

__all__ = ["Advice", "AdvicePoint", "Per", "advise"]

Per = Literal["day", "week", "month"]
WEEKS_PER: dict[str, float] = {"day": 1 / 5, "week": 1.0, "month": 52 / 12}
WEEK = 7 * 86_400.0


class AdvicePoint(BaseModel):
    """What a threshold would mean, per week."""

    model_config = ConfigDict(frozen=True)

    threshold: int
    weekly_volume: float
    precision: float | None
    recall: float | None


class Advice(BaseModel):
    """The recommended threshold for a capacity, with what to expect from it."""

    model_config = ConfigDict(frozen=True)

    capacity: float
    per: Per
    threshold: int
    expected_volume: float
    expected_conversions: float | None
    precision: float | None
    recall: float | None
    window_start: datetime | None
    window_end: datetime
    window_weeks: float
    leads_in_window: int
    decided_leads: int
    note: str
    curve: tuple[AdvicePoint, ...]


def advise(
    table: LeadTable,
    decided: np.ndarray,
    *,
    capacity: float,
    per: Per = "week",
    as_of: datetime,
    window_weeks: float = 26.0,
) -> Advice:
    """The lowest threshold whose recent flow of leads fits `capacity` per `per`."""
    if capacity <= 0:
        raise ConfigError("must be a positive number of leads", key="--capacity")
    if per not in WEEKS_PER:
        raise ConfigError("must be day, week or month", key="--per")
    end = as_of.timestamp()
    born = np.where(np.isfinite(table.created), table.created, table.scored_at)
    in_window = np.isfinite(born) & (born > end - window_weeks * WEEK) & (born <= end)
    first = float(born[in_window].min()) if in_window.any() else None
    weeks = max((end - first) / WEEK, 1.0) if first is not None else 1.0
    scores = np.clip(table.score, 0, 100)

    def at_least(mask: np.ndarray) -> np.ndarray:
        counts = np.bincount(scores[mask], minlength=101)
        return np.cumsum(counts[::-1])[::-1]

    volume = at_least(in_window) / weeks
    decided_ge = at_least(decided)
    won_ge = at_least(decided & table.won)
    total_won = int(won_ge[0])
    curve = tuple(
        AdvicePoint(
            threshold=t,
            weekly_volume=float(volume[t]),
            precision=float(won_ge[t] / decided_ge[t]) if decided_ge[t] else None,
            recall=float(won_ge[t] / total_won) if total_won else None,
        )
        for t in range(101)
    )
    weekly_capacity = capacity / WEEKS_PER[per]
    fits = np.flatnonzero(volume <= weekly_capacity)
    if fits.size == 0:
        threshold = 100
        note = "even a threshold of 100 sends more leads than this capacity"
    else:
        threshold = int(fits[0])
        note = (
            "the capacity exceeds the whole flow of leads: every lead can be called"
            if threshold == 0
            else f"threshold {threshold} is the lowest whose flow fits the capacity"
        )
    if not in_window.any():
        note = "no lead was created in the window: no flow to size against"
    point = curve[threshold]
    scale = WEEKS_PER[per]
    return Advice(
        capacity=capacity,
        per=per,
        threshold=threshold,
        expected_volume=point.weekly_volume * scale,
        expected_conversions=None
        if point.precision is None
        else point.weekly_volume * point.precision * scale,
        precision=point.precision,
        recall=point.recall,
        window_start=None if first is None else datetime.fromtimestamp(first, tz=UTC),
        window_end=as_of,
        window_weeks=weeks,
        leads_in_window=int(in_window.sum()),
        decided_leads=int(decided.sum()),
        note=note,
        curve=curve,
    )
