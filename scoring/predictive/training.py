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
from sklearn.linear_model import LogisticRegression

from leadbridge.scoring.predictive.artifact import FeatureImportance, ModelCard, TrainedModel
from leadbridge.scoring.predictive.blend import DEFAULT_TIERS, Tier
from leadbridge.scoring.predictive.calibration import (
    Calibrator,
    choose_calibrator,
    fit_calibrator,
)
from leadbridge.scoring.predictive.dataset import Dataset, TrainingDataError
from leadbridge.scoring.predictive.drift import DriftReference
from leadbridge.scoring.predictive.evaluation import evaluate
from leadbridge.scoring.predictive.tabular import TabularEncoder

__all__ = [
    "LogisticBaseline",
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


class LogisticBaseline:
    """Logistic regression on median-imputed, log-squashed, standardised features."""

    def __init__(self, x: NDArray[np.float32], y: NDArray[np.integer], seed: int) -> None:
        """Fit on the training rows."""
        raw = x.astype(np.float64)
        with np.errstate(all="ignore"):
            medians = np.nanmedian(np.where(np.isnan(raw).all(axis=0), 0.0, raw), axis=0)
        self._medians = np.nan_to_num(medians)
        self._missing_cols = np.flatnonzero(np.isnan(raw).any(axis=0))
        design = self._design(raw)
        self._mean = design.mean(axis=0)
        std = design.std(axis=0)
        self._std = np.where(std > 0, std, 1.0)
        self._model = LogisticRegression(C=1.0, max_iter=3000, random_state=seed)
        self._model.fit((design - self._mean) / self._std, np.asarray(y, dtype=np.int64))

    def _design(self, raw: NDArray[np.float64]) -> NDArray[np.float64]:
        missing = np.isnan(raw[:, self._missing_cols]).astype(np.float64)
        filled = np.where(np.isnan(raw), self._medians, raw)
        squashed = np.sign(filled) * np.log1p(np.abs(filled))
        return np.hstack([squashed, missing])

    def predict(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        """Probability of the positive class."""
        design = (self._design(x.astype(np.float64)) - self._mean) / self._std
        return np.asarray(self._model.predict_proba(design)[:, 1], dtype=np.float64)


def fit_logistic(train: Dataset, seed: int = 42) -> LogisticBaseline:
    """The baseline every report compares against."""
    return LogisticBaseline(train.x, train.y, seed)


@dataclass(frozen=True)
class FittedBooster:
    """A booster cut at its best round, with the calibration chosen on validation."""

    booster: xgb.Booster
    calibrator: Calibrator
    calibration_scores: dict[str, float]
    best_iteration: int
    scale_pos_weight: float
    params: dict[str, float | int | str]


def fit_booster(train: Dataset, config: TrainConfig) -> FittedBooster:
    """Fit with early stopping on a validation fold, then choose the calibration."""
    inner = split_rows(train.y, train.time, config.validation_fraction, config.seed + 1)
    fit_part, val_part = train.subset(inner.train), train.subset(inner.test)
    positives = float(fit_part.y.sum())
    negatives = float(fit_part.y.size) - positives
    if positives == 0 or negatives == 0:
        raise TrainingDataError(
            "the training rows before the validation fold hold a single class; "
            "need more history of both outcomes"
        )
    spw = negatives / positives
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
    dfit = xgb.DMatrix(fit_part.x, label=fit_part.y, missing=np.nan)
    val_has_both = 0 < int(val_part.y.sum()) < val_part.y.size
    evals = [(xgb.DMatrix(val_part.x, label=val_part.y, missing=np.nan), "validation")]
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
    raw_val = np.asarray(booster.inplace_predict(val_part.x), dtype=np.float64)
    if config.calibration == "auto":
        calibrator, scores = choose_calibrator(raw_val, val_part.y, seed=config.seed)
    else:
        calibrator, scores = fit_calibrator(config.calibration, raw_val, val_part.y), {}
    if config.refit:
        # The validation fold is the most recent history under a time split: once it has
        # chosen the number of rounds, learn from it too (calibration keeps its fold).
        spw = float((train.y == 0).sum()) / float(train.y.sum())
        params["scale_pos_weight"] = spw
        full = xgb.DMatrix(train.x, label=train.y, missing=np.nan)
        booster = xgb.train(params, full, num_boost_round=best + 1, verbose_eval=False)
    return FittedBooster(
        booster=booster,
        calibrator=calibrator,
        calibration_scores=scores,
        best_iteration=best,
        scale_pos_weight=spw,
        params=params,
    )


def _top_features(
    booster: xgb.Booster, groups: tuple[str, ...], k: int = 10
) -> tuple[FeatureImportance, ...]:
    """Source columns ranked by their share of the model's total gain."""
    gains = booster.get_score(importance_type="total_gain")
    by_group: dict[str, float] = {}
    for key, gain in gains.items():
        group = groups[int(key[1:])]
        value = sum(gain) if isinstance(gain, list) else gain
        by_group[group] = by_group.get(group, 0.0) + float(value)
    total = sum(by_group.values()) or 1.0
    ranked = sorted(by_group.items(), key=lambda item: -item[1])[:k]
    return tuple(FeatureImportance(feature=g, gain_share=v / total) for g, v in ranked)


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
    raw_test = np.asarray(fitted.booster.inplace_predict(test.x), dtype=np.float64)
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
        top_features=_top_features(fitted.booster, train.groups),
        report=report,
        drift_reference=DriftReference.from_matrix(train.x, train.feature_names),
        warnings=warnings,
        trained_at=datetime.now(UTC),
        data_from=_as_datetime(min(float(t.min()) for t in times)) if times else None,
        data_to=_as_datetime(max(float(t.max()) for t in times)) if times else None,
    )
    return TrainedModel(fitted.booster, card)
