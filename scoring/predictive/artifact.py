"""A trained model as it is stored and shipped: XGBoost UBJ bytes plus a JSON model card.

Nothing is pickled. The booster is saved in XGBoost's own UBJSON format (or JSON), and
everything needed to turn raw input into a calibrated probability -- the feature list,
the CSV encoder or activity feature-set version, the calibration map -- lives in the
`ModelCard`, a pydantic model written as JSON. The card also records the training
data hash, metrics, dates and warnings, so a registry row explains itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import xgboost as xgb
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from leadbridge.core.errors import ScoringError
from leadbridge.core.models import AwareDatetime
from leadbridge.scoring.predictive.calibration import Calibrator
from leadbridge.scoring.predictive.drift import DriftReference
from leadbridge.scoring.predictive.evaluation import EvaluationReport
from leadbridge.scoring.predictive.linear import LinearModel
from leadbridge.scoring.predictive.tabular import TabularEncoder

__all__ = [
    "CARD_FILE",
    "MODEL_FILE",
    "FeatureImportance",
    "ModelCard",
    "TrainedModel",
    "card_metrics",
    "contributions",
    "group_sums",
    "raw_probability",
]

MODEL_FILE = "model.ubj"
CARD_FILE = "card.json"


class FeatureImportance(BaseModel):
    """A source column (or feature group) and its share of the mean absolute contribution.

    Contributions rather than tree gain, so the linear prior's part counts too.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    feature: str
    share: float


def raw_probability(
    booster: xgb.Booster, prior: LinearModel | None, x: NDArray[np.float32]
) -> NDArray[np.float64]:
    """Uncalibrated probability: the trees boosted from the prior's log-odds, if any."""
    margin = None if prior is None else prior.margin(x)
    return np.asarray(booster.inplace_predict(x, base_margin=margin), dtype=np.float64)


def contributions(
    booster: xgb.Booster, prior: LinearModel | None, x: NDArray[np.float32]
) -> NDArray[np.float32]:
    """Per-feature log-odds contributions, last column = bias; rows sum to the margin.

    XGBoost's exact TreeSHAP values for the trees, plus the prior's own linear terms
    per feature and its intercept in the bias.
    """
    if prior is None:
        matrix = xgb.DMatrix(x, missing=np.nan)
        return np.asarray(booster.predict(matrix, pred_contribs=True), dtype=np.float32)
    base = np.full(x.shape[0], prior.intercept, dtype=np.float64)
    matrix = xgb.DMatrix(x, missing=np.nan, base_margin=base)
    out = np.asarray(booster.predict(matrix, pred_contribs=True), dtype=np.float64)
    out[:, :-1] += prior.contributions(x)
    return out.astype(np.float32)


def group_sums(
    contribs: NDArray[np.float32], groups: tuple[str, ...]
) -> tuple[list[str], NDArray[np.float64]]:
    """Contributions (without the bias column) summed per source group, groups in order."""
    unique = list(dict.fromkeys(groups))
    index = {g: i for i, g in enumerate(unique)}
    member = np.array([index[g] for g in groups], dtype=np.int64)
    summed = np.zeros((contribs.shape[0], len(unique)), dtype=np.float64)
    np.add.at(summed.T, member, contribs[:, : len(groups)].T.astype(np.float64))
    return unique, summed


