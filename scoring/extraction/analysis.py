"""Analysis: run every rule on a message and compute each candidate's features.

Training and extraction must see exactly the same candidates and features, otherwise
the model learns one thing and is asked another. Both go through `analyse`, which
finds amounts, lexicon mentions and months, and attaches hashed features to each.

    >>> from datetime import datetime, UTC
    >>> a = analyse("apport 50k", "fr", datetime(2026, 3, 1, tzinfo=UTC))
    >>> [c.text for c in a.amounts]
    ['50k']
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from leadbridge.scoring.extraction.amounts import find_amounts
from leadbridge.scoring.extraction.candidates import Candidate
from leadbridge.scoring.extraction.features import (
    Context,
    amount_features,
    hash_features,
    mention_features,
)
from leadbridge.scoring.extraction.lexicon import find_mentions
from leadbridge.scoring.extraction.months import find_months

__all__ = ["Analysis", "analyse"]


@dataclass(frozen=True, slots=True)
class Analysis:
    """Candidates of one message with the hashed feature slots of each."""

    amounts: tuple[Candidate, ...]
    amount_slots: tuple[list[int], ...]
    mentions: tuple[Candidate, ...]
    mention_slots: tuple[list[int], ...]


def analyse(text: str, lang: str | None, sent_at: datetime) -> Analysis:
    """All candidates in `text` with their features (language `lang`, sent at `sent_at`)."""
    ctx = Context.of(text)
    lang_feature = f"lang={lang or 'xx'}"
    amounts = find_amounts(text, lang)
    triples = [(c.start, c.end, c.value) for c in amounts]
    amount_slots = tuple(
        hash_features([*amount_features(ctx, triples, i, c.kind, c.shape), lang_feature])
        for i, c in enumerate(amounts)
    )
    mentions = [
        m
        for m in (*find_mentions(text), *find_months(text, sent_at))
        if not any(a.start <= m.start and m.end <= a.end for a in amounts)
    ]
    mentions.sort(key=lambda c: c.start)
    per_field = Counter(m.field for m in mentions)
    labels: dict[str | None, set[str | None]] = {}
    for m in mentions:
        labels.setdefault(m.field, set()).add(m.label)
    sent_month = f"{sent_at.year:04d}-{sent_at.month:02d}"
    mention_slots = tuple(
        hash_features(
            [
                *mention_features(
                    ctx,
                    m.start,
                    m.end,
                    m.field or "",
                    m.label or "",
                    m.shape,
                    same_field=min(per_field[m.field], 3),
                    other_labels=len(labels[m.field]) - 1,
                    past=m.kind == "month" and (m.label or "") < sent_month,
                ),
                lang_feature,
            ]
        )
        for m in mentions
    )
    return Analysis(tuple(amounts), amount_slots, tuple(mentions), mention_slots)
