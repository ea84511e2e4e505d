from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from leadbridge.core.models import Outcome, OutcomeStatus
from leadbridge.scoring.predictive.blend import BlendConfig, blend_many, blend_one
from leadbridge.scoring.predictive.calibration import choose_calibrator, fit_calibrator
from leadbridge.scoring.predictive.drift import DriftReference, drift_report, psi
from leadbridge.scoring.predictive.evaluation import evaluate
from leadbridge.scoring.predictive.leakage import deny_reason
from leadbridge.scoring.predictive.outcomes import (
    ColdStart,
    labels_from_outcomes,
    map_outcome,
    to_outcome,
)

T = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("system", "value", "status"),
    [
        ("boma_dossier", "Instruction", OutcomeStatus.OPEN),
        ("boma_dossier", "Accord", OutcomeStatus.WON),
        ("boma_dossier", "Refusée", OutcomeStatus.LOST),
        ("hubspot_lifecycle", "customer", OutcomeStatus.WON),
        ("hubspot_deal", "closedwon", OutcomeStatus.WON),
        ("hubspot_deal", "closedlost", OutcomeStatus.LOST),
        ("salesforce_lead", True, OutcomeStatus.WON),
        ("salesforce_lead", "Closed - Not Converted", OutcomeStatus.LOST),
        ("salesforce_opportunity", "Closed Won", OutcomeStatus.WON),
    ],
)
def test_crm_outcome_tables(system, value, status) -> None:
    assert map_outcome(system, value) is status
    outcome = to_outcome(system, "k", value, T)
    assert outcome is not None
    assert outcome.status is status


def test_labels_take_latest_decision_and_first_win() -> None:
    def o(key: str, status: OutcomeStatus, day: int) -> Outcome:
        return Outcome(lead_key=key, status=status, at=T + timedelta(days=day), source="boma")

    labels = labels_from_outcomes(
        [
            o("a", OutcomeStatus.OPEN, 0),
            o("a", OutcomeStatus.WON, 3),
            o("a", OutcomeStatus.WON, 9),
            o("b", OutcomeStatus.WON, 1),
            o("b", OutcomeStatus.LOST, 5),
            o("c", OutcomeStatus.OPEN, 2),
        ]
    )
    assert labels["a"].won
    assert labels["a"].at == T + timedelta(days=3)
    assert not labels["b"].won
    assert labels["b"].at == T + timedelta(days=5)
    assert "c" not in labels
    assert ColdStart(min_outcomes=2, min_per_class=1).shortfall(labels) is None
    assert "1 won and 1 lost" in (
        ColdStart(min_outcomes=2, min_per_class=2).shortfall(labels) or ""
    )


def test_blend_modes() -> None:
    p = np.array([0.10, 0.90, 0.30])
    rules = np.array([80.0, 10.0, 30.0])
    floor = blend_many(p, rules, BlendConfig())
    assert floor.tolist() == [76, 90, 30]
    weighted = blend_many(p, rules, BlendConfig(mode="weighted", model_weight=0.5))
    assert weighted.tolist() == [45, 50, 30]
    assert blend_many(None, rules, BlendConfig()).tolist() == [80, 10, 30]
    one = blend_one(0.10, 80.0, BlendConfig())
    assert one.tier == "very_hot"
    assert "floor of rules tier very_hot" in one.explanation
    with pytest.raises(ValueError, match="tiers must be sorted"):
        BlendConfig(tiers=BlendConfig().tiers[::-1])


def test_calibration_fixes_inflated_probabilities() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.1).astype(np.int8)
    raw = np.clip(0.5 + 0.3 * y + rng.normal(0, 0.15, y.size), 0.01, 0.99)
    cal, scores = choose_calibrator(raw, y)
    assert cal.method in {"platt", "isotonic"}
    assert scores[cal.method] < scores["none"]
    assert abs(float(cal.apply(raw).mean()) - 0.1) < 0.02


def test_isotonic_steps_keep_the_model_ranking() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random(3000) < 0.2).astype(np.int8)
    raw = np.clip(0.3 + 0.3 * y + rng.normal(0, 0.2, y.size), 0.0, 1.0)
    cal = fit_calibrator("isotonic", raw, y)
    grid = np.linspace(0.0, 1.0, 5001)
    assert np.all(np.diff(cal.apply(grid)) > 0)
    assert roc_auc_score(y, cal.apply(raw)) == pytest.approx(roc_auc_score(y, raw), abs=1e-12)


def test_evaluation_hot_false_positive_share_and_rules() -> None:
    y = np.array([1, 1, 0, 0, 0, 1, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.3, 0.1, 0.05, 0.02, 0.01])
    report = evaluate(y, p, rules_score=np.array([60, 10, 70, 0, 0, 55, 0, 0, 0, 0]))
    hot = next(t for t in report.tiers if t.tier == "hot")
    assert hot.flagged == 3
    assert hot.precision == pytest.approx(2 / 3)
    assert report.hot_false_positive_share == pytest.approx(1 / 3)
    assert report.rules_hot_false_positive_share == pytest.approx(1 / 3)
    assert report.rules is not None
    assert report.rules.brier is None
    assert report.deciles[0].lift == pytest.approx(1 / 0.3)


def test_psi_and_drift_flags() -> None:
    rng = np.random.default_rng(1)
    train = rng.normal(0, 1, (2000, 2)).astype(np.float32)
    live = np.column_stack([rng.normal(0, 1, 2000), rng.normal(2, 1, 2000)]).astype(np.float32)
    ref = DriftReference.from_matrix(train, ("a", "b"))
    report = drift_report(ref, live, ("a", "b"))
    by = {f.feature: f for f in report.features}
    assert by["a"].psi < 0.1
    assert not by["a"].flagged
    assert by["b"].psi > 0.25
    assert by["b"].flagged
    assert report.flagged
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("column", "denied"),
    [
        ("Tags", True),
        ("Lead Quality", True),
        ("Lead Status", True),
        ("call_duration", True),
        ("Asymmetrique Activity Score", True),
        ("Last Notable Activity", True),
        ("Lead Source", False),
        ("Lead Origin", False),
        ("TotalVisits", False),
    ],
)
def test_deny_list(column: str, denied: bool) -> None:
    assert (deny_reason(column) is not None) is denied
