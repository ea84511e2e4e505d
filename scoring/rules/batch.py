"""`BatchScores`: a whole batch's scores as arrays, and its per-lead breakdowns.

The vectorized kernel fills these arrays; turning a row back into a `Breakdown` (the
same structure the reference produces) is what lets tests compare both paths exactly
and lets `score_many` build ordinary `ScoreResult`s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from leadbridge.scoring.rules.breakdown import Breakdown, GroupCap, RuleHit

__all__ = ["BatchScores"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class BatchScores:
    """Scores of a batch as arrays (one row per lead), plus the fired rules as pairs.

    `pair_*` arrays list every (lead, rule) that fired, sorted by lead then rule;
    `pair_offsets[i]:pair_offsets[i+1]` are lead i's.
    """

    fit_raw: FloatArray
    fit: FloatArray
    disqualified_by: IntArray
    fit_matched: BoolArray
    pair_lead: IntArray
    pair_rule: IntArray
    pair_count: IntArray
    pair_raw: FloatArray
    pair_points: FloatArray
    pair_offsets: IntArray
    group_total: FloatArray
    group_capped: FloatArray
    positive: FloatArray
    inactive_periods: IntArray
    positive_after_decay: FloatArray
    negative: FloatArray
    intent: FloatArray
    total: FloatArray
    score: IntArray
    tier: IntArray
    stage: IntArray
    grade_letter: IntArray
    grade_digit: IntArray

    def __len__(self) -> int:
        return int(self.score.shape[0])

    def breakdowns(self) -> Iterator[Breakdown]:
        """Per-lead breakdowns, in lead order (for results and comparisons)."""
        matched = self.fit_matched.tolist()
        disq = self.disqualified_by.tolist()
        fit_raw = self.fit_raw.tolist()
        fit = self.fit.tolist()
        offsets = self.pair_offsets.tolist()
        p_rule = self.pair_rule.tolist()
        p_count = self.pair_count.tolist()
        p_raw = self.pair_raw.tolist()
        p_points = self.pair_points.tolist()
        capped_mask = self.group_total != self.group_capped
        cap_rows = np.flatnonzero(capped_mask.any(axis=1)).tolist()
        cap_of: dict[int, tuple[GroupCap, ...]] = {}
        for row in cap_rows:
            cap_of[row] = tuple(
                GroupCap(
                    group=int(g),
                    total=float(self.group_total[row, g]),
                    capped=float(self.group_capped[row, g]),
                )
                for g in np.flatnonzero(capped_mask[row])
            )
        columns = zip(
            self.positive.tolist(),
            self.inactive_periods.tolist(),
            self.positive_after_decay.tolist(),
            self.negative.tolist(),
            self.intent.tolist(),
            self.total.tolist(),
            self.score.tolist(),
            self.tier.tolist(),
            self.stage.tolist(),
            self.grade_letter.tolist(),
            self.grade_digit.tolist(),
            strict=True,
        )
        for i, (
            pos,
            periods,
            pos_after,
            neg,
            intent,
            total,
            score,
            tier,
            stage,
            gl,
            gd,
        ) in enumerate(columns):
            start, stop = offsets[i], offsets[i + 1]
            yield Breakdown(
                fit_matched=tuple(c for c, hit in enumerate(matched[i]) if hit),
                disqualified_by=disq[i],
                fit_raw=fit_raw[i],
                fit=fit[i],
                hits=tuple(
                    RuleHit(rule=p_rule[j], count=p_count[j], raw=p_raw[j], points=p_points[j])
                    for j in range(start, stop)
                ),
                caps=cap_of.get(i, ()),
                positive=pos,
                inactive_periods=periods,
                positive_after_decay=pos_after,
                negative=neg,
                intent=intent,
                total=total,
                score=score,
                tier=tier,
                stage=stage,
                grade="ABC"[gl] + "123"[gd],
            )
