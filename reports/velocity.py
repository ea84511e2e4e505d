"""Funnel velocity: days from a lead's creation to MQL, SQL and won, per tier.

Seed 003 asks whether scoring shortens the sales cycle: if hot tiers reach each stage
markedly faster than cold ones, prioritising by score pays. Stage dates come from the
CRM (see `leadbridge.reports.dataset`); a lead counts for a stage only when both dates
are known and in order.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from leadbridge.reports.conversion import ordered_tiers
from leadbridge.reports.dataset import LeadTable

__all__ = ["STAGES", "VelocityRow", "velocity_table"]

STAGES: tuple[str, ...] = ("mql", "sql", "won")
DAY = 86_400.0


class VelocityRow(BaseModel):
    """Days to reach one stage for the leads of one tier (``all`` = every tier)."""

    model_config = ConfigDict(frozen=True)

    tier: str
    stage: str
    leads: int
    median_days: float
    p75_days: float
    mean_days: float


def velocity_table(table: LeadTable) -> list[VelocityRow]:
    """One row per (tier, stage) with at least one lead, then the all-tier rows."""
    reached = {
        "mql": table.mql_at,
        "sql": table.sql_at,
        "won": np.where(table.won, table.outcome_at, np.nan),
    }
    groups: list[tuple[str, np.ndarray]] = [
        (name, table.tier.codes == table.tier.labels.index(name)) for name in ordered_tiers(table)
    ]
    groups.append(("all", np.ones(len(table), dtype=bool)))
    rows: list[VelocityRow] = []
    for tier, mask in groups:
        for stage in STAGES:
            days = (reached[stage] - table.created) / DAY
            ok = mask & np.isfinite(days) & (days >= 0)
            values = days[ok]
            if values.size == 0:
                continue
            rows.append(
                VelocityRow(
                    tier=tier,
                    stage=stage,
                    leads=int(values.size),
                    median_days=float(np.median(values)),
                    p75_days=float(np.percentile(values, 75)),
                    mean_days=float(values.mean()),
                )
            )
    return rows
