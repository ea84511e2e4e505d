import numpy as np
import pytest

from leadbridge.core.models import Activity, Lead, Reason, ScoreResult
from leadbridge.scoring.predictive.artifact import TrainedModel
from leadbridge.scoring.predictive.blend import BlendConfig
from leadbridge.scoring.predictive.explain import explain, reason_text
from leadbridge.scoring.predictive.history import ColdStartError, train_from_history
from leadbridge.scoring.predictive.outcomes import ColdStart
from leadbridge.scoring.predictive.scorer import PredictiveScorer
from leadbridge.scoring.predictive.training import TrainConfig

FAST = TrainConfig(depth_candidates=(3,), max_rounds=300, early_stopping_rounds=30)


class CountingRules:
    """A minimal rules scorer: 20 points per rates-page view (a stand-in for scoring.rules)."""

    version = "rules-test-1"

    def score(self, lead: Lead, activities, *, as_of) -> ScoreResult:
        n = sum(a.kind == "page_view:rates" for a in activities if a.occurred_at < as_of)
        score = min(100, 20 * n)
        return ScoreResult(
            lead_key=lead.key,
            score=score,
            tier="x",
            action="y",
            reasons=(Reason(rule="rates", points=float(score)),),
            summary=f"{n} rates views",
            config_version=self.version,
            computed_at=as_of,
        )

    def score_many(self, items, *, as_of) -> list[ScoreResult]:
        return [self.score(lead, acts, as_of=as_of) for lead, acts in items]


@pytest.fixture(scope="module")
def model(history) -> TrainedModel:
    return train_from_history(
        history.leads,
        history.activities,
        history.outcomes,
        config=FAST,
        rules_scorer=CountingRules(),
    )


def test_history_model_learns_with_time_split(model: TrainedModel) -> None:
    card = model.card
    assert card.kind == "activity"
    assert card.split == "time"
    assert card.report.model.roc_auc is not None
    assert card.report.model.roc_auc > 0.75
    assert card.report.rules is not None  # rules score compared in the same run
    assert card.report.rules_tiers
    groups = {f.feature for f in card.top_features[:3]}
    assert groups & {"simulator", "rates_page", "kind:page_view:rates", "channel:web"}


def test_post_outcome_events_do_not_leak(history_maker) -> None:
    h = history_maker(500, seed=5, signal=False, post_outcome_signal=True)
    leaky = train_from_history(h.leads, h.activities, h.outcomes, config=FAST)
    auc = leaky.card.report.model.roc_auc
    assert auc is not None
    assert auc < 0.65


def test_cold_start_keeps_rules_alone(history) -> None:
    with pytest.raises(ColdStartError, match="cold start: 600 decided outcomes, 1000 needed"):
        train_from_history(
            history.leads,
            history.activities,
            history.outcomes,
            cold_start=ColdStart(min_outcomes=1000),
        )
    scorer = PredictiveScorer(None, rules=CountingRules())
    lead = history.leads[0]
    acts = [a for a in history.activities if a.lead_key == lead.key]
    result = scorer.score(lead, acts, as_of=history.end)
    assert result.model_version is None
    assert result.score == CountingRules().score(lead, acts, as_of=history.end).score
    assert "cold start" in result.summary


def test_live_scoring_blends_explains_and_matches_batch(model: TrainedModel, history) -> None:
    scorer = PredictiveScorer(model, rules=CountingRules(), blend=BlendConfig())
    by_lead: dict[str, list[Activity]] = {}
    for a in history.activities:
        by_lead.setdefault(a.lead_key, []).append(a)
    items = [(lead, by_lead.get(lead.key, [])) for lead in history.leads[:40]]
    as_of = history.end
    batch = scorer.score_many(items, as_of=as_of)
    single = scorer.score(*items[3], as_of=as_of)
    assert batch[3] == single
    for result, (lead, acts) in zip(batch, items, strict=True):
        rules = CountingRules().score(lead, acts, as_of=as_of).score
        if rules >= 51:
            assert result.score >= 51  # the rules tier is a floor
        assert result.model_version == model.version
        assert any(r.rule.startswith("model:") for r in result.reasons)
        assert len(result.summary) <= 250


def test_contributions_sum_to_margin(model: TrainedModel, history) -> None:
    from leadbridge.scoring.predictive.history import history_rows

    rows = history_rows(history.leads[:50], history.activities, history.outcomes)
    contribs = model.contributions(rows.x)
    margin = np.log(model.predict_raw(rows.x) / (1 - model.predict_raw(rows.x)))
    np.testing.assert_allclose(contribs.sum(axis=1), margin, atol=1e-3)
    explanations = explain(model, rows.x, top=2)
    first = explanations[0]
    assert len(first.positive) <= 2
    assert len(first.negative) <= 2
    assert all(f.contribution > 0 for f in first.positive)
    assert all(f.contribution < 0 for f in first.negative)
    text = reason_text(first)
    assert "↑" in text or "↓" in text
    assert len(text) <= 250


def test_scorer_rejects_csv_models(leads_csv) -> None:
    from leadbridge.core.errors import ScoringError
    from leadbridge.scoring.predictive.csv_training import train_csv

    tabular = train_csv(leads_csv, target="Converted", positive="1", config=FAST)
    with pytest.raises(ScoringError, match="CSV export"):
        PredictiveScorer(tabular)
