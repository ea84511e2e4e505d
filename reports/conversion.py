"""Does the score predict sales? Conversion per tier, segment and decile; hot precision.

Every rate here is over *decided* leads (won, lost, or older than the maturity window
without converting): a lead created last week has not had the time to convert, and
counting it as a failure would make every recent campaign look bad. Lead counts and
average scores cover every scored lead.

Seed 003's definitions: precision of hot leads = share of decided hot leads that
converted; false-positive rate = share that never did (target below 30 %); false
negatives = conversions from leads scored cold, with the signals they had.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from leadbridge.reports.dataset import SEGMENTS, LeadTable

__all__ = [
    "DecileRow",
    "HotPrecision",
    "SegmentRow",
    "TierRow",
    "decile_table",
    "hot_precision",
    "ordered_tiers",
    "segment_table",
    "tier_table",
]


class _Row(BaseModel):
    model_config = ConfigDict(frozen=True)


class TierRow(_Row):
    """One tier: volume, score and how often its decided leads converted."""

    tier: str
    leads: int
    share: float
    avg_score: float
    min_score: int
    max_score: int
    decided: int
    won: int
    lost: int
    conversion_rate: float | None


class SegmentRow(_Row):
    """One value of one segment dimension (source, channel, language, region, owner)."""

    dimension: str
    value: str
    leads: int
    avg_score: float
    hot_share: float
    decided: int
    won: int
    conversion_rate: float | None


class DecileRow(_Row):
    """One tenth of the decided leads, best scores first, with lift and cumulative gain."""

    decile: int
    leads: int
    min_score: int
    max_score: int
    won: int
    conversion_rate: float | None
    lift: float | None
    cumulative_leads: float
    cumulative_gain: float | None


class HotPrecision(_Row):
    """Seed 003's headline: how many hot leads convert, and how many never do."""

    hot_tiers: tuple[str, ...]
    hot_leads: int
    decided: int
    won: int
    undecided: int
    precision: float | None
    false_positive_rate: float | None
    target: float
    meets_target: bool | None


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def ordered_tiers(table: LeadTable) -> list[str]:
    """Tier names from the lowest scores to the highest."""
    labels = table.tier.labels
    if not labels:
        return []
    counts = np.bincount(table.tier.codes, minlength=len(labels))
    sums = np.bincount(table.tier.codes, weights=table.score, minlength=len(labels))
    lows = [
        int(table.score[table.tier.codes == i].min()) if counts[i] else 0
        for i in range(len(labels))
    ]
    order = sorted(
        range(len(labels)),
        key=lambda i: (lows[i], float(sums[i]) / max(int(counts[i]), 1), labels[i]),
    )
    return [labels[i] for i in order if counts[i]]


def tier_table(table: LeadTable, decided: np.ndarray) -> list[TierRow]:
    """Leads, average score and conversion of every tier, coldest first."""
    rows: list[TierRow] = []
    total = len(table)
    won, lost = table.won, table.status == 3
    for name in ordered_tiers(table):
        mask = table.tier.codes == table.tier.labels.index(name)
        scores = table.score[mask]
        dec = decided & mask
        n_dec, n_won = int(dec.sum()), int((dec & won).sum())
        rows.append(
            TierRow(
                tier=name,
                leads=int(mask.sum()),
                share=float(mask.sum() / total),
                avg_score=float(scores.mean()),
                min_score=int(scores.min()),
                max_score=int(scores.max()),
                decided=n_dec,
                won=n_won,
                lost=int((dec & lost).sum()),
                conversion_rate=_rate(n_won, n_dec),
            )
        )
    return rows


def segment_table(
    table: LeadTable, decided: np.ndarray, hot: np.ndarray, *, top: int = 12
) -> list[SegmentRow]:
    """Per segment value (the `top` biggest of each dimension, the rest as ``(other)``).

    One `bincount` per figure and dimension: linear in the leads whatever the values.
    """
    rows: list[SegmentRow] = []
    won = decided & table.won
    for dimension in SEGMENTS:
        column = table.segments[dimension]
        k = len(column.labels)
        if not k:
            continue
        codes = column.codes

        def count(mask: np.ndarray | None, codes: np.ndarray = codes, k: int = k) -> np.ndarray:
            return np.bincount(codes if mask is None else codes[mask], minlength=k)

        leads, dec, wins, hots = count(None), count(decided), count(won), count(hot)
        sums = np.bincount(codes, weights=table.score, minlength=k)
        order = np.argsort(-leads, kind="stable")
        keep = [int(i) for i in order[:top] if leads[i]]
        groups: list[tuple[str, list[int]]] = [(column.labels[i], [i]) for i in keep]
        rest = [int(i) for i in order[top:] if leads[i]]
        if rest:
            groups.append(("(other)", rest))
        for value, members in groups:
            n = int(leads[members].sum())
            n_dec, n_won = int(dec[members].sum()), int(wins[members].sum())
            rows.append(
                SegmentRow(
                    dimension=dimension,
                    value=value,
                    leads=n,
                    avg_score=float(sums[members].sum() / n),
                    hot_share=float(hots[members].sum() / n),
                    decided=n_dec,
                    won=n_won,
                    conversion_rate=_rate(n_won, n_dec),
                )
            )
    return rows


def decile_table(table: LeadTable, decided: np.ndarray) -> list[DecileRow]:
    """Decided leads in ten equal groups by score (ties keep store order): lift, gains."""
    scores = table.score[decided]
    won = table.won[decided]
    n = int(scores.size)
    if n < 10:
        return []
    order = np.argsort(-scores, kind="stable")
    total_won = int(won.sum())
    base = total_won / n
    rows: list[DecileRow] = []
    seen = captured = 0
    for d, chunk in enumerate(np.array_split(order, 10), start=1):
        part_won = int(won[chunk].sum())
        seen += int(chunk.size)
        captured += part_won
        rate = part_won / chunk.size
        rows.append(
            DecileRow(
                decile=d,
                leads=int(chunk.size),
                min_score=int(scores[chunk].min()),
                max_score=int(scores[chunk].max()),
                won=part_won,
                conversion_rate=rate,
                lift=rate / base if base else None,
                cumulative_leads=seen / n,
                cumulative_gain=captured / total_won if total_won else None,
            )
        )
    return rows


def hot_precision(
    table: LeadTable,
    decided: np.ndarray,
    hot: np.ndarray,
    hot_tiers: tuple[str, ...],
    target: float,
) -> HotPrecision:
    """Precision and false-positive rate of the hot tiers over their decided leads."""
    dec = decided & hot
    n_dec, n_won = int(dec.sum()), int((dec & table.won).sum())
    precision = _rate(n_won, n_dec)
    fpr = None if precision is None else (n_dec - n_won) / n_dec
    return HotPrecision(
        hot_tiers=hot_tiers,
        hot_leads=int(hot.sum()),
        decided=n_dec,
        won=n_won,
        undecided=int((hot & ~decided).sum()),
        precision=precision,
        false_positive_rate=fpr,
        target=target,
        meets_target=None if fpr is None else fpr < target,
    )
