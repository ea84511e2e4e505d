"""How good a lead-scoring model is, in the terms sales teams and data people both use.

One `EvaluationReport` holds, for the same test rows: ROC AUC, PR AUC and Brier score
of the calibrated model, of the same model uncalibrated, of a logistic-regression
baseline and of the rules score (when one is available); calibration, lift and
cumulative gains by decile; precision and recall at every tier threshold; and the
share of "hot" leads that never convert (seed 003 wants it under 30 %).

The rules score is a 0-100 points total, not a probability: its Brier score is
reported on ``score / 100`` only so the columns line up, and is not comparable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from sklearn.metrics import average_precision_score, roc_auc_score

from leadbridge.scoring.predictive.blend import DEFAULT_TIERS, Tier

__all__ = [
    "DecileRow",
    "EvaluationReport",
    "Metrics",
    "TierRow",
    "decile_table",
    "evaluate",
    "metrics",
    "tier_table",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Metrics(_Model):
    """Ranking and probability quality of one scorer on one set of rows."""

    roc_auc: float | None
    pr_auc: float | None
    brier: float | None
    n: int
    positive_rate: float


class DecileRow(_Model):
    """One tenth of the leads, best scored first: calibration, lift and gains."""

    decile: int
    n: int
    mean_predicted: float
    observed_rate: float
    lift: float
    cumulative_gain: float


class TierRow(_Model):
    """Leads at or above one tier's threshold: how many, how precise, how complete."""

    tier: str
    threshold: int
    flagged: int
    precision: float | None
    recall: float
    false_positive_share: float | None


class EvaluationReport(_Model):
    """Everything `leadbridge model train/evaluate` prints, for one test set."""

    model: Metrics
    uncalibrated: Metrics | None = None
    logistic: Metrics | None = None
    rules: Metrics | None = None
    deciles: tuple[DecileRow, ...] = ()
    tiers: tuple[TierRow, ...] = ()
    rules_tiers: tuple[TierRow, ...] = ()
    hot_false_positive_share: float | None = None
    rules_hot_false_positive_share: float | None = None
    notes: tuple[str, ...] = ()


def metrics(
    y: NDArray[np.integer], p: NDArray[np.floating], *, probability: bool = True
) -> Metrics:
    """ROC AUC, PR AUC and Brier score (None where undefined, e.g. one class present)."""
    labels = np.asarray(y, dtype=np.int64)
    scores = np.asarray(p, dtype=np.float64)
    both = 0 < int(labels.sum()) < labels.size
    return Metrics(
        roc_auc=float(roc_auc_score(labels, scores)) if both else None,
        pr_auc=float(average_precision_score(labels, scores)) if both else None,
        brier=float(np.mean((np.clip(scores, 0.0, 1.0) - labels) ** 2)) if probability else None,
        n=int(labels.size),
        positive_rate=float(labels.mean()) if labels.size else 0.0,
    )


def decile_table(y: NDArray[np.integer], p: NDArray[np.floating]) -> tuple[DecileRow, ...]:
    """Leads sorted by score, cut into ten equal groups (decile 1 = best)."""
    labels = np.asarray(y, dtype=np.float64)
    scores = np.asarray(p, dtype=np.float64)
    if labels.size == 0:
        return ()
    order = np.argsort(-scores, kind="stable")
    base = float(labels.mean())
    total_pos = float(labels.sum())
    rows: list[DecileRow] = []
    captured = 0.0
    for k, chunk in enumerate(np.array_split(order, 10), start=1):
        if chunk.size == 0:
            continue
        rate = float(labels[chunk].mean())
        captured += float(labels[chunk].sum())
        rows.append(
            DecileRow(
                decile=k,
                n=int(chunk.size),
                mean_predicted=float(scores[chunk].mean()),
                observed_rate=rate,
                lift=rate / base if base > 0 else 0.0,
                cumulative_gain=captured / total_pos if total_pos > 0 else 0.0,
            )
        )
    return tuple(rows)


def tier_table(
    y: NDArray[np.integer], score: NDArray[np.floating], tiers: Sequence[Tier] = DEFAULT_TIERS
) -> tuple[TierRow, ...]:
    """Precision and recall of "score ≥ tier threshold" for every tier above the floor."""
    labels = np.asarray(y, dtype=np.int64)
    values = np.asarray(score, dtype=np.float64)
    positives = int(labels.sum())
    rows: list[TierRow] = []
    for tier in tiers:
        if tier.threshold <= 0:
            continue
        flagged = values >= tier.threshold
        n_flagged = int(flagged.sum())
        hits = int(labels[flagged].sum())
        precision = hits / n_flagged if n_flagged else None
        rows.append(
            TierRow(
                tier=tier.name,
                threshold=tier.threshold,
                flagged=n_flagged,
                precision=precision,
                recall=hits / positives if positives else 0.0,
                false_positive_share=None if precision is None else 1.0 - precision,
            )
        )
    return tuple(rows)


def _hot_share(rows: Sequence[TierRow], hot: str) -> float | None:
    return next((row.false_positive_share for row in rows if row.tier == hot), None)


def evaluate(
    y: NDArray[np.integer],
    p: NDArray[np.floating],
    *,
    p_uncalibrated: NDArray[np.floating] | None = None,
    p_logistic: NDArray[np.floating] | None = None,
    rules_score: NDArray[np.floating] | None = None,
    tiers: Sequence[Tier] = DEFAULT_TIERS,
    hot_tier: str = "hot",
) -> EvaluationReport:
    """Score the model and its comparators on the same rows.

    `p` are calibrated probabilities; tiers apply to ``round(100 * p)``. `rules_score` is
    the rules engine's 0-100 score for the same leads, if the caller has one.
    """
    score = np.rint(100.0 * np.asarray(p, dtype=np.float64))
    tier_rows = tier_table(y, score, tiers)
    notes: list[str] = []
    rules_metrics = None
    rules_rows: tuple[TierRow, ...] = ()
    if rules_score is None:
        notes.append("no rules score for these rows: rules comparison omitted")
    else:
        rules = np.asarray(rules_score, dtype=np.float64)
        rules_metrics = metrics(y, rules / 100.0, probability=False)
        rules_rows = tier_table(y, rules, tiers)
    return EvaluationReport(
        model=metrics(y, p),
        uncalibrated=None if p_uncalibrated is None else metrics(y, p_uncalibrated),
        logistic=None if p_logistic is None else metrics(y, p_logistic),
        rules=rules_metrics,
        deciles=decile_table(y, p),
        tiers=tier_rows,
        rules_tiers=rules_rows,
        hot_false_positive_share=_hot_share(tier_rows, hot_tier),
        rules_hot_false_positive_share=_hot_share(rules_rows, hot_tier),
        notes=tuple(notes),
    )
