"""Drift monitoring: has the population moved, and does the model still rank well.

* **Population stability index** per feature, against decile bins of the training
  rows stored in the model card (`DriftReference`):
  ``PSI = Σ (live% - train%) · ln(live% / train%)``. The usual reading: < 0.1 stable,
  0.1-0.25 moderate shift, > 0.25 major shift (flagged).
* **Recent AUC**: ROC AUC on outcomes that arrived since training, flagged when it
  falls more than `auc_drop` below the card's test AUC.

Missing values form their own bin, so a field that stops being filled is drift too.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from sklearn.metrics import roc_auc_score

__all__ = ["DriftReference", "DriftReport", "FeatureDrift", "drift_report", "psi"]

_FLOOR = 1e-4


class FeatureBins(BaseModel):
    """Bin edges of one feature and the training share of each bin (last = missing)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    edges: tuple[float, ...]
    shares: tuple[float, ...]


class DriftReference(BaseModel):
    """Training distribution of every feature, as stored in the model card."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    features: dict[str, FeatureBins]

    @classmethod
    def from_matrix(
        cls, x: NDArray[np.floating], names: tuple[str, ...], bins: int = 10
    ) -> DriftReference:
        """Decile edges (deduplicated) and shares of the training matrix."""
        out: dict[str, FeatureBins] = {}
        for j, name in enumerate(names):
            column = np.asarray(x[:, j], dtype=np.float64)
            finite = column[~np.isnan(column)]
            if finite.size:
                qs = np.quantile(finite, np.linspace(0.0, 1.0, bins + 1)[1:-1])
                edges = tuple(float(v) for v in np.unique(qs))
            else:
                edges = ()
            out[name] = FeatureBins(edges=edges, shares=tuple(_shares(column, edges)))
        return cls(features=out)


def _shares(column: NDArray[np.float64], edges: tuple[float, ...]) -> list[float]:
    missing = np.isnan(column)
    idx = np.searchsorted(np.asarray(edges), column[~missing], side="right")
    counts = np.bincount(idx, minlength=len(edges) + 1).astype(np.float64)
    counts = np.append(counts, float(missing.sum()))
    total = counts.sum()
    return list(counts / total) if total else list(counts)


def psi(expected: NDArray[np.floating], actual: NDArray[np.floating]) -> float:
    """Population stability index between two share vectors over the same bins."""
    e = np.clip(np.asarray(expected, dtype=np.float64), _FLOOR, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), _FLOOR, None)
    return float(np.sum((a - e) * np.log(a / e)))


class FeatureDrift(BaseModel):
    """One feature's PSI and whether it crosses the threshold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    feature: str
    psi: float
    flagged: bool


class DriftReport(BaseModel):
    """PSI of every feature plus the recent AUC, and whether anything is flagged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    features: tuple[FeatureDrift, ...]
    recent_auc: float | None
    reference_auc: float | None
    auc_flagged: bool
    flagged: bool
    messages: tuple[str, ...]


def drift_report(
    reference: DriftReference,
    x_live: NDArray[np.floating],
    names: tuple[str, ...],
    *,
    y_recent: NDArray[np.integer] | None = None,
    p_recent: NDArray[np.floating] | None = None,
    reference_auc: float | None = None,
    psi_threshold: float = 0.25,
    auc_drop: float = 0.05,
) -> DriftReport:
    """Compare live rows with the training reference; optionally check recent outcomes."""
    rows: list[FeatureDrift] = []
    messages: list[str] = []
    for j, name in enumerate(names):
        bins = reference.features.get(name)
        if bins is None:
            continue
        live = _shares(np.asarray(x_live[:, j], dtype=np.float64), bins.edges)
        value = psi(np.asarray(bins.shares), np.asarray(live))
        flagged = value > psi_threshold
        rows.append(FeatureDrift(feature=name, psi=value, flagged=flagged))
        if flagged:
            messages.append(f"feature {name!r} drifted (PSI {value:.2f} > {psi_threshold})")
    rows.sort(key=lambda r: -r.psi)
    recent_auc = None
    if y_recent is not None and p_recent is not None:
        labels = np.asarray(y_recent, dtype=np.int64)
        if 0 < int(labels.sum()) < labels.size:
            recent_auc = float(roc_auc_score(labels, np.asarray(p_recent, dtype=np.float64)))
    auc_flagged = (
        recent_auc is not None
        and reference_auc is not None
        and recent_auc < reference_auc - auc_drop
    )
    if auc_flagged:
        messages.append(
            f"recent ROC AUC {recent_auc:.3f} is more than {auc_drop} below "
            f"the training test AUC {reference_auc:.3f}"
        )
    return DriftReport(
        features=tuple(rows),
        recent_auc=recent_auc,
        reference_auc=reference_auc,
        auc_flagged=auc_flagged,
        flagged=auc_flagged or any(r.flagged for r in rows),
        messages=tuple(messages),
    )
