"""Caps, once-only rules, rollups, decay strategies and fit scoring, on small configs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadbridge.core.errors import ScoringError
from leadbridge.core.models import Lead
from leadbridge.scoring.rules import RulesScorer, parse_config

BASE = """
name = "t"
[intent]
{intent}
[[intent.rules]]
name = "visit"
channel = "web"
kinds = ["page_view:*"]
points = 2
{visit}
[[intent.rules]]
name = "pricing"
channel = "web"
kinds = ["page_view:pricing"]
points = 10
{pricing}
[[intent.rules]]
name = "webinar"
channel = "event"
kinds = ["webinar_attended"]
points = 20
[[intent.rules]]
name = "unsubscribe"
channel = "email"
kinds = ["email_unsubscribe"]
points = -30
repeatable = false
{extra}
"""


def scorer(intent="", visit="", pricing="", extra=""):
    text = BASE.format(intent=intent, visit=visit, pricing=pricing, extra=extra)
    return RulesScorer(parse_config(text, file="test.toml"))


def both(s, acts, as_of, lead=None):
    lead = lead or Lead(key="hubspot:1")
    one = s.score(lead, acts, as_of=as_of)
    (many,) = s.score_many([(lead, acts)], as_of=as_of)
    assert one == many
    assert s.breakdown(lead, acts, as_of=as_of) == s.breakdowns_many([(lead, acts)], as_of=as_of)[0]
    return one


def points_of(result):
    return {r.rule: (r.points, r.count) for r in result.reasons}


def test_most_specific_kind_wins(act, t0):
    result = both(scorer(), [act("page_view:pricing"), act("page_view:blog")], t0 + timedelta(1))
    assert points_of(result) == {"pricing": (10, 1), "visit": (2, 1)}


def test_per_day_cap_counts_rollups_as_many_actions(act, t0):
    s = scorer(visit="max_per_day = 3")
    acts = [act("page_view:blog", count=5), act("page_view:home", hours=2)]
    assert points_of(both(s, acts, t0 + timedelta(hours=5)))["visit"] == (6, 3)
    acts.append(act("page_view:home", days=1))
    assert points_of(both(s, acts, t0 + timedelta(days=2)))["visit"] == (8, 4)


def test_default_per_day_cap_applies_to_every_rule(act, t0):
    s = scorer(intent="default_max_per_day = 2")
    acts = [act("page_view:pricing", count=9), act("webinar_attended", count=3)]
    assert points_of(both(s, acts, t0 + timedelta(hours=1))) == {
        "pricing": (20, 2),
        "webinar": (40, 2),
    }


def test_once_only_and_max_count_keep_the_earliest(act, t0):
    s = scorer(pricing="max_count = 3")
    acts = [act("page_view:pricing", days=d, count=2) for d in range(4)]
    acts += [act("email_unsubscribe"), act("email_unsubscribe", days=3)]
    result = both(s, acts, t0 + timedelta(days=5))
    assert points_of(result) == {"pricing": (30, 3), "unsubscribe": (-30, 1)}


def test_group_caps_clip_and_explain(act, t0):
    s = scorer(intent="[intent.groups.web]\nmax_points = 25\n")
    acts = [act("page_view:pricing", count=2), act("page_view:blog", count=4)]
    result = both(s, acts, t0 + timedelta(hours=1))
    assert result.intent == 25
    assert points_of(result)["cap:web"] == (-3, 1)
    assert sum(r.points for r in result.reasons) == result.intent


def test_penalty_group_floor(act, t0):
    extra = """
[[intent.rules]]
name = "refused"
channel = "phone"
kinds = ["call_refused"]
points = -25
"""
    s = scorer(intent="[intent.groups.negative]\nmin_points = -40\n", extra=extra)
    acts = [act("call_refused", count=3), act("webinar_attended")]
    result = both(s, acts, t0 + timedelta(hours=1))
    assert result.intent == 20 - 40


def test_exponential_half_life_per_event(act, t0):
    s = scorer(extra='[decay]\nstrategy = "exponential"\nhalf_life_days = 10\n')
    acts = [act("webinar_attended"), act("page_view:pricing", days=10)]
    result = both(s, acts, t0 + timedelta(days=20))
    by_rule = {r.rule: r for r in result.reasons}
    assert by_rule["webinar"].points == 5.0
    assert by_rule["webinar"].decay_factor == 0.25
    assert by_rule["pricing"].points == 5.0
    assert by_rule["pricing"].decay_factor == 0.5
    assert result.score == 10


def test_exponential_leaves_penalties_unless_asked(act, t0):
    decay = '[decay]\nstrategy = "exponential"\nhalf_life_days = 10\n'
    acts = [act("email_unsubscribe")]
    as_of = t0 + timedelta(days=10)
    assert both(scorer(extra=decay), acts, as_of).intent == -30
    fading = scorer(extra=decay + "apply_to_negative = true\n")
    assert both(fading, acts, as_of).intent == -15


def test_rolling_window_drops_old_events(act, t0):
    s = scorer(extra='[decay]\nstrategy = "window"\nwindow_days = 30\n')
    acts = [act("webinar_attended"), act("page_view:pricing", days=20)]
    assert both(s, acts, t0 + timedelta(days=29)).intent == 30
    assert both(s, acts, t0 + timedelta(days=31)).intent == 10
    assert both(s, acts, t0 + timedelta(days=51)).intent == 0


def test_value_conditioned_rule(act, t0):
    s = scorer(
        extra="""
[[intent.rules]]
name = "long_demo"
channel = "web"
kinds = ["page_view:demo"]
min_value = 60
points = 12
"""
    )
    acts = [act("page_view:demo", value=90), act("page_view:demo", value=10), act("page_view:demo")]
    assert points_of(both(s, acts, t0 + timedelta(hours=1))) == {
        "long_demo": (12, 1),
        "visit": (4, 2),
    }


def test_naive_as_of_is_refused(act, t0):
    with pytest.raises(ScoringError, match="timezone"):
        scorer().score(Lead(key="a"), [], as_of=t0.replace(tzinfo=None))


def test_lead_without_events_scores_fit_only():
    s = RulesScorer(parse_config(BASE.format(intent="", visit="", pricing="", extra="")))
    from datetime import UTC, datetime

    result = both(s, [], datetime(2025, 1, 1, tzinfo=UTC))
    assert (result.score, result.tier, result.reasons) == (0, "cold", ())


def test_rules_scorer_satisfies_the_scorer_protocol():
    from leadbridge.core.protocols import Scorer

    s = scorer()
    assert isinstance(s, Scorer)
    assert s.version == s.config.version
