"""Training an XGBoost lead-scoring model the way seed 000 describes, made robust.

* **Split**: time-ordered when row times exist (the newest `test_fraction` is the test
  set, as production only ever scores the future), stratified random otherwise.
* **Imbalance**: ``scale_pos_weight = negatives / positives`` of the training rows,
  computed from the data rather than the seed's fixed 10.
* **Early stopping** on a validation fold carved from the training rows (again by
  time when possible), on ROC AUC, which `scale_pos_weight` does not distort.
* **Calibration**: identity, Platt or isotonic, whichever has the lowest cross-fitted
  Brier score on the validation fold (see `calibration`).
* **Baseline**: a logistic regression on the same features and rows, evaluated on the
  same test set, so every report says whether the trees earn their keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import xgboost as xgb
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from leadbridge.scoring.predictive.artifact import (
    FeatureImportance,
    ModelCard,
    TrainedModel,
    contributions,
    group_sums,
    raw_probability,
)
from leadbridge.scoring.predictive.blend import DEFAULT_TIERS, Tier
from leadbridge.scoring.predictive.calibration import (
    Calibrator,
    choose_calibrator,
    fit_calibrator,
)
from leadbridge.scoring.predictive.dataset import Dataset, TrainingDataError
from leadbridge.scoring.predictive.drift import DriftReference
from leadbridge.scoring.predictive.evaluation import evaluate
from leadbridge.scoring.predictive.linear import LinearModel, fit_linear
from leadbridge.scoring.predictive.tabular import TabularEncoder

__all__ = [
    "Split",
    "TrainConfig",
    "fit_booster",
    "fit_logistic",
    "split_rows",
    "train_dataset",
]


class TrainConfig(BaseModel):
    """Knobs of one training run; defaults are what the benchmarks use."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    test_fraction: float = Field(default=0.2, gt=0.0, lt=0.9)
    validation_fraction: float = Field(default=0.2, gt=0.0, lt=0.9)
    seed: int = 42
    learning_rate: float = Field(default=0.05, gt=0.0, le=1.0)
    max_depth: int = Field(default=4, ge=1, le=16)
    depth_candidates: tuple[int, ...] = (3, 4, 5, 6)
    parallel_trees: int = Field(default=1, ge=1, le=16)
    min_child_weight: float = Field(default=2.0, ge=0.0)
    subsample: float = Field(default=0.8, gt=0.0, le=1.0)
    colsample_bytree: float = Field(default=0.8, gt=0.0, le=1.0)
    reg_lambda: float = Field(default=1.0, ge=0.0)
    max_rounds: int = Field(default=2000, ge=1)
    early_stopping_rounds: int = Field(default=100, ge=1)
    nthread: int = Field(default=2, ge=1)
    calibration: Literal["auto", "none", "platt", "isotonic"] = "auto"
    refit: bool = True
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    min_rows: int = Field(default=20, ge=4)
    max_levels: int = Field(default=60, ge=0)
    min_level_count: int = Field(default=5, ge=1)
    level_frequency: bool = False
    level_rates: bool = False
    linear_prior: bool = True


@dataclass(frozen=True)
class Split:
    """Row indices of the training and test parts and how they were chosen."""

    train: NDArray[np.int64]
    test: NDArray[np.int64]
    kind: Literal["time", "stratified"]


def split_rows(
    y: NDArray[np.integer], time: NDArray[np.float64] | None, fraction: float, seed: int
) -> Split:
    """Newest `fraction` of rows by time, else a stratified random `fraction`."""
    n = int(y.shape[0])
    n_test = max(1, round(n * fraction))
    if time is not None:
        order = np.argsort(time, kind="stable").astype(np.int64)
        return Split(train=order[: n - n_test], test=order[n - n_test :], kind="time")
    rng = np.random.default_rng(seed)
    test_parts: list[NDArray[np.int64]] = []
    train_parts: list[NDArray[np.int64]] = []
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls).astype(np.int64)
        rng.shuffle(idx)
        k = round(idx.size * fraction)
        if idx.size >= 2:
            k = min(max(k, 1), idx.size - 1)
        test_parts.append(idx[:k])
        train_parts.append(idx[k:])
    return Split(
        train=np.sort(np.concatenate(train_parts)),
        test=np.sort(np.concatenate(test_parts)),
        kind="stratified",
    )


