"""How the written 0-100 score combines the rules score and the model's probability.

Modes (`BlendConfig.mode`):

* ``rules_floor`` (default) -- ``score = round(100 * p)``, but never below the lower
  bound of the tier the rules engine put the lead in. A lead the rules call *hot*
  (51+) stays at least 51 however cautious the model is, so explicit signals a sales
  team agreed on (a meeting request, a pricing-page binge) are never buried, while the
  model can still *raise* any lead.
* ``weighted`` -- ``score = round(w * 100 * p + (1 - w) * rules)``.
* ``model`` -- the model alone; ``rules`` -- the rules alone.

Whatever the mode, with no model (cold start: fewer outcomes than the configured
minimum, as Einstein falls back to its global model) the rules score stands alone.
Tiers follow seed 003: cold 0-25, warm 26-50, hot 51-75, very hot 76+.

    >>> blend_one(0.20, 60, BlendConfig()).score
    51
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DEFAULT_TIERS",
    "BlendConfig",
    "BlendMode",
    "Blended",
    "Tier",
    "blend_many",
    "blend_one",
    "tier_of",
]

BlendMode = Literal["rules_floor", "weighted", "model", "rules"]


class Tier(BaseModel):
    """A named score band starting at `threshold` (inclusive), with the action it triggers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    threshold: int = Field(ge=0, le=100)
    action: str


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(name="very_hot", threshold=76, action="call_immediately"),
    Tier(name="hot", threshold=51, action="alert_sales"),
    Tier(name="warm", threshold=26, action="nurture_active"),
    Tier(name="cold", threshold=0, action="nurture_passive"),
)


def tier_of(score: float, tiers: Sequence[Tier] = DEFAULT_TIERS) -> Tier:
    """The highest tier whose threshold the score reaches (tiers sorted high to low)."""
    for tier in tiers:
        if score >= tier.threshold:
            return tier
    return tiers[-1]


class BlendConfig(BaseModel):
    """The configured blending rule; part of the scorer's config version."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: BlendMode = "rules_floor"
    model_weight: float = Field(default=0.7, ge=0.0, le=1.0)
    tiers: tuple[Tier, ...] = DEFAULT_TIERS

    @model_validator(mode="after")
    def _tiers_sorted(self) -> BlendConfig:
        thresholds = [t.threshold for t in self.tiers]
        if not thresholds or thresholds != sorted(thresholds, reverse=True) or thresholds[-1]:
            raise ValueError("tiers must be sorted by threshold, high to low, ending at 0")
        return self


class Blended(BaseModel):
    """The final score of one lead, its tier, action and a one-line reason for the blend."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    score: int
    tier: str
    action: str
    explanation: str


def blend_many(
    probability: NDArray[np.floating] | None,
    rules_score: NDArray[np.floating],
    config: BlendConfig,
) -> NDArray[np.int64]:
    """Final 0-100 scores for many leads at once (vectorised `blend_one`)."""
    rules = np.clip(np.asarray(rules_score, dtype=np.float64), 0.0, 100.0)
    if probability is None or config.mode == "rules":
        return np.rint(rules).astype(np.int64)
    model = 100.0 * np.clip(np.asarray(probability, dtype=np.float64), 0.0, 1.0)
    if config.mode == "model":
        out = model
    elif config.mode == "weighted":
        w = config.model_weight
        out = w * model + (1.0 - w) * rules
    else:
        thresholds = np.array([t.threshold for t in config.tiers], dtype=np.float64)
        # index of the highest threshold the rules score reaches (tiers high to low)
        reached = rules[:, None] >= thresholds[None, :]
        floor = thresholds[np.argmax(reached, axis=1)]
        out = np.maximum(np.rint(model), floor)
    return np.clip(np.rint(out), 0, 100).astype(np.int64)


def blend_one(probability: float | None, rules_score: float, config: BlendConfig) -> Blended:
    """Blend one lead and say in words how the score was reached."""
    p = None if probability is None else np.array([probability])
    score = int(blend_many(p, np.array([rules_score]), config)[0])
    tier = tier_of(score, config.tiers)
    rules_int = round(rules_score)
    if probability is None:
        how = f"rules score {rules_int} (no model yet: cold start)"
    elif config.mode == "rules":
        how = f"rules score {rules_int} (model shadowed)"
    elif config.mode == "model":
        how = f"model probability {probability:.0%}"
    elif config.mode == "weighted":
        how = (
            f"{config.model_weight:.0%} model ({probability:.0%}) + "
            f"{1 - config.model_weight:.0%} rules ({rules_int})"
        )
    else:
        rules_tier = tier_of(rules_score, config.tiers)
        model_score = round(100 * probability)
        if score > model_score:
            how = (
                f"model {model_score} raised to the floor of rules tier "
                f"{rules_tier.name} ({rules_tier.threshold})"
            )
        else:
            how = f"model probability {probability:.0%} (rules tier {rules_tier.name})"
    return Blended(score=score, tier=tier.name, action=tier.action, explanation=how)
