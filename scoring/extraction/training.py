"""Training: fit the two model heads on the synthetic corpus (plus human corrections).

Every generated message goes through `analyse` exactly as a real message would; each
candidate gets the label of the generated span it overlaps (or "other"), and two
scikit-learn logistic regressions are fitted on the hashed features. The weights are
exported to the numpy model file, so scikit-learn is needed to *train* only, never to
extract. The run is deterministic: same seed, same corpus, same corrections, same
weights (lbfgs has no randomness).

Human corrections (`corrections.py`) arrive as "field X of this message is V". They are
turned into candidate labels on that message (the candidate whose value is V gets the
role, the others for that field become "other", fields nobody corrected keep what the
current model predicted) and weighted up, so a few corrections move the model.

    >>> report = train(n=400, out=None)
    >>> report.amount_examples > 0
    True
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from leadbridge.core.errors import ConfigError
from leadbridge.scoring.extraction.analysis import Analysis, analyse
from leadbridge.scoring.extraction.candidates import AMOUNT_ROLES, MENTION_ROLES, Candidate
from leadbridge.scoring.extraction.corpus import Example, generate
from leadbridge.scoring.extraction.features import DIM
from leadbridge.scoring.extraction.language import detect_language
from leadbridge.scoring.extraction.model import DEFAULT_MODEL_PATH, LinearHead, LinearModel

__all__ = ["CorrectedMessage", "TrainReport", "train"]

DEFAULT_SIZE = 12000
DEFAULT_SEED = 1
_C = 0.5
_CORRECTION_WEIGHT = 5.0
_AMOUNT_FIELDS = ("requested_amount", "property_value", "down_payment")


@dataclass(frozen=True)
class CorrectedMessage:
    """A real message with the field values a human confirmed (None: field is absent)."""

    text: str
    lang: str | None
    sent_at: datetime
    values: dict[str, str | int | None]
    predicted: dict[str, str | int | float]


@dataclass(frozen=True)
class TrainReport:
    """What a training run used and produced."""

    messages: int
    corrections: int
    amount_examples: int
    mention_examples: int
    seconds: float
    path: Path | None
    model: LinearModel


@dataclass
class _Rows:
    slots: list[list[int]]
    labels: list[int]
    weights: list[float]

    def add(self, slots: list[int], label: int, weight: float = 1.0) -> None:
        self.slots.append(slots)
        self.labels.append(label)
        self.weights.append(weight)


def _overlaps(c: Candidate, start: int, end: int) -> bool:
    return c.start < end and start < c.end


def _label_generated(example: Example, analysis: Analysis, amounts: _Rows, mentions: _Rows) -> None:
    for cand, slots in zip(analysis.amounts, analysis.amount_slots, strict=True):
        label = "other"
        for span in example.spans:
            if span.field in AMOUNT_ROLES and _overlaps(cand, span.start, span.end):
                label = span.field
                break
        amounts.add(slots, AMOUNT_ROLES.index(label))
    for cand, slots in zip(analysis.mentions, analysis.mention_slots, strict=True):
        keep = any(
            span.field == cand.field
            and span.label == cand.label
            and _overlaps(cand, span.start, span.end)
            for span in example.spans
        )
        mentions.add(slots, int(keep))


def _amount_label(cand: Candidate, fix: CorrectedMessage) -> str:
    """Role of one amount candidate in a corrected message, or "" to leave it out."""
    if cand.kind == "percent":
        return "other" if not any(f in fix.values for f in _AMOUNT_FIELDS) else ""
    for name in _AMOUNT_FIELDS:
        corrected = fix.values.get(name)
        if corrected is not None and abs(float(str(corrected)) - cand.value) < 0.5:
            return name
    for name in _AMOUNT_FIELDS:
        predicted = fix.predicted.get(name)
        if predicted is None or abs(float(predicted) - cand.value) >= 0.5:
            continue
        return "other" if name in fix.values else name
    return "other"


def _label_corrected(fix: CorrectedMessage, amounts: _Rows, mentions: _Rows) -> None:
    lang = fix.lang or detect_language(fix.text)
    analysis = analyse(fix.text, lang, fix.sent_at)
    for cand, slots in zip(analysis.amounts, analysis.amount_slots, strict=True):
        label = _amount_label(cand, fix)
        if label:
            amounts.add(slots, AMOUNT_ROLES.index(label), _CORRECTION_WEIGHT)
    for cand, slots in zip(analysis.mentions, analysis.mention_slots, strict=True):
        field = cand.field or ""
        truth = fix.values[field] if field in fix.values else fix.predicted.get(field)
        mentions.add(slots, int(truth is not None and str(truth) == cand.label), _CORRECTION_WEIGHT)


def _fit(rows: _Rows, classes: Sequence[str]) -> LinearHead:
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]  # training only
    from sklearn.linear_model import LogisticRegression  # training-time only
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    columns = np.unique(np.fromiter((i for s in rows.slots for i in s), dtype=np.int64))
    position = {int(slot): k for k, slot in enumerate(columns)}
    indptr = np.cumsum([0, *(len(s) for s in rows.slots)])
    indices = np.fromiter(
        (position[i] for s in rows.slots for i in s), dtype=np.int64, count=int(indptr[-1])
    )
    matrix = csr_matrix(
        (np.ones(len(indices), dtype=np.float64), indices, indptr),
        shape=(len(rows.slots), len(columns)),
    )
    labels = np.asarray(rows.labels)
    missing = set(range(len(classes))) - set(labels.tolist())
    if missing:
        names = ", ".join(classes[i] for i in sorted(missing))
        raise ConfigError(f"training data has no example of: {names}")
    clf = LogisticRegression(C=_C, max_iter=500, tol=1e-4)
    with threadpool_limits(limits=1):  # BLAS threads only add contention on these sizes
        clf.fit(matrix, labels, sample_weight=np.asarray(rows.weights))
    coef = np.asarray(clf.coef_, dtype=np.float64)
    intercept = np.asarray(clf.intercept_, dtype=np.float64)
    if len(classes) == 2:  # binary: one weight vector for the positive class
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    weights = np.zeros((DIM, len(classes)), dtype=np.float32)
    weights[columns] = coef.T
    return LinearHead(classes=tuple(classes), weights=weights, bias=intercept.astype(np.float32))


def train(
    *,
    n: int = DEFAULT_SIZE,
    seed: int = DEFAULT_SEED,
    corrections: Iterable[CorrectedMessage] = (),
    out: Path | None = DEFAULT_MODEL_PATH,
) -> TrainReport:
    """Generate `n` messages with `seed`, add `corrections`, fit both heads, save to `out`."""
    began = time.perf_counter()
    amounts, mentions = _Rows([], [], []), _Rows([], [], [])
    for example in generate(n, seed=seed):
        _label_generated(
            example, analyse(example.text, example.lang, example.sent_at), amounts, mentions
        )
    fixes = list(corrections)
    for fix in fixes:
        _label_corrected(fix, amounts, mentions)
    model = LinearModel(
        amount=_fit(amounts, AMOUNT_ROLES),
        mention=_fit(mentions, MENTION_ROLES),
        meta={"generator_seed": seed, "messages": n, "corrections": len(fixes), "C": _C},
    )
    if out is not None:
        model.save(out)
    return TrainReport(
        messages=n,
        corrections=len(fixes),
        amount_examples=len(amounts.labels),
        mention_examples=len(mentions.labels),
        seconds=time.perf_counter() - began,
        path=out,
        model=model,
    )
