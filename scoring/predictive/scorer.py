"""The live predictive scorer: features as of now, calibrated probability, blend, reasons.

`PredictiveScorer` satisfies `leadbridge.core.protocols.Scorer`, so the sync engine
uses it exactly like the rules scorer. It builds features with the same code as
training (cut = `as_of`), predicts a calibrated probability, blends it with the rules
score (`blend`), and explains it with XGBoost's contributions (`explain`). With no
model (cold start) it returns the rules score unchanged apart from saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
from numpy.typing import NDArray

from leadbridge.core.errors import ScoringError
from leadbridge.core.models import Activity, Lead, Reason, ScoreResult
from leadbridge.core.protocols import Scorer
from leadbridge.scoring.predictive.artifact import TrainedModel
from leadbridge.scoring.predictive.blend import BlendConfig, blend_many, blend_one, tier_of
from leadbridge.scoring.predictive.explain import explain, reason_text, reasons
from leadbridge.scoring.predictive.features import (
    FEATURE_SET_VERSION,
    ActivityColumns,
    LeadColumns,
    build_features,
)

__all__ = ["PredictiveScorer"]

_SUMMARY_LIMIT = 250


class PredictiveScorer:
    """Blends a registered model with an optional rules scorer; deterministic in as_of."""

    def __init__(
        self,
        model: TrainedModel | None,
        *,
        rules: Scorer | None = None,
        blend: BlendConfig | None = None,
        top_factors: int = 3,
    ) -> None:
        """Check the model was trained on this feature set; a CSV model cannot score leads."""
        if model is not None:
            card = model.card
            if card.kind != "activity":
                raise ScoringError(
                    "this model was trained on a CSV export; only CRM-history models "
                    "can score leads live"
                )
            if card.feature_set_version != FEATURE_SET_VERSION:
                raise ScoringError(
                    f"model uses feature set {card.feature_set_version}, this version "
                    f"builds {FEATURE_SET_VERSION}: retrain"
                )
        if model is None and rules is None:
            raise ScoringError("no model and no rules scorer: nothing to score with")
        self.model = model
        self.rules = rules
        self.blend = blend or BlendConfig()
        self.top_factors = top_factors
        parts = [
            f"blend:{self.blend.mode}",
            f"model:{model.version if model else 'none'}",
            f"rules:{rules.version if rules else 'none'}",
        ]
        self.version = "|".join(parts)

    def probabilities(
        self, leads: LeadColumns, activities: ActivityColumns, cut: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Columnar fast path: calibrated probabilities for many leads."""
        if self.model is None:
            raise ScoringError("no model: cold start, the rules score stands alone")
        return self.model.predict(build_features(leads, activities, cut))

    def score(self, lead: Lead, activities: Sequence[Activity], *, as_of: datetime) -> ScoreResult:
        """Score one lead as of `as_of`."""
        return self.score_many([(lead, activities)], as_of=as_of)[0]

    def score_many(
        self, items: Sequence[tuple[Lead, Sequence[Activity]]], *, as_of: datetime
    ) -> list[ScoreResult]:
        """Score many leads at once; the same result as calling `score` for each."""
        if not items:
            return []
        leads = [lead for lead, _ in items]
        rules_results = self.rules.score_many(items, as_of=as_of) if self.rules else None
        rules_scores = np.array(
            [r.score for r in rules_results] if rules_results else [0.0] * len(leads),
            dtype=np.float64,
        )
        if self.model is None:
            if rules_results is None:  # pragma: no cover - __init__ forbids it
                raise ScoringError("no model and no rules scorer")
            return [self._cold(result, as_of) for result in rules_results]
        flat = [activity for _, acts in items for activity in acts]
        keys = [lead.key for lead in leads]
        cut = np.full(len(leads), as_of.timestamp(), dtype=np.float64)
        x = build_features(
            LeadColumns.from_leads(leads), ActivityColumns.from_activities(flat, keys), cut
        )
        p = self.model.predict(x)
        explanations = explain(self.model, x, top=self.top_factors)
        scores = blend_many(p, rules_scores, self.blend)
        out: list[ScoreResult] = []
        for i, lead in enumerate(leads):
            tier = tier_of(int(scores[i]), self.blend.tiers)
            how = blend_one(float(p[i]), float(rules_scores[i]), self.blend).explanation
            extra: tuple[Reason, ...] = rules_results[i].reasons if rules_results else ()
            summary = f"{how}; {reason_text(explanations[i])}"
            out.append(
                ScoreResult(
                    lead_key=lead.key,
                    score=int(scores[i]),
                    tier=tier.name,
                    action=tier.action,
                    reasons=reasons(explanations[i]) + extra,
                    fit=rules_results[i].fit if rules_results else None,
                    intent=rules_results[i].intent if rules_results else None,
                    stage=rules_results[i].stage if rules_results else None,
                    routing=rules_results[i].routing if rules_results else None,
                    summary=_cut(summary),
                    config_version=self.version,
                    model_version=self.model.version,
                    computed_at=as_of,
                )
            )
        return out

    def _cold(self, result: ScoreResult, as_of: datetime) -> ScoreResult:
        blended = blend_one(None, float(result.score), self.blend)
        return result.model_copy(
            update={
                "tier": blended.tier,
                "action": blended.action,
                "summary": _cut(f"{blended.explanation}; {result.summary}".rstrip("; ")),
                "config_version": self.version,
                "model_version": None,
                "computed_at": as_of,
            }
        )


def _cut(text: str) -> str:
    return text if len(text) <= _SUMMARY_LIMIT else text[: _SUMMARY_LIMIT - 1] + "…"
