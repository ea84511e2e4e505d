"""A config turned into lookup tables shared by the reference and the vectorized paths.

Both scorers must agree bit for bit, so everything that is not the arithmetic of the
score itself (which rule an activity matches, how a lead attribute is normalised, the
decay factor of an event of a given age) is decided here, once, by the same code.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import numpy as np
import numpy.typing as npt

from leadbridge.core.models import Activity, Lead, Reason
from leadbridge.scoring.rules.config import FitCriterion, ScoringConfig, group_of
from leadbridge.scoring.rules.normalize import (
    as_number,
    canonical_text,
    lead_raw_value,
    normalize_value,
    text_of,
)

__all__ = [
    "DAY_US",
    "CompiledConfig",
    "CompiledCriterion",
    "compile_config",
    "to_us",
]

DAY_US = 86_400_000_000
"""Microseconds in a day: times are integers so comparisons and day buckets are exact."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def to_us(moment: datetime) -> int:
    """Epoch microseconds of an aware datetime, exactly (no float rounding)."""
    return (moment - _EPOCH) // _ONE_US


def _pattern_matches(pattern: str, kind: str) -> bool:
    return kind.startswith(pattern[:-1]) if pattern.endswith("*") else kind == pattern


def _words(text: str) -> str:
    return " " + " ".join(re.split(r"[^0-9a-z]+", text)).strip() + " "


@dataclass(frozen=True)
class CompiledCriterion:
    """One fit criterion with its test pre-normalised."""

    index: int
    name: str
    field: str
    mode: Literal["any_of", "contains", "range", "present"]
    points: float
    disqualify: bool
    values: frozenset[str] = frozenset()
    phrases: tuple[str, ...] = ()
    low: float = -math.inf
    high: float = math.inf
    ratio_to: str | None = None
    present: bool = True
    label: str = ""

    def text_matches(self, text: str | None) -> bool:
        """Test a raw text value (None = unknown) with an any_of/contains criterion."""
        if text is None:
            return False
        value = normalize_value(self.field, text)
        if self.mode == "any_of":
            return value in self.values
        padded = _words(value)
        return any(phrase in padded for phrase in self.phrases)

    def number_matches(self, number: float | None) -> bool:
        """Test a number (already divided for a ratio) against [low, high)."""
        return number is not None and self.low <= number < self.high

    def matches(self, lead: Lead, facts: dict[str, float]) -> bool:
        """The plain-Python test of this criterion on one lead."""
        raw = lead_raw_value(lead, self.field, facts)
        if self.mode == "present":
            return (raw is not None) == self.present
        if self.mode == "range":
            number = as_number(raw)
            if self.ratio_to is not None:
                denominator = as_number(lead_raw_value(lead, self.ratio_to, facts))
                if number is None or denominator is None or not denominator > 0:
                    return False
                number = number / denominator
            return self.number_matches(number)
        return self.text_matches(text_of(raw))


def _compile_criterion(index: int, crit: FitCriterion) -> CompiledCriterion:
    label = crit.label or crit.name.replace("_", " ")
    common = {
        "index": index,
        "name": crit.name,
        "field": crit.field,
        "points": float(crit.points),
        "disqualify": crit.disqualify,
        "label": label,
    }
    if crit.any_of is not None:
        values = frozenset(normalize_value(crit.field, v) for v in crit.any_of)
        return CompiledCriterion(mode="any_of", values=values, **common)  # type: ignore[arg-type]
    if crit.contains_any is not None:
        phrases = tuple(_words(canonical_text(p)) for p in crit.contains_any)
        return CompiledCriterion(mode="contains", phrases=phrases, **common)  # type: ignore[arg-type]
    if crit.present is not None:
        return CompiledCriterion(mode="present", present=crit.present, **common)  # type: ignore[arg-type]
    return CompiledCriterion(
        mode="range",
        low=-math.inf if crit.min is None else float(crit.min),
        high=math.inf if crit.max is None else float(crit.max),
        ratio_to=crit.ratio_to,
        **common,  # type: ignore[arg-type]
    )


