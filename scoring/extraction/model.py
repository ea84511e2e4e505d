"""Model: two multinomial logistic-regression heads over hashed context features.

Why a linear model and not a fine-tuned BERT (seed 001's suggestion): the rules
already find and normalise every candidate, so the model only has to pick a role from
a dozen context words, a task where a linear model over word features is accurate,
trains in seconds from the synthetic corpus, runs at thousands of messages a second
on one core, needs no GPU and no download, and ships as a small file. Its softmax
output is a probability, which is what the 0.85 "to verify" threshold needs.

Two heads share the feature space: the *amount* head labels each amount with one of
`AMOUNT_ROLES`, the *mention* head says whether a keyword or month hit is about the
lead's project (`MENTION_ROLES`). Weights are stored in a compressed ``.npz`` (numpy
arrays only, loaded with ``allow_pickle=False``: a model file cannot run code), only
for the slots seen in training.

    >>> model = LinearModel.load(DEFAULT_MODEL_PATH)
    >>> model.amount.classes[1]
    'requested_amount'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from leadbridge.core.errors import ConfigError
from leadbridge.scoring.extraction.features import DIM

__all__ = ["DEFAULT_MODEL_PATH", "LinearHead", "LinearModel"]

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "data" / "model.npz"
"""The model shipped in the package; `leadbridge extract train` rebuilds it."""

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class LinearHead:
    """A softmax classifier: dense weights over the hashed space plus a bias per class."""

    classes: tuple[str, ...]
    weights: FloatArray
    bias: FloatArray

    def proba(self, slots: Sequence[int]) -> FloatArray:
        """Class probabilities for one example given its hashed feature slots."""
        scores = self.bias + self.weights[list(slots)].sum(axis=0) if slots else self.bias.copy()
        scores = scores - scores.max()
        exp = np.exp(scores)
        result: FloatArray = (exp / exp.sum()).astype(np.float32)
        return result

    def to_arrays(self, prefix: str) -> dict[str, npt.NDArray[np.generic]]:
        """The head as sparse arrays for `np.savez_compressed`."""
        used = np.flatnonzero(np.abs(self.weights).sum(axis=1) > 1e-6).astype(np.int32)
        return {
            f"{prefix}_slots": used,
            f"{prefix}_weights": self.weights[used].astype(np.float32),
            f"{prefix}_bias": self.bias.astype(np.float32),
        }

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, npt.NDArray[np.generic]], prefix: str, classes: Sequence[str]
    ) -> LinearHead:
        """Rebuild a head from the arrays written by `to_arrays`."""
        slots = arrays[f"{prefix}_slots"].astype(np.int64)
        sparse = arrays[f"{prefix}_weights"].astype(np.float32)
        weights = np.zeros((DIM, len(classes)), dtype=np.float32)
        weights[slots] = sparse
        return cls(
            classes=tuple(classes),
            weights=weights,
            bias=arrays[f"{prefix}_bias"].astype(np.float32),
        )


@dataclass(frozen=True)
class LinearModel:
    """The amount and mention heads, with the metadata of the run that trained them."""

    amount: LinearHead
    mention: LinearHead
    meta: dict[str, object]

    def save(self, path: Path) -> None:
        """Write the model as a compressed npz (no pickles)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = dict(self.meta)
        meta["amount_classes"] = list(self.amount.classes)
        meta["mention_classes"] = list(self.mention.classes)
        meta["dim"] = DIM
        arrays = {**self.amount.to_arrays("amount"), **self.mention.to_arrays("mention")}
        arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
        with path.open("wb") as handle:
            np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> LinearModel:
        """Read a model written by `save`; a missing or foreign file is a ConfigError."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read extraction model: {exc}", file=str(path)) from exc
        try:
            meta = json.loads(arrays["meta"].tobytes().decode())
            if meta.get("dim") != DIM:
                raise ConfigError("model was trained for another feature size", file=str(path))
            return cls(
                amount=LinearHead.from_arrays(arrays, "amount", meta["amount_classes"]),
                mention=LinearHead.from_arrays(arrays, "mention", meta["mention_classes"]),
                meta=meta,
            )
        except KeyError as exc:
            raise ConfigError(f"not an extraction model (missing {exc})", file=str(path)) from exc
