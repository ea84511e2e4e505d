"""The vectorized path equals the reference, result for result, on random inputs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from leadbridge.core.errors import ConfigError
from leadbridge.core.models import Activity, Lead
from leadbridge.core.vocabulary import KINDS
from leadbridge.scoring.rules import PRESETS, RulesScorer, load_config, parse_config

T0 = datetime(2024, 1, 1, tzinfo=UTC)
KIND_LIST = sorted(KINDS)
TEXT = {
    "industry": [None, "SaaS", "software", "student", "Banking", "manufacturing", "bakery"],
    "job_title": [None, "Head of Sales", "HR manager", "CIO", "intern", "Directrice RH"],
    "country": [None, "CH", "Suisse", "US", "fr", "Liechtenstein"],
    "region": [None, "Genève", "ZH", "Vaud", "ti", "Zug"],
    "language": [None, "de-CH", "fr", "Italiano", "en", "rm"],
    "seniority": [None, "director", "staff", "vp"],
}
CUSTOM = {
    "job_status": [None, "CDI", "cdd", "Indépendant", "auto-entrepreneur"],
    "requested_amount": [None, 400_000, "500'000", 0, 250_000.5],
    "property_value": [None, 500_000, 0, 600_000, "n/a"],
    "it_budget_chf": [None, 200_000, 50_000],
    "email_domain_type": [None, "personal", "corporate"],
    "project": [None, "none", "buy"],
}


def random_lead(rng: random.Random, index: int) -> Lead:
    custom = {k: rng.choice(v) for k, v in CUSTOM.items()}
    return Lead(
        key=f"crm:{index}",
        company_size=rng.choice([None, 0, 5, 9, 10, 50, 199, 200, 500, 501, 5000]),
        annual_revenue=rng.choice([None, 1e6, 1e7, 2e7]),
        custom={k: v for k, v in custom.items() if v is not None},
        **{k: rng.choice(v) for k, v in TEXT.items()},
    )


def random_activities(rng: random.Random, key: str, n: int) -> list[Activity]:
    acts = []
    for _ in range(n):
        kind = rng.choice(KIND_LIST)
        attributes = {}
        if kind == "simulator_use" and rng.random() < 0.6:
            attributes = {
                "requested_amount": rng.choice([300_000, 450_000, 480_000]),
                "property_value": rng.choice([400_000, 500_000]),
            }
        acts.append(
            Activity(
                lead_key=key,
                channel=KINDS[kind],
                kind=kind,
                occurred_at=T0 + timedelta(seconds=rng.randrange(0, 400 * 86_400)),
                source="t",
                count=rng.choice([1, 1, 1, 2, 5, 30]),
                value=rng.choice([None, 1.0, 3.0, 59.9, 60.0, 70.0]),
                attributes=attributes,
            )
        )
    return acts


def assert_same(scorer: RulesScorer, items, as_of) -> None:
    fast = scorer.breakdowns_many(items, as_of=as_of)
    for (lead, acts), got in zip(items, fast, strict=True):
        assert got == scorer.breakdown(lead, acts, as_of=as_of), lead.key
    results = scorer.score_many(items, as_of=as_of)
    for (lead, acts), got in zip(items, results, strict=True):
        assert got == scorer.score(lead, acts, as_of=as_of)


@pytest.mark.parametrize("preset", PRESETS)
def test_ten_thousand_random_leads(preset):
    scorer = RulesScorer(load_config(preset))
    rng = random.Random(f"10k-{preset}")
    n = 10_000 // len(PRESETS) if preset != "omnichannel" else 10_000
    items = []
    for i in range(n):
        lead = random_lead(rng, i)
        items.append((lead, random_activities(rng, lead.key, rng.randrange(0, 12))))
    as_of = T0 + timedelta(days=rng.randrange(30, 420), seconds=rng.randrange(86_400))
    assert_same(scorer, items, as_of)


RULE_KINDS = [
    "page_view:*",
    "page_view:pricing",
    "email_click",
    "email_open",
    "webinar_attended",
    "simulator_use",
    "email_unsubscribe",
    "call_refused",
    "*",
]


@st.composite
def configs(draw) -> str:
    lines = ['name = "random"', "[intent]"]
    if draw(st.booleans()):
        lines.append(f"default_max_per_day = {draw(st.integers(1, 6))}")
    groups: dict[str, bool] = {}
    rules = []
    used: set[str] = set()
    for i in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(RULE_KINDS))
        conditional = draw(st.booleans())
        if kind in used and not conditional:
            continue
        if not conditional:
            used.add(kind)
        points = draw(st.sampled_from([-40, -7.5, -1, 0.25, 1, 2.5, 3, 8, 15, 33.3]))
        group = draw(st.sampled_from(["", "g1", "g2"]))
        if group and groups.setdefault(group, points > 0) != (points > 0):
            group = ""
        channel = (
            "web" if kind == "*" or kind.startswith(("page", "sim")) else KINDS.get(kind, "web")
        )
        channel = getattr(channel, "value", channel)
        rule = [
            "[[intent.rules]]",
            f'name = "r{i}"',
            f'channel = "{channel}"',
            f'kinds = ["{kind}"]',
            f"points = {points}",
        ]
        if group:
            rule.append(f'group = "{group}"')
        if draw(st.booleans()):
            rule.append(f"max_per_day = {draw(st.integers(1, 4))}")
        choice = draw(st.sampled_from(["", "once", "max"]))
        if choice == "once":
            rule.append("repeatable = false")
        elif choice == "max":
            rule.append(f"max_count = {draw(st.integers(1, 9))}")
        if conditional:
            rule.append(f"min_value = {draw(st.sampled_from([1.0, 3.0, 60.0]))}")
        rules.append("\n".join(rule))
    for name, positive in groups.items():
        if draw(st.booleans()):
            bound = draw(st.sampled_from([5, 12.5, 40]))
            key = "max_points" if positive else "min_points"
            rules.append(f"[intent.groups.{name}]\n{key} = {bound if positive else -bound}")
    strategy = draw(st.sampled_from(["none", "linear", "exponential", "window"]))
    decay = {
        "none": "",
        "linear": f"points_per_period = {draw(st.sampled_from([0.5, 2, 3]))}\n"
        f"period_days = {draw(st.sampled_from([1, 7, 2.5]))}",
        "exponential": f"half_life_days = {draw(st.sampled_from([3, 30, 45.5]))}",
        "window": f"window_days = {draw(st.integers(1, 90))}",
    }[strategy]
    negative = "apply_to_negative = true" if draw(st.booleans()) else ""
    fit = """