@dataclass
class CompiledConfig:
    """Lookup tables derived from one `ScoringConfig` (built once per scorer)."""

    config: ScoringConfig
    rule_names: tuple[str, ...]
    rule_labels: tuple[str, ...]
    rule_points: FloatArray
    rule_positive: npt.NDArray[np.bool_]
    rule_group: IntArray
    rule_day_cap: IntArray
    rule_max_count: IntArray
    rule_min_value: FloatArray
    rule_max_value: FloatArray
    rule_decays: npt.NDArray[np.bool_]
    groups: tuple[str, ...]
    group_low: FloatArray
    group_high: FloatArray
    group_positive: npt.NDArray[np.bool_]
    criteria: tuple[CompiledCriterion, ...]
    tier_of_score: IntArray
    _candidates: dict[str, tuple[int, ...]] = field(default_factory=dict)
    _fact_kinds: dict[str, tuple[int, ...]] = field(default_factory=dict)
    reason_cache: dict[tuple[object, ...], tuple[Reason, str]] = field(default_factory=dict)
    """Interned reasons and summary fragments (see `breakdown`)."""

    @property
    def version(self) -> str:
        """The config version every result carries."""
        return self.config.version

    @property
    def strategy(self) -> str:
        """The decay strategy name."""
        return self.config.decay.strategy

    def candidates(self, kind: str) -> tuple[int, ...]:
        """Rules a kind may match, most specific first (exact, then longest family)."""
        cached = self._candidates.get(kind)
        if cached is not None:
            return cached
        ranked: list[tuple[int, int, int]] = []
        for index, rule in enumerate(self.config.intent.rules):
            for pattern in rule.kinds:
                if _pattern_matches(pattern, kind):
                    exact = 0 if not pattern.endswith("*") else 1
                    ranked.append((exact, -len(pattern), index))
                    break
        result = tuple(index for _, _, index in sorted(ranked))
        self._candidates[kind] = result
        return result

    def rule_for(self, kind: str, value: float | None) -> int:
        """The rule an activity scores under, or -1 (first candidate whose value test holds)."""
        for index in self.candidates(kind):
            low = self.rule_min_value[index]
            high = self.rule_max_value[index]
            if math.isnan(low) and math.isnan(high):
                return index
            if value is None or math.isnan(value):
                continue
            if (math.isnan(low) or value >= low) and (math.isnan(high) or value < high):
                return index
        return -1

    def decay_factor(self, age_days: int) -> float:
        """Per-event factor of an event `age_days` old (exponential strategy only)."""
        half_life = self.config.decay.half_life_days
        if self.strategy != "exponential" or half_life is None:
            return 1.0
        return float(0.5 ** (age_days / half_life))

    def decay_table(self, max_age: int) -> FloatArray:
        """`decay_factor` for ages 0..max_age, computed by the same Python function."""
        return np.array([self.decay_factor(age) for age in range(max_age + 1)], dtype=np.float64)

    def linear_terms(self) -> tuple[float, int]:
        """(points per period, period in microseconds) for the linear strategy."""
        decay = self.config.decay
        if self.strategy != "linear" or decay.points_per_period is None or not decay.period_days:
            return 0.0, 1
        return float(decay.points_per_period), round(decay.period_days * DAY_US)

    def window_days(self) -> int | None:
        """The rolling window length in days, when that strategy is chosen."""
        return self.config.decay.window_days if self.strategy == "window" else None

    def facts(self, activities: Iterable[Activity], as_of_us: int) -> dict[str, float]:
        """Numeric facts lifted from the latest matching activity at or before `as_of`."""
        specs = self.config.fit.activity_facts
        if not specs:
            return {}
        found: dict[str, tuple[int, float]] = {}
        for activity in activities:
            matching = self._fact_kinds.get(activity.kind)
            if matching is None:
                matching = tuple(
                    i
                    for i, spec in enumerate(specs)
                    if any(_pattern_matches(p, activity.kind) for p in spec.kinds)
                )
                self._fact_kinds[activity.kind] = matching
            if not matching:
                continue
            at = to_us(activity.occurred_at)
            if at > as_of_us:
                continue
            for i in matching:
                spec = specs[i]
                number = as_number(activity.attributes.get(spec.attribute))
                if number is None:
                    continue
                previous = found.get(spec.key)
                if previous is None or at >= previous[0]:
                    found[spec.key] = (at, number)
        return {key: number for key, (_, number) in found.items()}

    def stage_of(self, score: int, fit: float, intent: float) -> int:
        """Index of the highest stage whose minimums all hold."""
        reached = 0
        for index, stage in enumerate(self.config.stages):
            if score < stage.min_score:
                continue
            if stage.min_fit is not None and fit < stage.min_fit:
                continue
            if stage.min_intent is not None and intent < stage.min_intent:
                continue
            reached = index
        return reached

    def grade_of(self, fit: float, intent: float) -> str:
        """HubSpot-style cell: A/B/C by fit, 1/2/3 by intent."""
        grid = self.config.grid
        letter = "A" if fit >= grid.fit_a else "B" if fit >= grid.fit_b else "C"
        digit = "1" if intent >= grid.intent_1 else "2" if intent >= grid.intent_2 else "3"
        return letter + digit


