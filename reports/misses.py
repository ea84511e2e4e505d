"""False negatives: conversions the score called cold, and the signals they carried.

Seed 003: "conversions from leads scored cold reveal signals the model misses". For each
activity kind we compare how many missed conversions showed it with how many cold leads
that did *not* convert showed it; a kind far more common among the misses (high lift)
is a signal the scoring under-weights. Both groups are sampled (deterministically) to at
most `SAMPLE` leads, so the cost stays flat for a million-lead store.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime

import numpy as np
import orjson
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from leadbridge.core.errors import StateError
from leadbridge.reports.dataset import LeadTable
from leadbridge.sync.state import StateStore, activities, score_history

__all__ = ["FalseNegatives", "MissedLead", "SignalRow", "false_negatives"]

SAMPLE = 5000
EXAMPLES = 15


class MissedLead(BaseModel):
    """One conversion the score called cold."""

    model_config = ConfigDict(frozen=True)

    connection: str
    lead_key: str
    score: int
    tier: str
    won_at: datetime | None
    reasons: tuple[str, ...]
    signals: tuple[str, ...]


class SignalRow(BaseModel):
    """An activity kind: its share among missed conversions vs cold non-converters."""

    model_config = ConfigDict(frozen=True)

    kind: str
    missed_share: float
    cold_lost_share: float
    lift: float | None


class FalseNegatives(BaseModel):
    """Conversions from cold leads: how many, which, and what they had in common."""

    model_config = ConfigDict(frozen=True)

    cold_tiers: tuple[str, ...]
    conversions: int
    missed: int
    miss_rate: float | None
    cold_decided: int
    examples: tuple[MissedLead, ...]
    signals: tuple[SignalRow, ...]


def _sample(indices: np.ndarray, size: int) -> np.ndarray:
    if indices.size <= size:
        return indices
    return np.sort(np.random.default_rng(0).choice(indices, size=size, replace=False))


def _kinds(store: StateStore, table: LeadTable, rows: Iterable[int]) -> dict[int, set[str]]:
    """Distinct activity kinds of the given lead rows."""
    by_conn: dict[str, dict[str, int]] = defaultdict(dict)
    for i in rows:
        by_conn[table.connection.labels[table.connection.codes[i]]][str(table.keys[i])] = i
    found: dict[int, set[str]] = defaultdict(set)
    a = activities
    with store.engine.connect() as conn:
        for connection, keys in by_conn.items():
            names = list(keys)
            for start in range(0, len(names), 500):
                query = (
                    sa.select(a.c.lead_key, a.c.kind)
                    .where(
                        a.c.connection == connection, a.c.lead_key.in_(names[start : start + 500])
                    )
                    .distinct()
                )
                for key, kind in conn.execute(query):
                    found[keys[key]].add(str(kind))
    return found


def _reasons(store: StateStore, history_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The top three reasons (by points) of the given score-history rows."""
    h = score_history
    out: dict[int, tuple[str, ...]] = {}
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(h.c.id, h.c.result_json).where(h.c.id.in_(history_ids)))
        for hid, text in rows:
            reasons = orjson.loads(text).get("reasons", [])
            top = sorted(reasons, key=lambda r: -float(r.get("points", 0)))[:3]
            out[int(hid)] = tuple(
                f"{r.get('label') or r.get('rule')} ({float(r.get('points', 0)):+g})" for r in top
            )
    return out


def false_negatives(
    store: StateStore,
    table: LeadTable,
    decided: np.ndarray,
    cold: np.ndarray,
    cold_tiers: tuple[str, ...],
) -> FalseNegatives:
    """Count the misses, show the latest ones and the signals that set them apart."""
    won = table.won
    missed_mask = decided & cold & won
    missed = np.flatnonzero(missed_mask)
    others = np.flatnonzero(decided & cold & ~won)
    conversions = int((decided & won).sum())
    try:
        picked_missed = _sample(missed, SAMPLE)
        picked_others = _sample(others, SAMPLE)
        kinds = _kinds(store, table, [*picked_missed.tolist(), *picked_others.tolist()])
        latest = missed[
            np.argsort(-np.nan_to_num(table.outcome_at[missed], nan=0.0), kind="stable")
        ]
        shown = latest[:EXAMPLES]
        reasons = _reasons(store, [int(table.history_ids[i]) for i in shown])
    except sa.exc.SQLAlchemyError as exc:
        raise StateError(f"cannot read activities: {exc.__class__.__name__}") from exc
    examples = tuple(
        MissedLead(
            connection=table.connection.labels[table.connection.codes[i]],
            lead_key=str(table.keys[i]),
            score=int(table.score[i]),
            tier=table.tier.labels[table.tier.codes[i]],
            won_at=None
            if np.isnan(table.outcome_at[i])
            else datetime.fromtimestamp(float(table.outcome_at[i]), tz=UTC),
            reasons=reasons.get(int(table.history_ids[i]), ()),
            signals=tuple(sorted(kinds.get(int(i), set()))),
        )
        for i in shown
    )
    in_missed = Counter(k for i in picked_missed.tolist() for k in kinds.get(i, ()))
    in_others = Counter(k for i in picked_others.tolist() for k in kinds.get(i, ()))
    signals: list[SignalRow] = []
    for kind, count in in_missed.items():
        share = count / picked_missed.size
        other = in_others.get(kind, 0) / picked_others.size if picked_others.size else 0.0
        signals.append(
            SignalRow(
                kind=kind,
                missed_share=share,
                cold_lost_share=other,
                lift=share / other if other else None,
            )
        )
    signals.sort(
        key=lambda s: (-(s.lift if s.lift is not None else np.inf), -s.missed_share, s.kind)
    )
    return FalseNegatives(
        cold_tiers=cold_tiers,
        conversions=conversions,
        missed=int(missed.size),
        miss_rate=missed.size / conversions if conversions else None,
        cold_decided=int((decided & cold).sum()),
        examples=examples,
        signals=tuple(signals[:12]),
    )