class ModelCard(BaseModel):
    """Everything about a model except its trees: inputs, calibration, metrics, dates."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "default"
    version: str = ""
    kind: Literal["tabular", "activity"]
    feature_names: tuple[str, ...]
    groups: tuple[str, ...]
    feature_set_version: str | None = None
    encoder: TabularEncoder | None = None
    prior: LinearModel | None = None
    calibrator: Calibrator
    calibration_scores: dict[str, float] = Field(default_factory=dict)
    params: dict[str, float | int | str] = Field(default_factory=dict)
    best_iteration: int
    scale_pos_weight: float
    data_hash: str
    n_train: int
    n_test: int
    positive_rate: float
    split: Literal["time", "stratified"]
    target: str | None = None
    positive: str | None = None
    excluded: tuple[str, ...] = ()
    dropped: dict[str, str] = Field(default_factory=dict)
    top_features: tuple[FeatureImportance, ...] = ()
    report: EvaluationReport
    drift_reference: DriftReference | None = None
    warnings: tuple[str, ...] = ()
    trained_at: AwareDatetime
    data_from: AwareDatetime | None = None
    data_to: AwareDatetime | None = None

    def summary(self) -> dict[str, Any]:
        """The headline figures `--json` prints (the issue's required keys first)."""
        report = self.report
        return {
            "roc_auc": report.model.roc_auc,
            "pr_auc": report.model.pr_auc,
            "brier": report.model.brier,
            "brier_uncalibrated": None
            if report.uncalibrated is None
            else report.uncalibrated.brier,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "positive_rate": self.positive_rate,
            "split": self.split,
            "calibration": self.calibrator.method,
            "scale_pos_weight": self.scale_pos_weight,
            "best_iteration": self.best_iteration,
            "top_features": [f.model_dump() for f in self.top_features],
            "logistic_baseline": None if report.logistic is None else report.logistic.model_dump(),
            "rules": None if report.rules is None else report.rules.model_dump(),
            "hot_false_positive_share": report.hot_false_positive_share,
            "warnings": list(self.warnings),
        }


class TrainedModel:
    """A booster and its card; predicts calibrated probabilities from a feature matrix."""

    def __init__(self, booster: xgb.Booster, card: ModelCard) -> None:
        """Wrap a booster (already cut at its best iteration) and its card."""
        self.booster = booster
        self.card = card

    def predict_raw(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        """Uncalibrated probabilities (inflated by scale_pos_weight; calibration undoes it)."""
        if x.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        self._check_width(x)
        return raw_probability(self.booster, self.card.prior, x)

    def predict(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        """Calibrated probabilities of conversion."""
        return self.card.calibrator.apply(self.predict_raw(x))

    def contributions(self, x: NDArray[np.float32]) -> NDArray[np.float32]:
        """Per-feature contributions (log-odds), last column = bias (see `contributions`)."""
        self._check_width(x)
        return contributions(self.booster, self.card.prior, x)

    def _check_width(self, x: NDArray[np.float32]) -> None:
        if x.ndim != 2 or x.shape[1] != len(self.card.feature_names):
            raise ScoringError(
                f"model expects {len(self.card.feature_names)} features, got {x.shape[-1]}"
            )

    def model_bytes(self, fmt: Literal["ubj", "json"] = "ubj") -> bytes:
        """The booster in XGBoost's own UBJSON (default) or JSON format."""
        return bytes(self.booster.save_raw(raw_format=fmt))

    @classmethod
    def from_bytes(cls, model: bytes, card_json: str | bytes) -> TrainedModel:
        """Rebuild from stored booster bytes (UBJ or JSON) and card JSON."""
        booster = xgb.Booster()
        booster.load_model(bytearray(model))
        return cls(booster, ModelCard.model_validate_json(card_json))

    def save(self, directory: str | Path) -> Path:
        """Write ``model.ubj`` and ``card.json`` into `directory` (created if needed)."""
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        (target / MODEL_FILE).write_bytes(self.model_bytes("ubj"))
        (target / CARD_FILE).write_text(self.card.model_dump_json(indent=2), encoding="utf-8")
        return target

    @classmethod
    def load(cls, directory: str | Path) -> TrainedModel:
        """Read a directory written by `save`."""
        source = Path(directory)
        try:
            model = (source / MODEL_FILE).read_bytes()
            card = (source / CARD_FILE).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScoringError(f"{source}: no saved model ({exc.strerror})") from None
        return cls.from_bytes(model, card)

    @property
    def version(self) -> str:
        """The registry version, or a data-hash prefix before registration."""
        return self.card.version or f"unregistered-{self.card.data_hash[:12]}"

    def with_card(self, **changes: Any) -> TrainedModel:
        """A copy with some card fields replaced (e.g. the registry name)."""
        return TrainedModel(self.booster, self.card.model_copy(update=changes))


def card_metrics(card: ModelCard) -> dict[str, float]:
    """Flat numeric metrics for a registry row."""
    out: dict[str, float] = {}
    for key, value in card.summary().items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = float(value)
    return out
