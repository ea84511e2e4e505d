"""Leak guards: keep fields that are only known *after* contact out of the model.

A model trained on what sales typed after calling a lead (its status, tags, a quality
rating, the call's duration) looks brilliant offline and is useless live, because at
scoring time those fields are empty. Two guards:

* a **deny-list** of field names filled after contact (plus "known-at-time" metadata
  for the common `Lead` fields), applied before training unless explicitly allowed;
* a **single-column check**: any column that alone ranks the target with ROC AUC above
  0.9 is named in a warning -- real buying signals are rarely that clean.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from sklearn.metrics import roc_auc_score

__all__ = [
    "LEAD_FIELD_TIMING",
    "FieldTiming",
    "deny_reason",
    "leak_warnings",
    "screen_columns",
    "single_column_auc",
]


class FieldTiming(StrEnum):
    """When a field's value becomes known relative to the first sales contact."""

    AT_CAPTURE = "at_capture"
    AFTER_CONTACT = "after_contact"


LEAD_FIELD_TIMING: Mapping[str, FieldTiming] = {
    "company_size": FieldTiming.AT_CAPTURE,
    "annual_revenue": FieldTiming.AT_CAPTURE,
    "seniority": FieldTiming.AT_CAPTURE,
    "job_title": FieldTiming.AT_CAPTURE,
    "industry": FieldTiming.AT_CAPTURE,
    "country": FieldTiming.AT_CAPTURE,
    "email": FieldTiming.AT_CAPTURE,
    "phone": FieldTiming.AT_CAPTURE,
    "company": FieldTiming.AT_CAPTURE,
    "consent": FieldTiming.AT_CAPTURE,
    "source": FieldTiming.AT_CAPTURE,
    "created_at": FieldTiming.AT_CAPTURE,
    "lifecycle_stage": FieldTiming.AFTER_CONTACT,
    "owner": FieldTiming.AFTER_CONTACT,
    "updated_at": FieldTiming.AFTER_CONTACT,
}
"""Which `Lead` fields the activity feature builder may use (only AT_CAPTURE ones)."""

_DENY: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), why)
    for pattern, why in (
        (r"^(lead |hs lead |crm )?status( .*)?$", "a CRM status is set by sales after contact"),
        (r"^(lead )?tags?$", "tags are added by sales after contact"),
        (r"^(lead )?(quality|rating|grade)( .*)?$", "quality ratings are entered after contact"),
        (r"^lead profile$", "the lead profile is assigned by sales after contact"),
        (r"^asymmetrique ", "activity/profile indices are assigned after contact"),
        (r"call (duration|length|outcome)", "calls happen after contact"),
        (r"^last (notable )?activity( .*)?$", "the latest activity can post-date conversion"),
        (r"^(lifecycle|deal|opportunity|pipeline) ?stage$", "the stage records the outcome"),
        (r"^(is )?(converted|won|closed|lost)( date| at| reason)?$", "records the outcome"),
        (r"^(close|won|lost|conversion) date$", "records the outcome"),
    )
)


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.casefold()).strip()


def deny_reason(column: str) -> str | None:
    """Why `column` is filled after contact, or None if it is not on the deny-list."""
    key = _normalise(column)
    return next((why for pattern, why in _DENY if pattern.search(key)), None)


def screen_columns(
    columns: Iterable[str], *, allow: Iterable[str] = ()
) -> tuple[list[str], dict[str, str]]:
    """Split columns into (kept, denied-with-reason); `allow` overrides the deny-list."""
    allowed = set(allow)
    kept: list[str] = []
    denied: dict[str, str] = {}
    for column in columns:
        why = None if column in allowed else deny_reason(column)
        if why is None:
            kept.append(column)
        else:
            denied[column] = why
    return kept, denied


def single_column_auc(values: NDArray[np.generic], y: NDArray[np.integer], seed: int = 42) -> float:
    """How well one column alone ranks the target, direction-free (0.5 = useless).

    Numeric columns are ranked by value (missing below everything); categorical ones by
    their level's conversion rate computed out of fold, so an id-like column cannot
    score by memorising rows.
    """
    labels = np.asarray(y, dtype=np.int64)
    if not 0 < int(labels.sum()) < labels.size:
        return 0.5
    if values.dtype != object:
        numbers = np.asarray(values, dtype=np.float64)
        finite = numbers[np.isfinite(numbers)]
        floor = float(finite.min()) - 1.0 if finite.size else 0.0
        score = np.where(np.isfinite(numbers), numbers, floor)
    else:
        tokens = ["\x00" if v is None else str(v) for v in values]
        fold = np.random.default_rng(seed).integers(0, 2, size=labels.size)
        score = np.empty(labels.size, dtype=np.float64)
        prior = float(labels.mean())
        for k in (0, 1):
            sums: Counter[str] = Counter()
            counts: Counter[str] = Counter()
            for i in np.flatnonzero(fold != k):
                sums[tokens[i]] += int(labels[i])
                counts[tokens[i]] += 1
            for i in np.flatnonzero(fold == k):
                token = tokens[i]
                score[i] = (sums[token] + prior) / (counts[token] + 1.0)
    auc = float(roc_auc_score(labels, score))
    return max(auc, 1.0 - auc)


def leak_warnings(
    columns: Mapping[str, NDArray[np.generic]], y: NDArray[np.integer], threshold: float = 0.9
) -> list[str]:
    """One warning per column that alone predicts the target with ROC AUC > `threshold`."""
    out: list[str] = []
    for name, values in columns.items():
        auc = single_column_auc(values, y)
        if auc > threshold:
            out.append(
                f"column {name!r} alone predicts the target (ROC AUC {auc:.3f} > {threshold}): "
                "check it is known before contact, or exclude it"
            )
    return out
