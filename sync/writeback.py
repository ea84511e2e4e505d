"""What leadbridge writes on a CRM record, and when a write is needed at all.

The scorer's result becomes five custom fields. A write is skipped when the values that
matter (score, tier, action, reasons) equal what was last acknowledged for that record;
`leadbridge_scored_at` travels with a write but never triggers one, or every run would
rewrite every lead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadbridge.core.models import FieldSpec, ScoreResult

__all__ = ["SCORE_FIELDS", "cleared_values", "score_values", "significant"]

SCORE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        name="leadbridge_score",
        label="leadbridge score",
        type="number",
        description="Lead score 0-100",
    ),
    FieldSpec(
        name="leadbridge_tier",
        label="leadbridge tier",
        type="string",
        description="Score tier (cold, warm, hot, very_hot)",
    ),
    FieldSpec(
        name="leadbridge_action",
        label="leadbridge action",
        type="string",
        description="Recommended action",
    ),
    FieldSpec(
        name="leadbridge_reasons",
        label="leadbridge reasons",
        type="text",
        description="Why this score (at most 250 characters)",
    ),
    FieldSpec(
        name="leadbridge_scored_at",
        label="leadbridge scored at",
        type="datetime",
        description="When the score was computed",
    ),
)

_TIMESTAMP_FIELD = "leadbridge_scored_at"


def score_values(result: ScoreResult) -> dict[str, Any]:
    """The field values for one score."""
    return {
        "leadbridge_score": result.score,
        "leadbridge_tier": result.tier,
        "leadbridge_action": result.action,
        "leadbridge_reasons": result.summary,
        _TIMESTAMP_FIELD: result.computed_at.isoformat(),
    }


def cleared_values() -> dict[str, Any]:
    """Empty values: a person who objects to profiling keeps no score (GDPR Art. 21)."""
    return {spec.name: "" for spec in SCORE_FIELDS}


def significant(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values whose change justifies a write."""
    return {k: v for k, v in values.items() if k != _TIMESTAMP_FIELD}
