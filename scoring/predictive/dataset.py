"""The design matrix every trainer consumes, whichever source it was built from.

A CSV export (`tabular`) and a CRM's history (`history`) both end up as a `Dataset`:
a float32 matrix with NaN for missing values, binary labels, the feature names, the
source column (*group*) each feature came from (so explanations can speak in CRM
terms), and optionally an event time per row (which switches the split to
time-ordered). Invalid input raises `TrainingDataError` with one readable line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from leadbridge.core.errors import ScoringError

__all__ = ["Dataset", "TrainingDataError"]


class TrainingDataError(ScoringError):
    """The training input cannot produce a model (no target, one class, bad file...)."""


@dataclass(frozen=True)
class Dataset:
    """Rows ready for training: features, labels, names, groups and optional times."""

    x: NDArray[np.float32]
    y: NDArray[np.int8]
    feature_names: tuple[str, ...]
    groups: tuple[str, ...]
    time: NDArray[np.float64] | None = None
    rules_score: NDArray[np.float64] | None = None

    def __post_init__(self) -> None:
        """Check the shapes agree."""
        n = self.x.shape[0]
        if self.x.ndim != 2 or self.x.shape[1] != len(self.feature_names):
            raise TrainingDataError("feature matrix and feature names disagree")
        if len(self.groups) != len(self.feature_names):
            raise TrainingDataError("every feature needs a source group")
        if self.y.shape != (n,):
            raise TrainingDataError("labels and rows disagree")
        if self.time is not None and self.time.shape != (n,):
            raise TrainingDataError("times and rows disagree")
        if self.rules_score is not None and self.rules_score.shape != (n,):
            raise TrainingDataError("rules scores and rows disagree")
        if n == 0:
            raise TrainingDataError("no rows to train on")

    def check_trainable(self) -> None:
        """Fail with one line unless there are features and both classes."""
        n = self.n_rows
        if self.x.shape[1] == 0:
            raise TrainingDataError("no usable feature columns left after exclusions")
        positives = int(self.y.sum())
        if positives == 0 or positives == n:
            only = "positive" if positives == n else "negative"
            raise TrainingDataError(
                f"the target has a single class (all {n} rows are {only}); need both"
            )

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.x.shape[0])

    def fingerprint(self) -> str:
        """A sha256 over features and labels: the model card's training-data hash."""
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.x).tobytes())
        digest.update(np.ascontiguousarray(self.y).tobytes())
        digest.update("\x1f".join(self.feature_names).encode())
        return digest.hexdigest()

    def subset(self, index: NDArray[np.int64]) -> Dataset:
        """The rows at `index`, same columns."""
        return Dataset(
            x=self.x[index],
            y=self.y[index],
            feature_names=self.feature_names,
            groups=self.groups,
            time=None if self.time is None else self.time[index],
            rules_score=None if self.rules_score is None else self.rules_score[index],
        )
