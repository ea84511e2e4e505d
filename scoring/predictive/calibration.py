"""Probability calibration: turn a boosted model's raw scores into honest probabilities.

`scale_pos_weight` deliberately inflates the positive class during training, so raw
XGBoost outputs over-state the chance of conversion. A calibration map learned on the
validation fold corrects that. Three candidates are compared on the validation fold
with two-fold cross-fitting (so isotonic regression cannot win by memorising the fold):
the identity, Platt scaling (a logistic curve on the log-odds) and isotonic regression.
Maps are stored as plain JSON (Platt ``a, b`` or isotonic thresholds), never pickled.

Every map is strictly increasing, so calibration never reorders leads: isotonic
regression's flat steps would tie leads the model ranks apart (sales teams sort by
score), so a millionth of the raw probability is added back to break those ties.

    >>> cal = Calibrator(method="platt", a=1.0, b=0.0)
    >>> round(float(cal.apply(np.array([0.5]))[0]), 3)
    0.5
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

__all__ = ["CalibrationMethod", "Calibrator", "choose_calibrator", "fit_calibrator"]

CalibrationMethod = Literal["none", "platt", "isotonic"]
_EPS = 1e-6
_TIE_BREAK = 1e-6


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    clipped = np.clip(p, _EPS, 1.0 - _EPS)
    return np.asarray(np.log(clipped / (1.0 - clipped)), dtype=np.float64)


class Calibrator(BaseModel):
    """A fitted calibration map, JSON-serialisable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: CalibrationMethod
    a: float = 1.0
    b: float = 0.0
    x_thresholds: tuple[float, ...] = ()
    y_thresholds: tuple[float, ...] = ()

    def apply(self, raw: NDArray[np.floating]) -> NDArray[np.float64]:
        """Map raw model probabilities to calibrated probabilities."""
        p = np.asarray(raw, dtype=np.float64)
        if self.method == "none":
            return p
        if self.method == "platt":
            z = self.a * _logit(p) + self.b
            return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)
        xs = np.asarray(self.x_thresholds, dtype=np.float64)
        ys = np.asarray(self.y_thresholds, dtype=np.float64)
        stepped = np.interp(p, xs, ys)
        return np.asarray((1.0 - _TIE_BREAK) * stepped + _TIE_BREAK * p, dtype=np.float64)


def fit_calibrator(
    method: CalibrationMethod, raw: NDArray[np.floating], y: NDArray[np.integer]
) -> Calibrator:
    """Fit one calibration map of the given kind on (raw probability, label) pairs."""
    p = np.asarray(raw, dtype=np.float64)
    labels = np.asarray(y, dtype=np.int64)
    if method == "none" or np.unique(labels).size < 2:
        return Calibrator(method="none")
    if method == "platt":
        lr = LogisticRegression(C=1e6, max_iter=1000)
        lr.fit(_logit(p).reshape(-1, 1), labels)
        return Calibrator(method="platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
    iso.fit(p, labels)
    return Calibrator(
        method="isotonic",
        x_thresholds=tuple(float(v) for v in iso.X_thresholds_),
        y_thresholds=tuple(float(v) for v in iso.y_thresholds_),
    )


def _brier(p: NDArray[np.float64], y: NDArray[np.int64]) -> float:
    return float(np.mean((p - y) ** 2))


def choose_calibrator(
    raw: NDArray[np.floating], y: NDArray[np.integer], *, seed: int = 42
) -> tuple[Calibrator, dict[str, float]]:
    """Pick the method with the lowest cross-fitted Brier score, then refit it on all rows.

    Returns the chosen calibrator and the cross-fitted Brier score of every candidate.
    """
    p = np.asarray(raw, dtype=np.float64)
    labels = np.asarray(y, dtype=np.int64)
    rng = np.random.default_rng(seed)
    fold = np.zeros(p.size, dtype=np.int64)
    for cls in (0, 1):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        fold[idx[1::2]] = 1
    methods: tuple[CalibrationMethod, ...] = ("none", "platt", "isotonic")
    scores: dict[str, float] = {}
    for method in methods:
        out = np.empty_like(p)
        for k in (0, 1):
            fit_mask = fold != k
            cal = fit_calibrator(method, p[fit_mask], labels[fit_mask])
            out[~fit_mask] = cal.apply(p[~fit_mask])
        scores[method] = _brier(out, labels)
    best: CalibrationMethod = "none"
    for method in methods[1:]:
        if scores[method] < scores[best] - 1e-9:
            best = method
    return fit_calibrator(best, p, labels), scores
