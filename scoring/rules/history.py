"""Score history rows, replay and per-lead diffs for `rescore --dry-run`.

Pure functions: the state store keeps the rows, the CLI prints the diffs. Because a
score is f(lead, events, config, as_of), a stored row can always be recomputed and
compared (`verify_history`), and a new config can be tried on every lead and shown as
a diff before anything is written (`rescore_plan`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from leadbridge.core.errors import StateError
from leadbridge.core.models import Activity, Lead, Reason, ScoreResult
from leadbridge.core.protocols import Scorer

__all__ = [
    "HISTORY_COLUMNS",
    "ScoreDiff",
    "diff",
    "format_diff",
    "from_history_row",
    "replay",
    "rescore_plan",
    "to_history_row",
    "verify_history",
]

HISTORY_COLUMNS: tuple[str, ...] = (
    "lead_key",
    "computed_at",
    "score",
    "tier",
    "action",
    "stage",
    "routing",
    "fit",
    "intent",
    "summary",
    "config_version",
    "model_version",
    "reasons_json",
)
"""The flat columns of one history row, in storage order."""


def to_history_row(result: ScoreResult) -> dict[str, str | int | float | None]:
    """A flat row for the score-history table; reasons travel as compact JSON."""
    reasons = [r.model_dump(mode="json") for r in result.reasons]
    return {
        "lead_key": result.lead_key,
        "computed_at": result.computed_at.isoformat(),
        "score": result.score,
        "tier": result.tier,
        "action": result.action,
        "stage": result.stage,
        "routing": result.routing,
        "fit": result.fit,
        "intent": result.intent,
        "summary": result.summary,
        "config_version": result.config_version,
        "model_version": result.model_version,
        "reasons_json": orjson.dumps(reasons).decode(),
    }


def from_history_row(row: Mapping[str, Any]) -> ScoreResult:
    """Rebuild the `ScoreResult` a history row was made from (exact round trip)."""
    try:
        reasons = tuple(Reason.model_validate(r) for r in orjson.loads(row["reasons_json"]))
        values = {k: row[k] for k in HISTORY_COLUMNS if k not in ("reasons_json",)}
        values["computed_at"] = datetime.fromisoformat(str(row["computed_at"]))
        return ScoreResult.model_validate({**values, "reasons": reasons})
    except (KeyError, ValueError, orjson.JSONDecodeError) as exc:
        raise StateError(f"unreadable score-history row: {exc}") from exc


class ScoreDiff(BaseModel):
    """What re-scoring changes for one lead (old -> new)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lead_key: str
    old_score: int | None
    new_score: int
    old_tier: str | None
    new_tier: str
    old_stage: str | None
    new_stage: str | None
    old_action: str | None
    new_action: str
    old_version: str | None
    new_version: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[tuple[str, float, float], ...] = ()

    @property
    def delta(self) -> int:
        """Score change (the whole new score for a lead never scored before)."""
        return self.new_score - (self.old_score or 0)

    @property
    def is_change(self) -> bool:
        """Whether anything a CRM user would see differs."""
        return (
            self.old_score != self.new_score
            or self.old_tier != self.new_tier
            or self.old_stage != self.new_stage
            or self.old_action != self.new_action
            or bool(self.added or self.removed or self.changed)
        )


def diff(old: ScoreResult | None, new: ScoreResult) -> ScoreDiff:
    """Compare two results of one lead rule by rule (old may be None: never scored)."""
    old_points = {r.rule: r.points for r in old.reasons} if old else {}
    new_points = {r.rule: r.points for r in new.reasons}
    return ScoreDiff(
        lead_key=new.lead_key,
        old_score=old.score if old else None,
        new_score=new.score,
        old_tier=old.tier if old else None,
        new_tier=new.tier,
        old_stage=old.stage if old else None,
        new_stage=new.stage,
        old_action=old.action if old else None,
        new_action=new.action,
        old_version=old.config_version if old else None,
        new_version=new.config_version,
        added=tuple(sorted(set(new_points) - set(old_points))),
        removed=tuple(sorted(set(old_points) - set(new_points))),
        changed=tuple(
            (rule, old_points[rule], new_points[rule])
            for rule in sorted(set(old_points) & set(new_points))
            if old_points[rule] != new_points[rule]
        ),
    )


def rescore_plan(
    current: Mapping[str, ScoreResult], rescored: Iterable[ScoreResult]
) -> list[ScoreDiff]:
    """The leads whose visible score would change, biggest moves first."""
    changes = [d for d in (diff(current.get(r.lead_key), r) for r in rescored) if d.is_change]
    return sorted(changes, key=lambda d: (-abs(d.delta), d.lead_key))


def format_diff(change: ScoreDiff) -> str:
    """One line per lead for a dry-run listing."""
    old = "—" if change.old_score is None else str(change.old_score)
    line = f"{change.lead_key}: {old} -> {change.new_score} ({change.delta:+d})"
    if change.old_tier != change.new_tier:
        line += f", tier {change.old_tier} -> {change.new_tier}"
    if change.old_stage != change.new_stage:
        line += f", stage {change.old_stage} -> {change.new_stage}"
    if change.old_action != change.new_action:
        line += f", action {change.old_action} -> {change.new_action}"
    details = [f"+{r}" for r in change.added] + [f"-{r}" for r in change.removed]
    details += [f"{rule} {old_pts:g}->{new_pts:g}" for rule, old_pts, new_pts in change.changed]
    return line + (f" [{'; '.join(details)}]" if details else "")


def replay(
    scorer: Scorer, lead: Lead, activities: Sequence[Activity], instants: Iterable[datetime]
) -> list[ScoreResult]:
    """The lead's score as of each instant, from the events alone."""
    return [scorer.score(lead, activities, as_of=moment) for moment in instants]


def verify_history(
    scorer: Scorer,
    lead: Lead,
    activities: Sequence[Activity],
    rows: Iterable[Mapping[str, Any]],
) -> list[ScoreDiff]:
    """Recompute every stored row of one lead; return the rows that do not match.

    Rows written under another config version are compared too: a mismatch there is
    expected and shows what the config change did.
    """
    mismatches: list[ScoreDiff] = []
    for row in rows:
        stored = from_history_row(row)
        again = scorer.score(lead, activities, as_of=stored.computed_at)
        if again != stored:
            mismatches.append(diff(stored, again))
    return mismatches
