"""Cross-field checks of a scoring config, each failing with the key it is about.

Field-level constraints (types, signs, unknown keys) are pydantic's; what needs several
fields at once lives here: a kind that belongs to another channel, a conditional rule
shadowed by an unconditional one, a group mixing bonuses and penalties, overlapping or
gapped tiers, a decay strategy missing its parameter.
"""

from __future__ import annotations

import re

from leadbridge.core.errors import ConfigError
from leadbridge.core.vocabulary import KINDS
from leadbridge.scoring.rules.config import (
    KIND,
    LEAD_FIELDS,
    DecayConfig,
    Grid,
    IntentRule,
    ScoringConfig,
    Stage,
    Tier,
    field_type,
    group_of,
)

__all__ = ["check_config", "check_field", "family_prefix"]


def check_config(config: object) -> None:
    """Raise `ConfigError` (with its key) on the first incoherence found.

    Typed `object` because it runs from inside `ScoringConfig`'s own validator.
    """
    if not isinstance(config, ScoringConfig):
        raise TypeError(f"expected a ScoringConfig, got {type(config).__name__}")
    _check_rules(config)
    _check_fit(config)
    _check_decay(config.decay)
    _check_tiers(config.tiers)
    _check_stages(config.stages)
    _check_grid(config.grid)


def family_prefix(pattern: str) -> str | None:
    """``page_view:*`` -> ``page_view:``; ``*`` -> ``""``; an exact kind -> None."""
    return pattern[:-1] if pattern.endswith("*") else None


def _check_rules(config: ScoringConfig) -> None:
    known = set(KINDS) | set(config.extra_kinds)
    for i, kind in enumerate(config.extra_kinds):
        if not KIND.match(kind) or "*" in kind:
            raise ConfigError(f"'{kind}' is not a kind name", key=f"extra_kinds[{i}]")
    seen_names: set[str] = set()
    unconditional: dict[str, str] = {}
    group_sign: dict[str, tuple[bool, str]] = {}
    for rule in config.intent.rules:
        where = f"intent.rules[{rule.name}]"
        if rule.name in seen_names:
            raise ConfigError("duplicate rule name", key=f"{where}.name")
        seen_names.add(rule.name)
        if rule.points == 0:
            raise ConfigError("points must not be 0", key=f"{where}.points")
        if (
            rule.min_value is not None
            and rule.max_value is not None
            and rule.min_value >= rule.max_value
        ):
            raise ConfigError("min_value must be below max_value", key=f"{where}.min_value")
        if not rule.repeatable and rule.max_count not in (None, 1):
            raise ConfigError("a once-only rule cannot set max_count > 1", key=f"{where}.max_count")
        for kind in rule.kinds:
            _check_kind(kind, rule, known, where)
            conditional = rule.min_value is not None or rule.max_value is not None
            if kind in unconditional:
                raise ConfigError(
                    f"kind '{kind}' is already fully taken by rule '{unconditional[kind]}'",
                    key=f"{where}.kinds",
                )
            if not conditional:
                unconditional[kind] = rule.name
        group = group_of(rule)
        positive = rule.points > 0
        if group in group_sign and group_sign[group][0] != positive:
            raise ConfigError(
                f"group '{group}' mixes bonuses and penalties (see rule '{group_sign[group][1]}')",
                key=f"{where}.group",
            )
        group_sign.setdefault(group, (positive, rule.name))
    for name, group_cfg in config.intent.groups.items():
        if name not in group_sign:
            raise ConfigError("group is not used by any rule", key=f"intent.groups.{name}")
        positive = group_sign[name][0]
        if positive and group_cfg.min_points is not None:
            raise ConfigError("a bonus group takes max_points", key=f"intent.groups.{name}")
        if not positive and group_cfg.max_points is not None:
            raise ConfigError("a penalty group takes min_points", key=f"intent.groups.{name}")


def _check_kind(kind: str, rule: IntentRule, known: set[str], where: str) -> None:
    if not KIND.match(kind):
        raise ConfigError(f"'{kind}' is not a kind or a 'family:*' pattern", key=f"{where}.kinds")
    prefix = family_prefix(kind)
    if prefix is None:
        if kind not in known:
            raise ConfigError(
                f"unknown activity kind '{kind}' (declare it in extra_kinds if it is custom)",
                key=f"{where}.kinds",
            )
        channel = KINDS.get(kind)
        if channel is not None and channel != rule.channel:
            raise ConfigError(
                f"kind '{kind}' belongs to channel '{channel.value}', not '{rule.channel.value}'",
                key=f"{where}.channel",
            )
    elif not any(k.startswith(prefix) for k in known):
        raise ConfigError(f"pattern '{kind}' matches no known kind", key=f"{where}.kinds")


