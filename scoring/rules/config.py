"""The scoring configuration: a frozen, typo-proof description of a points model.

A config is data, not code, so that a score can be recomputed from (lead, events,
config, as_of) years later. Every model forbids unknown keys (a typo fails instead of
being silently ignored) and cross-field rules (tiers that overlap, a kind that belongs to
another channel, a group mixing bonuses and penalties) are checked here, each raising a
`ConfigError` that names the offending key.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from leadbridge.core.models import Channel

__all__ = [
    "KIND",
    "LEAD_FIELDS",
    "ActivityFact",
    "DecayConfig",
    "FitConfig",
    "FitCriterion",
    "Grid",
    "Group",
    "IntentConfig",
    "IntentRule",
    "ScoringConfig",
    "Stage",
    "Tier",
    "field_type",
    "group_of",
]

NAME = r"^[a-z][a-z0-9_]*$"
KIND = re.compile(r"^(\*|[a-z][a-z0-9_]*(:[a-z0-9_]+)?(:?\*)?)$")

LEAD_FIELDS: dict[str, Literal["text", "number"]] = {
    "industry": "text",
    "seniority": "text",
    "job_title": "text",
    "country": "text",
    "region": "text",
    "language": "text",
    "source": "text",
    "company": "text",
    "lifecycle_stage": "text",
    "company_size": "number",
    "annual_revenue": "number",
}
"""Lead attributes a fit criterion may read; ``custom.<key>`` reads `Lead.custom`."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class IntentRule(_Strict):
    """Points for one behaviour, e.g. a pricing page view (seed 003: +15).

    `repeatable = false` grants the points once ever; `max_per_day` caps repeated events
    per UTC day (Marketo caps each activity type at 20/day); `max_count` caps the total
    number of counted occurrences, earliest first. `min_value`/`max_value` restrict the
    rule to activities whose numeric `value` lies in [min, max).
    """

    name: str = Field(pattern=NAME)
    channel: Channel
    kinds: tuple[str, ...] = Field(min_length=1)
    points: float
    group: str | None = Field(default=None, pattern=NAME)
    repeatable: bool = True
    max_per_day: int | None = Field(default=None, ge=1)
    max_count: int | None = Field(default=None, ge=1)
    min_value: float | None = None
    max_value: float | None = None
    label: str | None = None


class Group(_Strict):
    """A cap on the points a family of rules can add (or remove) together, as in HubSpot."""

    max_points: float | None = Field(default=None, ge=0)
    min_points: float | None = Field(default=None, le=0)
    label: str | None = None


class IntentConfig(_Strict):
    """Behaviour scoring: the per-channel point table, groups and default caps."""

    default_max_per_day: int | None = Field(default=None, ge=1)
    groups: dict[str, Group] = Field(default_factory=dict)
    rules: tuple[IntentRule, ...] = Field(min_length=1)


class FitCriterion(_Strict):
    """One ICP criterion on a lead attribute; exactly one test among the four forms.

    `any_of` (equality after normalisation), `contains_any` (substring, for job titles),
    `min`/`max` (numeric band [min, max), optionally of `field / ratio_to` such as an
    implicit LTV) or `present` (the attribute is known, or unknown when false). A
    `disqualify` criterion removes every fit point when it matches (seed 003).
    """

    name: str = Field(pattern=NAME)
    field: str
    points: float = 0.0
    any_of: tuple[str, ...] | None = None
    contains_any: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    ratio_to: str | None = None
    present: bool | None = None
    disqualify: bool = False
    label: str | None = None


class ActivityFact(_Strict):
    """Lifts a numeric attribute of the latest matching activity into ``custom.<key>``.

    Seed 000: the amount and property value typed into the mortgage simulator give an
    implicit LTV even when the CRM record has neither. A value on the lead wins.
    """

    key: str = Field(pattern=NAME)
    kinds: tuple[str, ...] = Field(min_length=1)
    attribute: str = Field(min_length=1)


class FitConfig(_Strict):
    """Profile scoring: ICP criteria, an optional total cap and activity-derived facts."""

    criteria: tuple[FitCriterion, ...] = ()
    max_points: float | None = Field(default=None, ge=0)
    activity_facts: tuple[ActivityFact, ...] = ()


