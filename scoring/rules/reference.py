"""The reference scorer: one lead, one event at a time, in plain Python.

It is the readable statement of the scoring semantics; the vectorized batch path must
reproduce it result for result (tests compare both on random inputs). Order of
operations, for one lead as of `as_of`:

1. fit: criteria in config order add their points; a matching disqualifier sets fit
   to 0 (seed 003: late-discovered mismatches remove the fit points); `fit.max_points`
   caps it.
2. each activity at or before `as_of` scores under its most specific rule; rolling
   window drops older events; per rule and UTC day, occurrences are capped at
   `max_per_day`, then earliest first at `max_count` (1 for once-only rules).
3. a rule contributes points × occurrences; under exponential decay, each day's
   points × occurrences × the factor of that day's age, summed in day order.
4. group totals are clipped to their caps; bonus groups sum to P, penalty groups to N.
5. linear decay: P loses `points_per_period` per whole period since the last positive
   interaction, floored at 0 (50 points, 25 weeks at −2/week -> 0); penalties stay.
6. intent = P' + N; score = round-half-up(fit + intent) clamped to 0..100.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from leadbridge.core.errors import ScoringError
from leadbridge.core.models import Activity, Lead, ScoreResult
from leadbridge.scoring.rules.breakdown import Breakdown, GroupCap, RuleHit, build_result
from leadbridge.scoring.rules.compiled import DAY_US, CompiledConfig, compile_config, to_us
from leadbridge.scoring.rules.config import ScoringConfig

__all__ = ["reference_breakdown", "reference_score", "require_aware"]


def require_aware(as_of: datetime) -> datetime:
    """Reject a naive `as_of`: a score must name the instant it describes."""
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ScoringError("as_of must be timezone-aware")
    return as_of


def reference_breakdown(
    compiled: CompiledConfig, lead: Lead, activities: Sequence[Activity], as_of_us: int
) -> Breakdown:
    """Score one lead step by step (see the module docstring for the order)."""
    facts = compiled.facts(activities, as_of_us)
    fit_raw = 0.0
    matched: list[int] = []
    disqualified_by = -1
    for crit in compiled.criteria:
        if crit.matches(lead, facts):
            if crit.disqualify:
                if disqualified_by < 0:
                    disqualified_by = crit.index
            else:
                fit_raw += crit.points
                matched.append(crit.index)
    fit = 0.0 if disqualified_by >= 0 else fit_raw
    fit_cap = compiled.config.fit.max_points
    if fit_cap is not None and fit > fit_cap:
        fit = float(fit_cap)

    as_of_day = as_of_us // DAY_US
    window = compiled.window_days()
    buckets: dict[int, dict[int, int]] = {}
    last_positive: int | None = None
    for activity in activities:
        at = to_us(activity.occurred_at)
        if at > as_of_us:
            continue
        rule = compiled.rule_for(activity.kind, activity.value)
        if rule < 0:
            continue
        if compiled.rule_positive[rule] and (last_positive is None or at > last_positive):
            last_positive = at
        day = at // DAY_US
        if window is not None and as_of_day - day >= window:
            continue
        per_day = buckets.setdefault(rule, {})
        per_day[day] = per_day.get(day, 0) + activity.count

    hits: list[RuleHit] = []
    per_event_decay = compiled.strategy == "exponential"
    for rule in sorted(buckets):
        day_cap = int(compiled.rule_day_cap[rule])
        max_count = int(compiled.rule_max_count[rule])
        points = float(compiled.rule_points[rule])
        decays = bool(compiled.rule_decays[rule])
        counted_total = 0
        decayed = 0.0
        for day in sorted(buckets[rule]):
            count = buckets[rule][day]
            if day_cap:
                count = min(count, day_cap)
            if max_count:
                count = max(0, min(count, max_count - counted_total))
            counted_total += count
            if per_event_decay:
                factor = compiled.decay_factor(as_of_day - day) if decays else 1.0
                decayed += points * count * factor
        raw = points * counted_total
        hits.append(
            RuleHit(
                rule=rule,
                count=counted_total,
                raw=raw,
                points=decayed if per_event_decay else raw,
            )
        )

    sums = [0.0] * len(compiled.groups)
    for hit in hits:
        sums[int(compiled.rule_group[hit.rule])] += hit.points
    caps: list[GroupCap] = []
    positive = 0.0
    negative = 0.0
    for group, total in enumerate(sums):
        capped = min(
            max(total, float(compiled.group_low[group])), float(compiled.group_high[group])
        )
        if capped != total:
            caps.append(GroupCap(group=group, total=total, capped=capped))
        if compiled.group_positive[group]:
            positive += capped
        else:
            negative += capped

    rate, period_us = compiled.linear_terms()
    periods = 0
    if rate > 0 and last_positive is not None:
        periods = (as_of_us - last_positive) // period_us
    positive_after = max(0.0, positive - rate * periods)
    intent = positive_after + negative
    total = fit + intent
    score = min(100, max(0, math.floor(total + 0.5)))
    return Breakdown(
        fit_matched=tuple(matched),
        disqualified_by=disqualified_by,
        fit_raw=fit_raw,
        fit=fit,
        hits=tuple(hits),
        caps=tuple(caps),
        positive=positive,
        inactive_periods=periods,
        positive_after_decay=positive_after,
        negative=negative,
        intent=intent,
        total=total,
        score=score,
        tier=int(compiled.tier_of_score[score]),
        stage=compiled.stage_of(score, fit, intent),
        grade=compiled.grade_of(fit, intent),
    )


def reference_score(
    config: CompiledConfig | ScoringConfig,
    lead: Lead,
    activities: Sequence[Activity],
    *,
    as_of: datetime,
) -> ScoreResult:
    """The reference `ScoreResult` of one lead as of `as_of`."""
    require_aware(as_of)
    compiled = config if isinstance(config, CompiledConfig) else compile_config(config)
    breakdown = reference_breakdown(compiled, lead, activities, to_us(as_of))
    return build_result(compiled, lead.key, breakdown, as_of)