def _check_fit(config: ScoringConfig) -> None:
    names: set[str] = set()
    for crit in config.fit.criteria:
        where = f"fit.criteria[{crit.name}]"
        if crit.name in names:
            raise ConfigError("duplicate criterion name", key=f"{where}.name")
        names.add(crit.name)
        check_field(crit.field, f"{where}.field")
        if crit.ratio_to is not None:
            check_field(crit.ratio_to, f"{where}.ratio_to")
        tests = [
            crit.any_of is not None,
            crit.contains_any is not None,
            crit.min is not None or crit.max is not None,
            crit.present is not None,
        ]
        if sum(tests) != 1:
            raise ConfigError(
                "give exactly one of any_of, contains_any, min/max, present", key=where
            )
        if crit.ratio_to is not None and not tests[2]:
            raise ConfigError("ratio_to needs min and/or max", key=f"{where}.ratio_to")
        if crit.min is not None and crit.max is not None and crit.min >= crit.max:
            raise ConfigError("min must be below max", key=f"{where}.min")
        if (tests[2] or crit.ratio_to) and field_type(crit.field) == "text":
            raise ConfigError(f"'{crit.field}' is not numeric", key=f"{where}.field")
        if crit.disqualify and crit.points != 0:
            raise ConfigError("a disqualifying criterion takes no points", key=f"{where}.points")
        if not crit.disqualify and crit.points == 0:
            raise ConfigError("points must not be 0", key=f"{where}.points")
    for i, fact in enumerate(config.fit.activity_facts):
        for kind in fact.kinds:
            if "*" not in kind and kind not in KINDS and kind not in config.extra_kinds:
                raise ConfigError(
                    f"unknown activity kind '{kind}'", key=f"fit.activity_facts[{i}].kinds"
                )


def check_field(field: str, key: str) -> None:
    """Fail on a lead attribute the fit scorer cannot read."""
    if field.startswith("custom."):
        if not re.match(r"^custom\.[A-Za-z0-9_]+$", field):
            raise ConfigError(f"'{field}' is not a valid custom key", key=key)
        return
    if field not in LEAD_FIELDS:
        raise ConfigError(
            f"unknown lead field '{field}' (known: {', '.join(sorted(LEAD_FIELDS))}, custom.<key>)",
            key=key,
        )


def _check_decay(decay: DecayConfig) -> None:
    needs = {
        "none": set(),
        "linear": {"points_per_period", "period_days"},
        "exponential": {"half_life_days"},
        "window": {"window_days"},
    }[decay.strategy]
    for key in ("points_per_period", "period_days", "half_life_days", "window_days"):
        given = getattr(decay, key) is not None
        if key in needs and not given:
            raise ConfigError(f"strategy '{decay.strategy}' needs {key}", key=f"decay.{key}")
        if key not in needs and given:
            raise ConfigError(f"not used by strategy '{decay.strategy}'", key=f"decay.{key}")


def _check_tiers(tiers: tuple[Tier, ...]) -> None:
    if not tiers:
        raise ConfigError("at least one tier is needed", key="tiers")
    expected = 0
    names: set[str] = set()
    for tier in tiers:
        where = f"tiers[{tier.name}]"
        if tier.name in names:
            raise ConfigError("duplicate tier name", key=f"{where}.name")
        names.add(tier.name)
        if tier.min > tier.max:
            raise ConfigError("min is above max", key=f"{where}.min")
        if tier.min < expected:
            raise ConfigError(
                f"overlaps the previous tier (starts at {tier.min})", key=f"{where}.min"
            )
        if tier.min > expected:
            raise ConfigError(
                f"leaves scores {expected}–{tier.min - 1} uncovered", key=f"{where}.min"
            )
        expected = tier.max + 1
    if expected != 101:
        raise ConfigError("the last tier must end at 100", key=f"tiers[{tiers[-1].name}].max")


def _check_stages(stages: tuple[Stage, ...]) -> None:
    if not stages:
        raise ConfigError("at least one stage is needed", key="stages")
    first = stages[0]
    if first.min_score != 0 or first.min_fit is not None or first.min_intent is not None:
        raise ConfigError("the first stage must have no minimum", key=f"stages[{first.name}]")
    names: set[str] = set()
    previous = -1
    for stage in stages:
        where = f"stages[{stage.name}]"
        if stage.name in names:
            raise ConfigError("duplicate stage name", key=f"{where}.name")
        names.add(stage.name)
        if stage.min_score < previous:
            raise ConfigError("stages must be in ascending min_score", key=f"{where}.min_score")
        previous = stage.min_score


def _check_grid(grid: Grid) -> None:
    if grid.fit_a <= grid.fit_b:
        raise ConfigError("fit_a must be above fit_b", key="grid.fit_a")
    if grid.intent_1 <= grid.intent_2:
        raise ConfigError("intent_1 must be above intent_2", key="grid.intent_1")
