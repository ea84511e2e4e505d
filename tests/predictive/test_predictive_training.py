import json
from pathlib import Path

import numpy as np
import pytest

from leadbridge.scoring.predictive.artifact import TrainedModel
from leadbridge.scoring.predictive.csv_training import evaluate_csv_rows, train_csv
from leadbridge.scoring.predictive.tabular import read_csv
from leadbridge.scoring.predictive.training import TrainConfig, split_rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, leads_csv_maker) -> TrainedModel:
    path = leads_csv_maker(tmp_path_factory.mktemp("t") / "leads.csv", n=1200)
    return train_csv(
        path,
        target="Converted",
        positive="1",
        config=TrainConfig(max_rounds=300, depth_candidates=(3,)),
    )


def test_model_learns_and_is_calibrated(trained: TrainedModel) -> None:
    report = trained.card.report
    assert report.model.roc_auc is not None
    assert report.model.roc_auc > 0.8
    assert report.logistic is not None
    assert report.logistic.roc_auc is not None
    assert report.uncalibrated is not None
    assert report.model.brier is not None
    assert report.uncalibrated.brier is not None
    assert report.model.brier <= report.uncalibrated.brier
    assert trained.card.split == "stratified"
    assert trained.card.scale_pos_weight > 0
    assert len(report.deciles) == 10
    assert report.deciles[0].observed_rate >= report.deciles[-1].observed_rate
    assert report.deciles[-1].cumulative_gain == pytest.approx(1.0)


def test_deny_listed_tags_are_left_out_with_a_warning(trained: TrainedModel) -> None:
    assert "Tags" in trained.card.dropped
    assert not any(g == "Tags" for g in trained.card.groups)
    assert any("'Tags' left out" in w for w in trained.card.warnings)


def test_summary_has_required_keys(trained: TrainedModel) -> None:
    summary = trained.card.summary()
    for key in ("roc_auc", "pr_auc", "brier", "n_train", "n_test", "positive_rate", "split"):
        assert key in summary
    assert summary["top_features"][0]["feature"] in {"Minutes", "Lead Source", "Occupation"}
    json.dumps(summary, default=str)


def test_single_column_leak_is_named(leads_csv: Path) -> None:
    model = train_csv(
        leads_csv,
        target="Converted",
        positive="1",
        allow=["Tags"],
        config=TrainConfig(max_rounds=50, depth_candidates=(3,)),
    )
    assert any("'Tags' alone predicts the target" in w for w in model.card.warnings)


def test_time_column_gives_time_ordered_split(leads_csv: Path) -> None:
    model = train_csv(
        leads_csv,
        target="Converted",
        positive="1",
        time_column="Created",
        config=TrainConfig(max_rounds=50, depth_candidates=(3,)),
    )
    assert model.card.split == "time"
    assert model.card.data_from is not None
    assert model.card.data_to is not None
    assert "Created" not in model.card.groups


def test_split_rows_is_time_ordered_and_stratified() -> None:
    y = np.array([0, 1] * 50, dtype=np.int8)
    t = np.arange(100, dtype=np.float64)[::-1].copy()
    split = split_rows(y, t, 0.2, 42)
    assert split.kind == "time"
    assert t[split.test].min() > t[split.train].max()
    strat = split_rows(y, None, 0.2, 42)
    assert strat.kind == "stratified"
    assert int(y[strat.test].sum()) == 10
    assert strat.test.size == 20


def test_save_load_roundtrip_without_pickle(
    trained: TrainedModel, tmp_path: Path, leads_csv: Path
) -> None:
    directory = trained.save(tmp_path / "m")
    raw = (directory / "model.ubj").read_bytes()
    assert raw[:1] == b"{"  # UBJSON object, not a pickle stream (b"\x80")
    card = json.loads((directory / "card.json").read_text())
    assert card["calibrator"]["method"] in {"none", "platt", "isotonic"}
    again = TrainedModel.load(directory)
    table = read_csv(leads_csv)
    np.testing.assert_allclose(evaluate_csv_rows(trained, table), evaluate_csv_rows(again, table))


def test_trees_boost_from_the_stored_linear_prior(trained: TrainedModel, tmp_path: Path) -> None:
    """The prior travels in the JSON card and its terms add exactly to TreeSHAP's."""
    assert trained.card.prior is not None
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, len(trained.card.feature_names))).astype(np.float32)
    x[::7, 0] = np.nan
    contribs = trained.contributions(x).astype(np.float64)
    raw = trained.predict_raw(x)
    margin = np.log(raw / (1.0 - raw))
    np.testing.assert_allclose(contribs.sum(axis=1), margin, atol=2e-3)
    reloaded = TrainedModel.load(trained.save(tmp_path / "m"))
    np.testing.assert_allclose(reloaded.predict(x), trained.predict(x), rtol=1e-6)
    without = TrainedModel(trained.booster, trained.card.model_copy(update={"prior": None}))
    assert not np.allclose(without.predict_raw(x), raw)


def test_calibration_never_reorders_leads(trained: TrainedModel) -> None:
    raw = np.linspace(0.001, 0.999, 2000)
    calibrated = trained.card.calibrator.apply(raw)
    assert np.all(np.diff(calibrated) > 0)


def test_trees_alone_remain_available(leads_csv_maker, tmp_path: Path) -> None:
    path = leads_csv_maker(tmp_path / "leads.csv", n=600)
    model = train_csv(
        path,
        target="Converted",
        positive="1",
        config=TrainConfig(max_rounds=100, depth_candidates=(3,), linear_prior=False),
    )
    assert model.card.prior is None
    assert (model.card.report.model.roc_auc or 0.0) > 0.75
