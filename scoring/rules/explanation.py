"""Human-readable explanations of a score (seed 003: the right to an explanation).

`explain` prints every rule that fired with its points, count, decay factor and group,
the tier/stage/routing it leads to and the config version, so a prospect's access
request or a salesperson's "why is this lead hot?" gets the full calculation.
"""

from __future__ import annotations

from leadbridge.core.models import ScoreResult

__all__ = ["explain"]


def explain(result: ScoreResult) -> str:
    """A multi-line explanation of one result."""
    lines = [
        f"Lead {result.lead_key}: score {result.score}/100 -> {result.tier}",
        f"  action: {result.action}   routing: {result.routing or '-'}"
        f"   stage: {result.stage or '-'}",
        f"  fit {_num(result.fit)}   intent {_num(result.intent)}",
        f"  as of {result.computed_at.isoformat()}   config {result.config_version}",
    ]
    if result.model_version:
        lines.append(f"  model {result.model_version}")
    if result.reasons:
        width = max(len(r.rule) for r in result.reasons)
        lines.append("  rules that fired:")
        for reason in result.reasons:
            decay = "" if reason.decay_factor == 1.0 else f"  decay x{reason.decay_factor:g}"
            count = "" if reason.count == 1 else f"  x{reason.count}"
            group = f"  [{reason.group}]" if reason.group else ""
            label = f"  {reason.label}" if reason.label else ""
            lines.append(
                f"    {reason.rule:<{width}}  {reason.points:+8.2f}{count}{decay}{group}{label}"
            )
    else:
        lines.append("  no rule fired")
    lines.append(f"  summary: {result.summary}")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
