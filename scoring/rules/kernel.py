"""The vectorized scorer: a million leads without a Python loop per event.

Events are matched to rules through per-kind lookup tables, bucketed per
(lead, rule, UTC day) with one sort of a packed 64-bit key, capped per day and per
rule, weighted by a decay table and summed with `np.bincount`. Python loops run only
over rules, groups, criteria and stages, never over events or leads.

Exactness: `np.bincount` adds weights sequentially in array order, and the sorted order
(lead, rule, day) is the order in which the reference adds them, so every float is the
same as the reference's, bit for bit. Decay factors come from the same Python function.
"""

from __future__ import annotations

from typing import Literal, overload

import numpy as np
import numpy.typing as npt

from leadbridge.core.errors import ScoringError
from leadbridge.scoring.rules.batch import BatchScores
from leadbridge.scoring.rules.columns import EventColumns, LeadColumns
from leadbridge.scoring.rules.compiled import DAY_US, CompiledConfig, CompiledCriterion

__all__ = ["score_columns"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

_NO_TIME = np.iinfo(np.int64).min


def _criterion_mask(crit: CompiledCriterion, leads: LeadColumns) -> BoolArray:
    if crit.mode in ("any_of", "contains"):
        codes, vocabulary = leads.text[crit.field]
        lookup = np.array([crit.text_matches(v) for v in vocabulary] + [False], dtype=np.bool_)
        return lookup[codes]
    if crit.mode == "present":
        known = leads.present[crit.field]
        return known if crit.present else ~known
    number = leads.numbers[crit.field]
    if crit.ratio_to is not None:
        denominator = leads.numbers[crit.ratio_to]
        valid = denominator > 0
        number = np.divide(number, denominator, out=np.full_like(number, np.nan), where=valid)
    with np.errstate(invalid="ignore"):
        return (number >= crit.low) & (number < crit.high)


def _fit(
    compiled: CompiledConfig, leads: LeadColumns
) -> tuple[FloatArray, FloatArray, IntArray, BoolArray]:
    n = leads.size
    fit_raw = np.zeros(n, dtype=np.float64)
    disqualified = np.full(n, -1, dtype=np.int64)
    matched = np.zeros((n, len(compiled.criteria)), dtype=np.bool_)
    for crit in compiled.criteria:
        mask = _criterion_mask(crit, leads)
        if crit.disqualify:
            disqualified = np.where((disqualified < 0) & mask, crit.index, disqualified)
        else:
            fit_raw = fit_raw + np.where(mask, crit.points, 0.0)
            matched[:, crit.index] = mask
    fit = np.where(disqualified >= 0, 0.0, fit_raw)
    cap = compiled.config.fit.max_points
    if cap is not None:
        fit = np.minimum(fit, float(cap))
    return fit_raw, fit, disqualified, matched


def _match_rules(compiled: CompiledConfig, events: EventColumns) -> IntArray:
    """Rule index per event; unmatched events get the phantom index ``len(rules)``.

    A phantom index (rather than -1) keeps the array non-negative so it can be OR-ed
    straight into the packed sort key.
    """
    none = len(compiled.rule_names)
    candidates = [compiled.candidates(kind) for kind in events.kinds]
    depth = max((len(c) for c in candidates), default=0)
    rule = np.full(len(events), none, dtype=np.int64)
    low_of = np.append(compiled.rule_min_value, np.nan)
    high_of = np.append(compiled.rule_max_value, np.nan)
    conditional = ~(np.isnan(low_of) & np.isnan(high_of))
    for level in range(depth):
        table = np.array([c[level] if len(c) > level else none for c in candidates], np.int64)
        candidate = table[events.kind]
        if level == 0 and not conditional.any():
            return candidate
        pending = (rule == none) & (candidate != none)
        low = low_of[candidate]
        high = high_of[candidate]
        value = events.value
        with np.errstate(invalid="ignore"):
            ok = pending & (np.isnan(low) | (value >= low)) & (np.isnan(high) | (value < high))
        rule = np.where(ok, candidate, rule)
    return rule


def _sums(bins: IntArray, weights: FloatArray, size: int) -> FloatArray:
    """Per-bin sums, added strictly in array order (what makes results bit-exact)."""
    return np.bincount(bins, weights=weights, minlength=size).astype(np.float64, copy=False)


@overload
def _run_starts(sorted_keys: IntArray) -> IntArray: ...
@overload
def _run_starts(sorted_keys: IntArray, *, with_ids: Literal[True]) -> tuple[IntArray, IntArray]: ...
def _run_starts(
    sorted_keys: IntArray, *, with_ids: bool = False
) -> IntArray | tuple[IntArray, IntArray]:
    """Indices where a run of equal keys begins (keys are sorted), and each run's id."""
    change = np.empty(sorted_keys.size, dtype=np.bool_)
    change[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    if not with_ids:
        return starts
    ids = np.cumsum(change, dtype=np.int64)
    ids -= 1
    return starts, ids


def _last_interaction(
    compiled: CompiledConfig, events: EventColumns, rule: IntArray, keep: BoolArray, n: int
) -> IntArray:
    """Per lead, the time of the last activity matching a bonus rule (linear decay)."""
    interaction = keep & np.append(compiled.rule_positive, False)[rule]
    times = np.where(interaction, events.at_us, _NO_TIME)
    last = np.full(n, _NO_TIME, dtype=np.int64)
    lead = events.lead
    if lead.size and bool(np.all(lead[1:] >= lead[:-1])):
        starts = _run_starts(lead)
        last[lead[starts]] = np.maximum.reduceat(times, starts)
    else:
        np.maximum.at(last, lead, times)
    return last


def _cap_totals(
    count: IntArray,
    pair_key: IntArray,
    b_rule: IntArray,
    max_count: IntArray,
    limited_rules: BoolArray,
) -> None:
    """Cap occurrences per (lead, rule) at `max_count`, earliest days first, in place.

    Only the buckets of limited rules are touched (once-only rules are a small share).
    """
    selected = np.flatnonzero(limited_rules[b_rule])
    if not selected.size:
        return
    sub_count = count[selected]
    starts = _run_starts(pair_key[selected])
    before = np.cumsum(sub_count) - sub_count
    run = np.zeros(selected.size, dtype=np.int64)
    run[starts[1:]] = 1
    np.cumsum(run, out=run)
    before -= before[starts][run]
    count[selected] = np.clip(max_count[b_rule[selected]] - before, 0, sub_count)


def _bucketed(
    compiled: CompiledConfig,
    events: EventColumns,
    rule: IntArray,
    keep: BoolArray,
    n: int,
    as_of_day: int,
) -> tuple[IntArray, IntArray, IntArray, FloatArray]:
    """Per (lead, rule): counted occurrences and decayed points, through day buckets.

    One packed int64 key (lead | rule | day [| count]) is built in place on all events,
    compressed once and sorted in place: cheaper than an argsort plus gathers, and the
    order (lead, rule, day) is exactly the reference's summing order.
    """
    n_rules = len(compiled.rule_names)
    empty = np.zeros(0, dtype=np.int64)
    if not keep.any():
        return empty, empty, empty, np.zeros(0, dtype=np.float64)
    decaying = compiled.strategy == "exponential"
    lead, at_us, counts = events.lead, events.at_us, events.count
    selected: BoolArray | None = keep
    if np.count_nonzero(keep) * 4 < keep.size:
        # a small subset (pairs over a cap): gather it first, skip full-size passes
        index = np.flatnonzero(keep)
        lead, rule, at_us, counts = lead[index], rule[index], at_us[index], counts[index]
        selected = None
    day_base = int(at_us.min()) // DAY_US
    rule_bits = _bits(n_rules)
    day_bits = _bits(int(at_us.max()) // DAY_US - day_base)
    count_bits = _bits(int(counts.max()))
    if _bits(n - 1) + rule_bits + day_bits > 62:
        raise ScoringError("batch too large for one pass; split it into smaller batches")
    key = lead.astype(np.int64, copy=True)
    key <<= rule_bits
    key |= rule
    key <<= day_bits
    day = at_us - day_base * DAY_US
    day //= DAY_US
    key |= day
    del day
    if _bits(n - 1) + rule_bits + day_bits + count_bits <= 62:
        key <<= count_bits
        key |= counts
        if selected is not None:
            key = key[selected]
        key.sort()
        counts = key & ((1 << count_bits) - 1)
        key >>= count_bits
    else:
        if selected is not None:
            key, counts = key[selected], counts[selected]
        order = np.argsort(key, kind="stable")
        key, counts = key[order], counts[order]
        del order
    starts = _run_starts(key)
    count = np.add.reduceat(counts, starts)
    del counts
    key = key[starts]
    del starts
    bucket_day = (key & ((1 << day_bits) - 1)) + day_base if decaying else None
    key >>= day_bits
    b_rule = key & ((1 << rule_bits) - 1)
    if compiled.rule_day_cap.any():
        _cap_days(count, b_rule, compiled.rule_day_cap)
    pair_starts, pair_id = _run_starts(key, with_ids=True)
    limited_rules = compiled.rule_max_count > 0
    if limited_rules.any():
        _cap_totals(count, key, b_rule, compiled.rule_max_count, limited_rules)
    pair_count = np.add.reduceat(count, pair_starts)
    if bucket_day is not None:
        weight = compiled.rule_points[b_rule]
        weight *= count
        age = as_of_day - bucket_day
        factor = compiled.decay_table(int(age.max()))[age]
        factor[~compiled.rule_decays[b_rule]] = 1.0
        weight *= factor
        pair_points = _sums(pair_id, weight, pair_starts.size)
    else:
        pair_points = np.zeros(0, dtype=np.float64)
    pair_key = key[pair_starts]
    return pair_key >> rule_bits, pair_key & ((1 << rule_bits) - 1), pair_count, pair_points


def _totals(
    compiled: CompiledConfig,
    events: EventColumns,
    rule: IntArray,
    keep: BoolArray,
    n: int,
    as_of_day: int,
) -> tuple[IntArray, IntArray, IntArray]:
    """Per (lead, rule) counted occurrences without per-event decay: no sort needed.

    Occurrences are summed per (lead, rule) with one `bincount`; only pairs whose total
    exceeds their rule's daily cap or `max_count` can be clipped, so only their events
    go through the day buckets of `_bucketed`.
    """
    n_rules = len(compiled.rule_names)
    width = n_rules + 1
    flat = events.lead * width
    flat += rule
    weights = np.where(keep, events.count, 0)
    totals = np.bincount(flat, weights=weights, minlength=n * width).reshape(n, width)
    totals = totals[:, :n_rules]
    no_limit = np.iinfo(np.int64).max
    day_cap = np.where(compiled.rule_day_cap > 0, compiled.rule_day_cap, no_limit)
    max_count = np.where(compiled.rule_max_count > 0, compiled.rule_max_count, no_limit)
    need = totals > np.minimum(day_cap, max_count)
    if need.any():
        need_flat = np.zeros((n, width), dtype=np.bool_)
        need_flat[:, :n_rules] = need
        subset = keep & need_flat.reshape(-1)[flat]
        lead, rule_of, count, _ = _bucketed(compiled, events, rule, subset, n, as_of_day)
        totals[lead, rule_of] = count
    pair_lead, pair_rule = np.nonzero(totals)
    return (
        pair_lead.astype(np.int64),
        pair_rule.astype(np.int64),
        totals[pair_lead, pair_rule].astype(np.int64),
    )


def _cap_days(count: IntArray, b_rule: IntArray, day_cap: IntArray) -> None:
    """Clip each (lead, rule, day) count to its rule's daily cap, in place.

    Only buckets above the smallest cap can change, so only those are gathered.
    """
    caps = np.where(day_cap > 0, day_cap, np.iinfo(np.int64).max)
    over = np.flatnonzero(count > caps.min())
    if over.size:
        count[over] = np.minimum(count[over], caps[b_rule[over]])


def _bits(maximum: int) -> int:
    return max(1, int(maximum).bit_length())


def score_columns(
    compiled: CompiledConfig, leads: LeadColumns, events: EventColumns, as_of_us: int
) -> BatchScores:
    """Score a whole batch as of `as_of_us` (see the reference module for the semantics)."""
    n = leads.size
    fit_raw, fit, disqualified, matched = _fit(compiled, leads)
    n_rules = len(compiled.rule_names)
    n_groups = len(compiled.groups)
    as_of_day = as_of_us // DAY_US

    rule = _match_rules(compiled, events)
    keep = rule < n_rules
    if int(events.at_us.max(initial=_NO_TIME)) > as_of_us:
        keep &= events.at_us <= as_of_us
    rate, period_us = compiled.linear_terms()
    last_positive = (
        _last_interaction(compiled, events, rule, keep, n)
        if rate > 0
        else np.full(n, _NO_TIME, dtype=np.int64)
    )
    window = compiled.window_days()
    if window is not None:
        keep &= events.at_us >= (as_of_day - window + 1) * DAY_US

    if compiled.strategy == "exponential":
        pair_lead, pair_rule, pair_count, pair_points = _bucketed(
            compiled, events, rule, keep, n, as_of_day
        )
        pair_raw = compiled.rule_points[pair_rule] * pair_count
    else:
        pair_lead, pair_rule, pair_count = _totals(compiled, events, rule, keep, n, as_of_day)
        pair_raw = compiled.rule_points[pair_rule] * pair_count
        pair_points = pair_raw

    group_key = pair_lead * n_groups + compiled.rule_group[pair_rule]
    group_total = _sums(group_key, pair_points, n * n_groups).reshape(n, n_groups)
    group_capped: FloatArray = np.clip(group_total, compiled.group_low, compiled.group_high)
    positive = np.zeros(n, dtype=np.float64)
    negative = np.zeros(n, dtype=np.float64)
    for g in range(n_groups):
        if compiled.group_positive[g]:
            positive = positive + group_capped[:, g]
        else:
            negative = negative + group_capped[:, g]

    periods = np.zeros(n, dtype=np.int64)
    if rate > 0:
        seen = last_positive != _NO_TIME
        periods[seen] = (as_of_us - last_positive[seen]) // period_us
    positive_after = np.maximum(0.0, positive - rate * periods)
    intent = positive_after + negative
    total = fit + intent
    score = np.clip(np.floor(total + 0.5), 0, 100).astype(np.int64)

    stage = np.zeros(n, dtype=np.int64)
    for i, st in enumerate(compiled.config.stages):
        ok = score >= st.min_score
        if st.min_fit is not None:
            ok &= fit >= st.min_fit
        if st.min_intent is not None:
            ok &= intent >= st.min_intent
        stage[ok] = i
    grid = compiled.config.grid
    letter = np.where(fit >= grid.fit_a, 0, np.where(fit >= grid.fit_b, 1, 2)).astype(np.int64)
    digit = np.where(intent >= grid.intent_1, 0, np.where(intent >= grid.intent_2, 1, 2))

    return BatchScores(
        fit_raw=fit_raw,
        fit=fit,
        disqualified_by=disqualified,
        fit_matched=matched,
        pair_lead=pair_lead,
        pair_rule=pair_rule,
        pair_count=pair_count,
        pair_raw=pair_raw,
        pair_points=pair_points,
        pair_offsets=np.searchsorted(pair_lead, np.arange(n + 1)).astype(np.int64),
        group_total=group_total,
        group_capped=group_capped,
        positive=positive,
        inactive_periods=periods,
        positive_after_decay=positive_after,
        negative=negative,
        intent=intent,
        total=total,
        score=score,
        tier=compiled.tier_of_score[score],
        stage=stage,
        grade_letter=letter,
        grade_digit=digit.astype(np.int64),
    )
