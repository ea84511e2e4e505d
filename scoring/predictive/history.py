"""Training from a connected CRM's history: point-in-time rows from leads and outcomes.

Each lead with a decided outcome becomes one row, its features built *as of the moment
the outcome became known* (a converted lead is cut at its conversion, so nothing that
happened afterwards -- the signed contract, the onboarding emails -- leaks in). The
split is time-ordered on those cut times: the model is tested on the most recent
outcomes, as it will be used. With a rules scorer, the rules score of every test lead
as of the same cut is evaluated beside the model.

Below the cold-start threshold (`ColdStart`) no model is trained: `ColdStartError`
says so and the rules score stands alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from leadbridge.core.models import Activity, Lead, Outcome
from leadbridge.core.protocols import Scorer
from leadbridge.scoring.predictive.artifact import TrainedModel
from leadbridge.scoring.predictive.dataset import Dataset, TrainingDataError
from leadbridge.scoring.predictive.features import (
    FEATURE_SET_VERSION,
    ActivityColumns,
    LeadColumns,
    build_features,
    feature_groups,
    feature_names,
)
from leadbridge.scoring.predictive.leakage import leak_warnings
from leadbridge.scoring.predictive.outcomes import ColdStart, labels_from_outcomes
from leadbridge.scoring.predictive.training import TrainConfig, split_rows, train_dataset

__all__ = ["ColdStartError", "HistoryRows", "history_rows", "train_from_history"]


class ColdStartError(TrainingDataError):
    """Not enough decided outcomes yet: keep scoring with the rules alone."""


@dataclass(frozen=True)
class HistoryRows:
    """Labelled, point-in-time feature rows built from a CRM's history."""

    leads: tuple[Lead, ...]
    x: NDArray[np.float32]
    y: NDArray[np.int8]
    cut: NDArray[np.float64]


def history_rows(
    leads: Sequence[Lead], activities: Sequence[Activity], outcomes: Sequence[Outcome]
) -> HistoryRows:
    """One row per lead with a decided outcome, features cut at the outcome time."""
    labels = labels_from_outcomes(outcomes)
    labelled = tuple(lead for lead in leads if lead.key in labels)
    keys = [lead.key for lead in labelled]
    cut = np.array([labels[k].at.timestamp() for k in keys], dtype=np.float64)
    y = np.array([labels[k].won for k in keys], dtype=np.int8)
    x = build_features(
        LeadColumns.from_leads(labelled), ActivityColumns.from_activities(activities, keys), cut
    )
    return HistoryRows(leads=labelled, x=x, y=y, cut=cut)


def _rules_scores(
    scorer: Scorer,
    leads: Sequence[Lead],
    cut: NDArray[np.float64],
    activities: Sequence[Activity],
) -> NDArray[np.float64]:
    by_lead: dict[str, list[Activity]] = {}
    for activity in activities:
        by_lead.setdefault(activity.lead_key, []).append(activity)
    out = np.empty(len(leads), dtype=np.float64)
    for i, lead in enumerate(leads):
        as_of = datetime.fromtimestamp(float(cut[i]), tz=UTC)
        before = [a for a in by_lead.get(lead.key, ()) if a.occurred_at < as_of]
        out[i] = scorer.score(lead, before, as_of=as_of).score
    return out


def train_from_history(
    leads: Sequence[Lead],
    activities: Sequence[Activity],
    outcomes: Sequence[Outcome],
    *,
    config: TrainConfig | None = None,
    cold_start: ColdStart | None = None,
    rules_scorer: Scorer | None = None,
    name: str = "default",
) -> TrainedModel:
    """Build point-in-time rows, check the cold-start threshold, train and evaluate."""
    cfg = config or TrainConfig()
    policy = cold_start or ColdStart()
    shortfall = policy.shortfall(labels_from_outcomes(outcomes))
    if shortfall is not None:
        raise ColdStartError(f"{shortfall}; the rules score stands alone")
    rows = history_rows(leads, activities, outcomes)
    if rows.y.size == 0:
        raise ColdStartError("no outcome matches a known lead; the rules score stands alone")
    split = split_rows(rows.y, rows.cut, cfg.test_fraction, cfg.seed)
    names, groups = feature_names(), feature_groups()
    rules = None
    if rules_scorer is not None:
        test_leads = [rows.leads[i] for i in split.test]
        rules = _rules_scores(rules_scorer, test_leads, rows.cut[split.test], activities)
    train = Dataset(
        x=rows.x[split.train],
        y=rows.y[split.train],
        feature_names=names,
        groups=groups,
        time=rows.cut[split.train],
    )
    test = Dataset(
        x=rows.x[split.test],
        y=rows.y[split.test],
        feature_names=names,
        groups=groups,
        time=rows.cut[split.test],
        rules_score=rules,
    )
    columns = {name: train.x[:, j] for j, name in enumerate(names)}
    return train_dataset(
        train,
        test,
        split=split.kind,
        config=cfg,
        kind="activity",
        feature_set_version=FEATURE_SET_VERSION,
        name=name,
        warnings=tuple(leak_warnings(columns, train.y)),
    )