def fit_logistic(train: Dataset, seed: int = 42) -> LinearModel:
    """The baseline every report compares against (unweighted, on the same features)."""
    return fit_linear(train.x, train.y, seed=seed)


@dataclass(frozen=True)
class FittedBooster:
    """A booster cut at its best round, its linear prior, and the chosen calibration."""

    booster: xgb.Booster
    prior: LinearModel | None
    calibrator: Calibrator
    calibration_scores: dict[str, float]
    best_iteration: int
    scale_pos_weight: float
    params: dict[str, float | int | str]


def _matrix(
    x: NDArray[np.float32], y: NDArray[np.integer], prior: LinearModel | None
) -> xgb.DMatrix:
    margin = None if prior is None else prior.margin(x)
    return xgb.DMatrix(x, label=y, missing=np.nan, base_margin=margin)


def _positive_weight(y: NDArray[np.integer]) -> float:
    positives = float(y.sum())
    return (float(y.size) - positives) / positives


def fit_booster(train: Dataset, config: TrainConfig) -> FittedBooster:
    """Fit with early stopping on a validation fold, then choose the calibration.

    With `config.linear_prior`, the baseline logistic regression is fitted first and
    the trees boost from its log-odds (see `linear`): the model starts exactly where the
    baseline ends, and early stopping decides how much the trees add.
    """
    inner = split_rows(train.y, train.time, config.validation_fraction, config.seed + 1)
    fit_part, val_part = train.subset(inner.train), train.subset(inner.test)
    positives = int(fit_part.y.sum())
    if positives == 0 or positives == fit_part.y.size:
        raise TrainingDataError(
            "the training rows before the validation fold hold a single class; "
            "need more history of both outcomes"
        )
    spw = _positive_weight(fit_part.y)
    params: dict[str, float | int | str] = {
        "objective": "binary:logistic",
        "eval_metric": "auc",
        "tree_method": "hist",
        "learning_rate": config.learning_rate,
        "max_depth": config.max_depth,
        "min_child_weight": config.min_child_weight,
        "subsample": config.subsample,
        "colsample_bytree": config.colsample_bytree,
        "reg_lambda": config.reg_lambda,
        "num_parallel_tree": config.parallel_trees,
        "scale_pos_weight": spw,
        "nthread": config.nthread,
        "seed": config.seed,
    }

    def prior_of(part: Dataset) -> LinearModel | None:
        return fit_logistic(part, config.seed) if config.linear_prior else None

    prior = prior_of(fit_part)
    dfit = _matrix(fit_part.x, fit_part.y, prior)
    val_has_both = 0 < int(val_part.y.sum()) < val_part.y.size
    evals = [(_matrix(val_part.x, val_part.y, prior), "validation")]
    depths = config.depth_candidates if val_has_both and config.depth_candidates else ()
    best_auc = -1.0
    booster: xgb.Booster | None = None
    best = 0
    for depth in depths or (config.max_depth,):
        trial_params = {**params, "max_depth": depth}
        trial = xgb.train(
            trial_params,
            dfit,
            num_boost_round=config.max_rounds if val_has_both else 200,
            evals=evals if val_has_both else [],
            early_stopping_rounds=config.early_stopping_rounds if val_has_both else None,
            verbose_eval=False,
        )
        auc = float(trial.best_score) if val_has_both else 0.0
        if booster is None or auc > best_auc:
            best_auc, booster, params = auc, trial, trial_params
            best = int(trial.best_iteration) if val_has_both else trial.num_boosted_rounds() - 1
    if booster is None:  # pragma: no cover - the loop always runs at least once
        raise TrainingDataError("no model could be trained")
    booster = booster[: best + 1]
    raw_val = raw_probability(booster, prior, val_part.x)
    if config.calibration == "auto":
        calibrator, scores = choose_calibrator(raw_val, val_part.y, seed=config.seed)
    else:
        calibrator, scores = fit_calibrator(config.calibration, raw_val, val_part.y), {}
    if config.refit:
        # The validation fold is the most recent history under a time split: once it has
        # chosen the number of rounds, learn from it too (calibration keeps its fold).
        spw = _positive_weight(train.y)
        params["scale_pos_weight"] = spw
        prior = prior_of(train)
        full = _matrix(train.x, train.y, prior)
        booster = xgb.train(params, full, num_boost_round=best + 1, verbose_eval=False)
    return FittedBooster(
        booster=booster,
        prior=prior,
        calibrator=calibrator,
        calibration_scores=scores,
        best_iteration=best,
        scale_pos_weight=spw,
        params=params,
    )


