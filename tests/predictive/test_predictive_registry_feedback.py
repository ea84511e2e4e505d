import pytest
from sqlalchemy import create_engine

from leadbridge.core.errors import ScoringError
from leadbridge.scoring.predictive.feedback import run_feedback_cycle
from leadbridge.scoring.predictive.outcomes import ColdStart
from leadbridge.scoring.predictive.registry import ModelRegistry
from leadbridge.scoring.predictive.training import TrainConfig

FAST = TrainConfig(depth_candidates=(3,), max_rounds=200, early_stopping_rounds=30)


def test_feedback_cycle_promotes_rolls_back_and_flags_drift(
    tmp_path, history, history_maker
) -> None:
    registry = ModelRegistry(create_engine(f"sqlite:///{tmp_path / 'state.db'}"))
    assert registry.champion("leads") is None

    cold = run_feedback_cycle(
        registry,
        history.leads,
        history.activities,
        history.outcomes[:50],
        as_of=history.end,
        name="leads",
        config=FAST,
    )
    assert cold.cold_start is not None
    assert cold.challenger is None

    first = run_feedback_cycle(
        registry,
        history.leads,
        history.activities,
        history.outcomes,
        as_of=history.end,
        name="leads",
        config=FAST,
        cold_start=ColdStart(min_outcomes=100),
    )
    assert first.decision is not None
    assert first.decision.promoted
    assert registry.champion_version("leads") == "v1"

    # a world where behaviour stopped predicting anything: the challenger must lose
    noise = history_maker(600, seed=9, signal=False)
    second = run_feedback_cycle(
        registry,
        history.leads,
        history.activities,
        [
            o.model_copy(update={"status": n.status})
            for o, n in zip(history.outcomes, noise.outcomes, strict=True)
        ],
        as_of=history.end,
        name="leads",
        config=FAST,
        cold_start=ColdStart(min_outcomes=100),
    )
    assert second.challenger == "v2"
    assert second.decision is not None
    assert second.drift is not None
    assert second.drift.recent_auc is not None
    assert second.drift.auc_flagged  # the champion's AUC on the new outcomes collapsed

    with pytest.raises(ScoringError, match="holdout is needed"):
        registry.promote("leads", "v2", holdout=None)
    records = registry.list("leads")
    assert [r.version for r in records] == ["v1", "v2"]
    assert [r.champion for r in records] == [True, False]
    with pytest.raises(ScoringError, match="no previous champion"):
        registry.rollback("leads")


def test_rollback_restores_previous_champion(tmp_path, history) -> None:
    from leadbridge.scoring.predictive.history import history_rows, train_from_history
    from leadbridge.scoring.predictive.registry import Holdout

    registry = ModelRegistry(f"sqlite:///{tmp_path / 'r.db'}")
    model = train_from_history(history.leads, history.activities, history.outcomes, config=FAST)
    v1 = registry.register(model, name="m")
    registry.promote("m", "v1", holdout=None)
    weak = train_from_history(
        history.leads,
        history.activities,
        history.outcomes,
        config=TrainConfig(depth_candidates=(1,), max_rounds=2, early_stopping_rounds=1),
    )
    registry.register(weak, name="m")
    rows = history_rows(history.leads, history.activities, history.outcomes)
    holdout = Holdout.from_matrix(rows.x[-150:], rows.y[-150:])
    rejected = registry.promote("m", "v2", holdout=holdout)
    assert not rejected.promoted
    assert "does not beat" in rejected.reason
    accepted = registry.promote("m", "v2", holdout=holdout, min_gain=-1.0)
    assert accepted.promoted
    assert registry.champion_version("m") == "v2"
    assert registry.rollback("m") == "v1"
    assert registry.champion_version("m") == "v1"
    loaded = registry.load("m")
    assert loaded.card.version == "v1"
    assert loaded.card.data_hash == v1.card.data_hash
