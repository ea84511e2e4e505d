"""The numeric anatomy of one score, and how it becomes a `ScoreResult`.

Both scoring paths (the plain-Python reference and the vectorized batch) produce a
`Breakdown`; one function turns it into the public result, its reasons and its summary,
so the two paths can only differ in arithmetic, which the tests compare exactly.

Reason semantics: `points` is what the rule contributed to the score, after decay;
`decay_factor` is the share of its undecayed points that remains (1.0 = no decay).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from leadbridge.core.models import Reason, ScoreResult
from leadbridge.scoring.rules.compiled import CompiledConfig, CompiledCriterion

__all__ = ["Breakdown", "GroupCap", "RuleHit", "build_result", "summarize"]

SUMMARY_LIMIT = 250


@dataclass(frozen=True)
class RuleHit:
    """One intent rule that fired for a lead."""

    rule: int
    count: int
    raw: float
    points: float


@dataclass(frozen=True)
class GroupCap:
    """A group whose total was clipped to its cap."""

    group: int
    total: float
    capped: float


@dataclass(frozen=True)
class Breakdown:
    """Every intermediate figure of a score; equal breakdowns mean equal results."""

    fit_matched: tuple[int, ...]
    disqualified_by: int
    fit_raw: float
    fit: float
    hits: tuple[RuleHit, ...]
    caps: tuple[GroupCap, ...]
    positive: float
    inactive_periods: int
    positive_after_decay: float
    negative: float
    intent: float
    total: float
    score: int
    tier: int
    stage: int
    grade: str


def _linear_factor(b: Breakdown) -> float:
    return b.positive_after_decay / b.positive if b.positive > 0 else 1.0


Fragment = tuple[Reason, str]
"""A reason and its piece of the summary line."""


def _fragment(
    rule: str, points: float, group: str, count: int, factor: float, label: str
) -> Fragment:
    reason = Reason(
        rule=rule, points=points, group=group, count=count, decay_factor=factor, label=label
    )
    text = f"{rule.removeprefix('fit:')} {points:+g}" if points else ""
    return reason, text


def _cached(
    compiled: CompiledConfig, key: tuple[object, ...], make: Callable[[], Fragment]
) -> Fragment:
    """Intern reasons per config.

    Reasons are frozen and repeat across leads, so a batch of results costs dictionary
    look-ups rather than model validation and float formatting.
    """
    cache = compiled.reason_cache
    found = cache.get(key)
    if found is None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        found = cache[key] = make()
    return found


_CACHE_LIMIT = 200_000


def _fragments(compiled: CompiledConfig, b: Breakdown) -> list[Fragment]:
    out: list[Fragment] = []
    criteria = compiled.criteria
    for index in b.fit_matched:
        crit = criteria[index]

        def make_fit(crit: CompiledCriterion = crit) -> Fragment:
            return _fragment(f"fit:{crit.name}", round(crit.points, 2), "fit", 1, 1.0, crit.label)

        out.append(_cached(compiled, ("fit", index), make_fit))
    if b.disqualified_by >= 0:
        crit = criteria[b.disqualified_by]
        out.append(
            _cached(
                compiled,
                ("disqualified", crit.index, b.fit_raw),
                lambda: _fragment(
                    f"fit:{crit.name}",
                    round(-b.fit_raw, 2) + 0.0,
                    "fit",
                    1,
                    1.0,
                    f"{crit.label} (fit points removed)",
                ),
            )
        )
    elif b.fit != b.fit_raw:
        excess = b.fit - b.fit_raw
        out.append(
            _cached(
                compiled,
                ("fit_cap", excess),
                lambda: _fragment("cap:fit", round(excess, 2), "fit", 1, 1.0, "fit capped"),
            )
        )
    linear = _linear_factor(b)
    positive = compiled.rule_positive
    names = compiled.groups
    for hit in sorted(b.hits, key=lambda h: (-abs(h.points), h.rule)):
        factor = linear if positive[hit.rule] else 1.0

        def make_hit(hit: RuleHit = hit, factor: float = factor) -> Fragment:
            kept = hit.points / hit.raw if hit.raw != 0 else 1.0
            return _fragment(
                compiled.rule_names[hit.rule],
                round(hit.points * factor, 2) + 0.0,
                names[compiled.rule_group[hit.rule]],
                hit.count,
                round(min(1.0, max(0.0, kept * factor)), 4),
                compiled.rule_labels[hit.rule],
            )

        out.append(
            _cached(compiled, ("hit", hit.rule, hit.count, hit.raw, hit.points, factor), make_hit)
        )
    for cap in b.caps:
        factor = linear if compiled.group_positive[cap.group] else 1.0

        def make_cap(cap: GroupCap = cap, factor: float = factor) -> Fragment:
            name = names[cap.group]
            return _fragment(
                f"cap:{name}",
                round((cap.capped - cap.total) * factor, 2) + 0.0,
                name,
                1,
                round(min(1.0, max(0.0, factor)), 4),
                f"group '{name}' capped at {cap.capped:g}",
            )

        out.append(_cached(compiled, ("cap", cap.group, cap.total, cap.capped, factor), make_cap))
    return out


def summarize(compiled: CompiledConfig, b: Breakdown, parts: list[str]) -> str:
    """A one-line reason for a CRM text field, at most 250 characters."""
    config = compiled.config
    tier = config.tiers[b.tier]
    stage = config.stages[b.stage]
    head = (
        f"{b.score} {tier.name} {b.grade} {stage.name}: fit {round(b.fit, 1):g}, "
        f"intent {round(b.intent, 1):g}"
    )
    parts = [p for p in parts if p]
    if b.inactive_periods and b.positive > 0:
        lost = round(b.positive - b.positive_after_decay, 1)
        period = config.decay.period_days or 0
        parts.append(f"inactive {b.inactive_periods}x{period:g}d -{lost:g}")
    tail = f" -> {tier.action}"
    body = head + ("; " + ", ".join(parts) if parts else "")
    if len(body) + len(tail) > SUMMARY_LIMIT:
        body = body[: SUMMARY_LIMIT - len(tail) - 1].rstrip(", ") + "…"
    return body + tail


def build_result(
    compiled: CompiledConfig, lead_key: str, b: Breakdown, as_of: datetime
) -> ScoreResult:
    """The public result of a breakdown (shared by both scoring paths)."""
    config = compiled.config
    tier = config.tiers[b.tier]
    stage = config.stages[b.stage]
    fragments = _fragments(compiled, b)
    reasons = tuple(reason for reason, _ in fragments)
    return ScoreResult(
        lead_key=lead_key,
        score=b.score,
        tier=tier.name,
        action=tier.action,
        reasons=reasons,
        fit=round(b.fit, 2) + 0.0,
        intent=round(b.intent, 2) + 0.0,
        stage=stage.name,
        routing=stage.routing or tier.routing,
        summary=summarize(compiled, b, [text for _, text in fragments]),
        config_version=compiled.version,
        model_version=None,
        computed_at=as_of,
    )