class DecayConfig(_Strict):
    """How behaviour points fade with time.

    ``linear``: −`points_per_period` for each whole `period_days` since the last positive
    interaction, on the behaviour total, floored at 0 (seed 003: −2/week).
    ``exponential``: each event's points are multiplied by 0.5^(age_days/half_life_days).
    ``window``: only events of the last `window_days` days count.
    Penalties are kept whole unless `apply_to_negative` is set.
    """

    strategy: Literal["none", "linear", "exponential", "window"] = "none"
    points_per_period: float | None = Field(default=None, gt=0)
    period_days: float | None = Field(default=None, gt=0)
    half_life_days: float | None = Field(default=None, gt=0)
    window_days: int | None = Field(default=None, ge=1)
    apply_to_negative: bool = False


class Tier(_Strict):
    """A score band [min, max] with what to do about leads in it."""

    name: str = Field(pattern=NAME)
    min: int = Field(ge=0, le=100)
    max: int = Field(ge=0, le=100)
    action: str = Field(pattern=NAME)
    routing: str = Field(pattern=NAME)
    label: str = ""


class Stage(_Strict):
    """A lifecycle stage reached when every stated minimum holds (seed 004: MQL, SQL).

    A stage's `routing`, when set, overrides the tier's routing target.
    """

    name: str = Field(pattern=NAME)
    min_score: int = Field(default=0, ge=0, le=100)
    min_fit: float | None = None
    min_intent: float | None = None
    routing: str | None = Field(default=None, pattern=NAME)
    label: str = ""


class Grid(_Strict):
    """HubSpot-style A1–C3 grade: fit letter A/B/C by fit, digit 1/2/3 by intent."""

    fit_a: float = 30.0
    fit_b: float = 15.0
    intent_1: float = 50.0
    intent_2: float = 25.0


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(
        name="cold",
        min=0,
        max=25,
        action="passive_nurture",
        routing="nurturing_bot",
        label="Passive nurture: monthly educational newsletter, no sales contact",
    ),
    Tier(
        name="warm",
        min=26,
        max=50,
        action="active_nurture",
        routing="nurturing_bot",
        label="Active nurture: weekly email sequence, webinar invitations",
    ),
    Tier(
        name="hot",
        min=51,
        max=75,
        action="sales_alert",
        routing="sales_team",
        label="Sales alert with the interaction history",
    ),
    Tier(
        name="very_hot",
        min=76,
        max=100,
        action="priority_followup_24h",
        routing="senior_rep",
        label="Priority: immediate meeting email, SMS after 24 h, senior rep",
    ),
)

DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage(name="subscriber", label="Known contact, no engagement yet"),
    Stage(name="lead", min_score=10, label="Engaged contact"),
    Stage(name="mql", min_score=51, label="Marketing qualified lead"),
    Stage(name="sql", min_score=76, min_fit=15, label="Sales qualified lead"),
)


class ScoringConfig(_Strict):
    """A complete, versioned points model (fit + intent + decay + tiers + stages)."""

    name: str = Field(pattern=NAME)
    declared_version: str | None = Field(default=None, alias="version")
    description: str = ""
    extra_kinds: tuple[str, ...] = ()
    fit: FitConfig = Field(default_factory=FitConfig)
    intent: IntentConfig
    decay: DecayConfig = Field(default_factory=DecayConfig)
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    stages: tuple[Stage, ...] = DEFAULT_STAGES
    grid: Grid = Field(default_factory=Grid)

    model_config = ConfigDict(populate_by_name=True)

    @cached_property
    def version(self) -> str:
        """Declared version plus a content hash: two different models never share one."""
        payload = self.model_dump(mode="json", by_alias=True)
        digest = hashlib.sha256(
            json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()[:12]
        head = f"{self.name}-{self.declared_version}" if self.declared_version else self.name
        return f"{head}+{digest}"

    @model_validator(mode="after")
    def _coherent(self) -> ScoringConfig:
        from leadbridge.scoring.rules.validation import check_config

        check_config(self)
        return self


def group_of(rule: IntentRule) -> str:
    """A rule's group: declared, else its channel for bonuses and ``negative`` for penalties."""
    if rule.group is not None:
        return rule.group
    return rule.channel.value if rule.points > 0 else "negative"


def field_type(field: str) -> Literal["text", "number", "any"]:
    """`text`/`number` for built-in attributes; custom keys can be either."""
    return LEAD_FIELDS.get(field, "any")
