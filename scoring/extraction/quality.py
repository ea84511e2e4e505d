"""Quality: the Lead Quality Score and the routing it leads to (seed 001).

Seed 001's two reference leads: complete data (job, amount, property) with a sound
LTV goes straight to a senior consultant (score 90); partial data, an LTV above 95 %
and a fixed-term contract go to the nurturing bot (score 40); the BOMA payload example
in between is "assign_to_human". The score adds points for each fact a broker needs,
full points when the fact is above the confidence threshold and half when it still
has to be verified, plus points for a sound LTV and a stable job.

    >>> quality_score({"job_status": ("permanent", 0.99)}).routing
    'nurturing_bot'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DEFAULT_THRESHOLD", "QualityScore", "Routing", "quality_score"]

DEFAULT_THRESHOLD = 0.85
"""Below this confidence a field is written as "to verify" (seed 001: 85 %)."""

Routing = Literal["senior_consultant", "assign_to_human", "nurturing_bot"]

_WEIGHTS: dict[str, int] = {
    "job_status": 20,
    "amount": 20,
    "property_value": 15,
    "property_type": 10,
    "loan_purpose": 10,
    "target_month": 10,
}
_STABLE_JOBS = frozenset({"permanent", "civil_servant", "retired", "self_employed"})
_WEAK_JOBS = {"fixed_term": 10, "student": 10, "unemployed": 25}


class QualityScore(BaseModel):
    """Score 0–100, the routing action and the reasons behind both."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: int = Field(ge=0, le=100)
    routing: Routing
    reasons: tuple[str, ...] = ()


def quality_score(
    fields: Mapping[str, tuple[object, float]], *, threshold: float = DEFAULT_THRESHOLD
) -> QualityScore:
    """Score a lead from its extracted `fields` (name -> (value, confidence))."""
    reasons: list[str] = []
    points = 0.0

    def known(name: str) -> float:
        if name not in fields:
            return 0.0
        return 1.0 if fields[name][1] >= threshold else 0.5

    amount_known = max(known("requested_amount"), known("down_payment") * known("property_value"))
    for name, weight in _WEIGHTS.items():
        share = amount_known if name == "amount" else known(name)
        points += weight * share
        if share == 0:
            reasons.append(f"missing {name}")
        elif share < 1:
            reasons.append(f"{name} to verify")
    ltv = float(str(fields["ltv"][0])) if "ltv" in fields else None
    if ltv is not None:
        if ltv <= 0.8:
            points += 15
        elif ltv <= 0.9:
            points += 10
            reasons.append(f"LTV {ltv:.0%} above 80 %")
        elif ltv <= 0.95:
            points += 5
            reasons.append(f"LTV {ltv:.0%} above 90 %")
        else:
            reasons.append(f"LTV {ltv:.0%} above 95 %")
    job = str(fields["job_status"][0]) if "job_status" in fields else None
    if job in _WEAK_JOBS:
        points -= _WEAK_JOBS[job]
        reasons.append(f"job status {job}")
    score = max(0, min(100, round(points)))
    complete = known("job_status") == 1 and amount_known == 1 and known("property_value") == 1
    sound_ltv = ltv is not None and ltv <= 0.9
    routing: Routing
    if complete and sound_ltv and job in _STABLE_JOBS and score >= 70:
        routing = "senior_consultant"
        reasons.insert(0, "complete job, amount and property with a sound LTV")
    elif score < 40 or (ltv is not None and ltv > 0.95) or job == "unemployed":
        routing = "nurturing_bot"
    else:
        routing = "assign_to_human"
    return QualityScore(score=score, routing=routing, reasons=tuple(reasons))