def _top_features(
    fitted: FittedBooster, train: Dataset, k: int = 10, sample: int = 5000
) -> tuple[FeatureImportance, ...]:
    """Source columns ranked by their share of the mean absolute contribution."""
    rows = np.random.default_rng(0).permutation(train.n_rows)[:sample]
    contribs = contributions(fitted.booster, fitted.prior, train.x[rows])
    unique, summed = group_sums(contribs, train.groups)
    by_group = dict(zip(unique, np.abs(summed).mean(axis=0).tolist(), strict=True))
    total = sum(by_group.values()) or 1.0
    ranked = sorted(by_group.items(), key=lambda item: -item[1])[:k]
    return tuple(FeatureImportance(feature=g, share=v / total) for g, v in ranked)


def _as_datetime(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def train_dataset(
    train: Dataset,
    test: Dataset,
    *,
    split: Literal["time", "stratified"],
    config: TrainConfig | None = None,
    kind: Literal["tabular", "activity"] = "tabular",
    encoder: TabularEncoder | None = None,
    feature_set_version: str | None = None,
    name: str = "default",
    target: str | None = None,
    positive: str | None = None,
    excluded: tuple[str, ...] = (),
    dropped: dict[str, str] | None = None,
    warnings: tuple[str, ...] = (),
) -> TrainedModel:
    """Train on `train`, evaluate on `test` beside the logistic baseline, build the card."""
    cfg = config or TrainConfig()
    train.check_trainable()
    if train.n_rows < cfg.min_rows:
        raise TrainingDataError(
            f"only {train.n_rows} training rows; at least {cfg.min_rows} are needed"
        )
    fitted = fit_booster(train, cfg)
    raw_test = raw_probability(fitted.booster, fitted.prior, test.x)
    p_test = fitted.calibrator.apply(raw_test)
    baseline = fit_logistic(train, cfg.seed)
    report = evaluate(
        test.y,
        p_test,
        p_uncalibrated=raw_test,
        p_logistic=baseline.predict(test.x),
        rules_score=test.rules_score,
        tiers=cfg.tiers,
    )
    times = [t for t in (train.time, test.time) if t is not None]
    card = ModelCard(
        name=name,
        kind=kind,
        feature_names=train.feature_names,
        groups=train.groups,
        feature_set_version=feature_set_version,
        encoder=encoder,
        prior=fitted.prior,
        calibrator=fitted.calibrator,
        calibration_scores=fitted.calibration_scores,
        params=fitted.params,
        best_iteration=fitted.best_iteration,
        scale_pos_weight=fitted.scale_pos_weight,
        data_hash=train.fingerprint(),
        n_train=train.n_rows,
        n_test=test.n_rows,
        positive_rate=float(np.concatenate([train.y, test.y]).mean()),
        split=split,
        target=target,
        positive=positive,
        excluded=excluded,
        dropped=dropped or {},
        top_features=_top_features(fitted, train),
        report=report,
        drift_reference=DriftReference.from_matrix(train.x, train.feature_names),
        warnings=warnings,
        trained_at=datetime.now(UTC),
        data_from=_as_datetime(min(float(t.min()) for t in times)) if times else None,
        data_to=_as_datetime(max(float(t.max()) for t in times)) if times else None,
    )
    return TrainedModel(fitted.booster, card)