def compile_config(config: ScoringConfig) -> CompiledConfig:
    """Build the lookup tables of a config."""
    rules = config.intent.rules
    default_cap = config.intent.default_max_per_day or 0
    group_names: list[str] = []
    for rule in rules:
        name = group_of(rule)
        if name not in group_names:
            group_names.append(name)
    group_cfg = config.intent.groups
    low = [
        -math.inf
        if group_cfg.get(g) is None or group_cfg[g].min_points is None
        else float(group_cfg[g].min_points or 0.0)
        for g in group_names
    ]
    high = [
        math.inf
        if group_cfg.get(g) is None or group_cfg[g].max_points is None
        else float(group_cfg[g].max_points or 0.0)
        for g in group_names
    ]
    positive_group = [next(r.points > 0 for r in rules if group_of(r) == g) for g in group_names]
    decays_negative = config.decay.apply_to_negative
    tier_of_score = np.zeros(101, dtype=np.int64)
    for index, tier in enumerate(config.tiers):
        tier_of_score[tier.min : tier.max + 1] = index
    return CompiledConfig(
        config=config,
        rule_names=tuple(r.name for r in rules),
        rule_labels=tuple(r.label or r.name.replace("_", " ") for r in rules),
        rule_points=np.array([float(r.points) for r in rules], dtype=np.float64),
        rule_positive=np.array([r.points > 0 for r in rules], dtype=np.bool_),
        rule_group=np.array([group_names.index(group_of(r)) for r in rules], dtype=np.int64),
        rule_day_cap=np.array([r.max_per_day or default_cap for r in rules], dtype=np.int64),
        rule_max_count=np.array(
            [1 if not r.repeatable else (r.max_count or 0) for r in rules], dtype=np.int64
        ),
        rule_min_value=np.array(
            [math.nan if r.min_value is None else r.min_value for r in rules], dtype=np.float64
        ),
        rule_max_value=np.array(
            [math.nan if r.max_value is None else r.max_value for r in rules], dtype=np.float64
        ),
        rule_decays=np.array([r.points > 0 or decays_negative for r in rules], dtype=np.bool_),
        groups=tuple(group_names),
        group_low=np.array(low, dtype=np.float64),
        group_high=np.array(high, dtype=np.float64),
        group_positive=np.array(positive_group, dtype=np.bool_),
        criteria=tuple(_compile_criterion(i, c) for i, c in enumerate(config.fit.criteria)),
        tier_of_score=tier_of_score,
    )
