"""A logistic regression stored as plain numbers: the baseline, and the prior trees boost from.

Lead data is often small and mostly additive (Olist's 8,000 MQLs carry two categorical
fields). Trees alone then chase noise in a validation fold, while a regularised logistic
regression captures the main effects well. So by default the booster starts from this
model's log-odds (XGBoost's ``base_margin``) and the trees only add the interactions and
non-linearities that early stopping on the validation fold says are real: at worst the
model is the linear baseline plus a few trees, at best the trees earn their keep.

The same class is the evaluation baseline every report prints. It is fully described by
its coefficients and preprocessing constants, so it lives in the JSON model card (never a
pickle), and its per-feature terms add exactly to XGBoost's ``pred_contribs``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict
from sklearn.linear_model import LogisticRegression

__all__ = ["LinearModel", "fit_linear"]

_BLOCK_ROWS = 8192


class LinearModel(BaseModel):
    """Median imputation, signed log squash, standardisation, then logistic regression.

    Columns with missing values in training also get a missing indicator; its term is
    credited to the same feature in `contributions`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    medians: tuple[float, ...]
    missing_columns: tuple[int, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def _design(self, x: NDArray[np.float32]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        return _design(x, np.asarray(self.medians), np.asarray(self.missing_columns, np.int64))

    def _terms(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        squashed, missing = self._design(x)
        design = np.hstack([squashed, missing])
        standard = (design - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(standard * np.asarray(self.coef), dtype=np.float64)

    def margin(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        """Log-odds of the positive class.

        Done in cache-sized row blocks: at a million leads, allocating full-size
        temporaries costs more than the arithmetic. Centred before the product (not
        folded into the intercept) so it adds up exactly like `contributions`.
        """
        mean, scale, coef = (np.asarray(v) for v in (self.mean, self.scale, self.coef))
        width = x.shape[1]
        out = np.empty(x.shape[0], dtype=np.float64)
        for lo in range(0, x.shape[0], _BLOCK_ROWS):
            squashed, missing = self._design(x[lo : lo + _BLOCK_ROWS])
            squashed -= mean[:width]
            squashed /= scale[:width]
            missing -= mean[width:]
            missing /= scale[width:]
            out[lo : lo + _BLOCK_ROWS] = squashed @ coef[:width] + missing @ coef[width:]
        out += self.intercept
        return out

    def predict(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        """Probability of the positive class."""
        margin = np.clip(self.margin(x), -500.0, 500.0)
        return np.asarray(1.0 / (1.0 + np.exp(-margin)), dtype=np.float64)

    def contributions(self, x: NDArray[np.float32]) -> NDArray[np.float64]:
        """Per-feature log-odds terms (n × features); with `intercept` they sum to `margin`."""
        terms = self._terms(x)
        width = x.shape[1]
        out = terms[:, :width].copy()
        columns = np.asarray(self.missing_columns, dtype=np.int64)
        out[:, columns] += terms[:, width:]
        return out


def _design(
    x: NDArray[np.float32], medians: NDArray[np.float64], missing_columns: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Squashed, imputed features and the missing indicators (before standardising)."""
    filled = x.astype(np.float64)
    gaps = np.isnan(filled)
    missing = gaps[:, missing_columns].astype(np.float64)
    np.copyto(filled, np.broadcast_to(medians, filled.shape), where=gaps)
    sign = np.sign(filled)
    np.abs(filled, out=filled)
    np.log1p(filled, out=filled)
    filled *= sign
    return filled, missing


def fit_linear(
    x: NDArray[np.float32], y: NDArray[np.integer], *, seed: int = 42, positive_weight: float = 1.0
) -> LinearModel:
    """Fit an L2 logistic regression (C = 1); `positive_weight` mirrors ``scale_pos_weight``."""
    raw = x.astype(np.float64)
    all_missing = np.isnan(raw).all(axis=0)
    with np.errstate(all="ignore"):
        medians = np.nan_to_num(np.nanmedian(np.where(all_missing, 0.0, raw), axis=0))
    columns = np.flatnonzero(np.isnan(raw).any(axis=0)).astype(np.int64)
    design = np.hstack(_design(x, medians, columns))
    mean = design.mean(axis=0)
    std = design.std(axis=0)
    scale = np.where(std > 0, std, 1.0)
    labels = np.asarray(y, dtype=np.int64)
    weights = np.where(labels == 1, positive_weight, 1.0)
    model = LogisticRegression(C=1.0, max_iter=3000, random_state=seed)
    model.fit((design - mean) / scale, labels, sample_weight=weights)
    return LinearModel(
        medians=tuple(float(v) for v in medians),
        missing_columns=tuple(int(c) for c in columns),
        mean=tuple(float(v) for v in mean),
        scale=tuple(float(v) for v in scale),
        coef=tuple(float(v) for v in model.coef_[0]),
        intercept=float(model.intercept_[0]),
    )