[fit]
max_points = 30
[[fit.criteria]]
name = "saas"
field = "industry"
any_of = ["saas", "software"]
points = 12.5
[[fit.criteria]]
name = "size"
field = "company_size"
min = 50
max = 501
points = 20
[[fit.criteria]]
name = "ltv"
field = "custom.requested_amount"
ratio_to = "custom.property_value"
max = 0.8
points = 7
[[fit.criteria]]
name = "student"
field = "industry"
any_of = ["student"]
disqualify = true
"""
    return (
        "\n".join(lines + rules)
        + fit
        + f'\n[decay]\nstrategy = "{strategy}"\n{decay}\n{negative}\n'
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs(), seed=st.integers(0, 2**32), days=st.integers(0, 420))
def test_random_configs_and_leads(config, seed, days):
    try:
        scorer = RulesScorer(parse_config(config, file="random.toml"))
    except ConfigError:  # e.g. a conditional rule shadowed by an unconditional one
        assume(False)
    rng = random.Random(seed)
    items = []
    for i in range(rng.randrange(1, 40)):
        lead = random_lead(rng, i)
        items.append((lead, random_activities(rng, lead.key, rng.randrange(0, 25))))
    assert_same(scorer, items, T0 + timedelta(days=days, seconds=rng.randrange(86_400)))
