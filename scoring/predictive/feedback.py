"""The nightly feedback loop (seed 000 §5): outcomes in, challenger out, drift flagged.

`run_feedback_cycle` is what the daemon schedules. Given the CRM's leads, activities
and outcomes (HubSpot lifecycle/deals, Salesforce conversions/opportunities, BOMA
dossier statuses, mapped by `outcomes`), it:

1. stops at the cold-start threshold (the rules score keeps standing alone);
2. trains a challenger from point-in-time history (`history.train_from_history`);
3. registers it and judges it against the champion on the *same* recent holdout -- the
   most recent decided outcomes -- promoting it only if it wins;
4. reports drift of the live population against the champion's training reference
   (PSI per feature) and the champion's AUC on recent outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from pydantic import BaseModel, ConfigDict

from leadbridge.core.models import Activity, Lead, Outcome
from leadbridge.core.protocols import Scorer
from leadbridge.scoring.predictive.drift import DriftReport, drift_report
from leadbridge.scoring.predictive.features import (
    ActivityColumns,
    LeadColumns,
    build_features,
    feature_names,
)
from leadbridge.scoring.predictive.history import ColdStartError, history_rows, train_from_history
from leadbridge.scoring.predictive.outcomes import ColdStart
from leadbridge.scoring.predictive.registry import Holdout, ModelRegistry, PromotionDecision
from leadbridge.scoring.predictive.training import TrainConfig, split_rows

__all__ = ["FeedbackReport", "run_feedback_cycle"]


class FeedbackReport(BaseModel):
    """What one feedback cycle did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    cold_start: str | None = None
    challenger: str | None = None
    decision: PromotionDecision | None = None
    drift: DriftReport | None = None


def run_feedback_cycle(
    registry: ModelRegistry,
    leads: Sequence[Lead],
    activities: Sequence[Activity],
    outcomes: Sequence[Outcome],
    *,
    as_of: datetime,
    name: str = "default",
    config: TrainConfig | None = None,
    cold_start: ColdStart | None = None,
    rules_scorer: Scorer | None = None,
    min_gain: float = 0.0,
    population: Sequence[Lead] | None = None,
) -> FeedbackReport:
    """Retrain, compare on recent outcomes, promote if better, and check drift.

    `population` is today's leads for the drift check (e.g. a sample of the live
    leads, whose activities are in `activities`); by default, `leads`.
    """
    cfg = config or TrainConfig()
    champion = registry.champion(name)
    drift = None
    rows = history_rows(leads, activities, outcomes)
    split = split_rows(rows.y, rows.cut, cfg.test_fraction, cfg.seed) if rows.y.size else None
    if champion is not None and champion.card.drift_reference is not None:
        today = leads if population is None else population
        keys = [lead.key for lead in today]
        live = build_features(
            LeadColumns.from_leads(today),
            ActivityColumns.from_activities(activities, keys),
            np.full(len(today), as_of.timestamp()),
        )
        recent_y = recent_p = None
        if split is not None and champion.card.kind == "activity":
            recent_y = rows.y[split.test]
            recent_p = champion.predict(rows.x[split.test])
        drift = drift_report(
            champion.card.drift_reference,
            live,
            feature_names(),
            y_recent=recent_y,
            p_recent=recent_p,
            reference_auc=champion.card.report.model.roc_auc,
        )
    try:
        challenger = train_from_history(
            leads,
            activities,
            outcomes,
            config=cfg,
            cold_start=cold_start,
            rules_scorer=rules_scorer,
            name=name,
        )
    except ColdStartError as exc:
        return FeedbackReport(name=name, cold_start=str(exc), drift=drift)
    stored = registry.register(challenger, name=name)
    holdout = None
    if split is not None and champion is not None:
        holdout = Holdout.from_matrix(rows.x[split.test], rows.y[split.test])
    decision = registry.promote(name, stored.card.version, holdout=holdout, min_gain=min_gain)
    return FeedbackReport(name=name, challenger=stored.card.version, decision=decision, drift=drift)
