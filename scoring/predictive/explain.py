"""Per-lead explanations from XGBoost's own contribution values (``pred_contribs``).

XGBoost computes exact TreeSHAP contributions: for each lead, how many log-odds each
feature added to or removed from the prediction, summing to the raw margin (the linear
prior's terms are added per feature, so the sum still holds; see `artifact`). We sum
them per source *group* (a CSV column, or e.g. ``simulator`` for the LTV, amount and
use count together) so a reason speaks in CRM terms, keep the top positive and
negative groups, and render them as `Reason` objects plus a short text for the CRM's
reason field (250 characters at most, like `ScoreResult.summary`).

    Total Time Spent on Website ↑, Lead Origin=Lead Add Form ↑ | Do Not Email=Yes ↓
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from leadbridge.core.models import Reason
from leadbridge.scoring.predictive.artifact import TrainedModel, group_sums

__all__ = ["Explanation", "Factor", "explain", "reason_text", "reasons"]

REASON_GROUP = "predictive"


class Factor(BaseModel):
    """One source group's contribution to one lead's score, in log-odds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    group: str
    label: str
    contribution: float


class Explanation(BaseModel):
    """A lead's top positive and negative factors and the model's base log-odds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    positive: tuple[Factor, ...]
    negative: tuple[Factor, ...]
    bias: float


def _label(
    group: str, names: Sequence[str], columns: NDArray[np.int64], row: NDArray[np.float32]
) -> str:
    """The group name, or ``column=level`` when a one-hot level of it is set."""
    for j in columns:
        name = names[int(j)]
        if name.startswith(f"{group}=") and row[j] == 1.0:
            return name
    return group


def explain(model: TrainedModel, x: NDArray[np.float32], *, top: int = 3) -> list[Explanation]:
    """Top `top` positive and negative factors for every row of `x`."""
    if x.shape[0] == 0:
        return []
    contribs = model.contributions(x)
    groups = model.card.groups
    names = model.card.feature_names
    unique, summed = group_sums(contribs, groups)
    member = np.array([unique.index(g) for g in groups], dtype=np.int64)
    columns_of = {g: np.flatnonzero(member == i) for i, g in enumerate(unique)}
    out: list[Explanation] = []
    for r in range(x.shape[0]):
        row = summed[r]
        order = np.argsort(-row)
        pos = [k for k in order[:top] if row[k] > 1e-6]
        neg = [k for k in order[::-1][:top] if row[k] < -1e-6]

        def factor(k: np.intp, r: int = r, row: NDArray[np.float64] = row) -> Factor:
            group = unique[int(k)]
            return Factor(
                group=group,
                label=_label(group, names, columns_of[group], x[r]),
                contribution=round(float(row[k]), 4),
            )

        out.append(
            Explanation(
                positive=tuple(factor(k) for k in pos),
                negative=tuple(factor(k) for k in neg),
                bias=float(contribs[r, -1]),
            )
        )
    return out


def reasons(explanation: Explanation) -> tuple[Reason, ...]:
    """The explanation as `Reason`s (points = log-odds contribution) for `ScoreResult`."""
    return tuple(
        Reason(rule=f"model:{f.group}", points=f.contribution, group=REASON_GROUP, label=f.label)
        for f in (*explanation.positive, *explanation.negative)
    )


def reason_text(explanation: Explanation, *, limit: int = 250) -> str:
    """One line for the CRM reason field: ``a ↑, b ↑ | c ↓``, cut to `limit` characters."""
    up = ", ".join(f"{f.label} ↑" for f in explanation.positive)
    down = ", ".join(f"{f.label} ↓" for f in explanation.negative)
    text = " | ".join(part for part in (up, down) if part) or "no strong factor"
    return text if len(text) <= limit else text[: limit - 1] + "…"
