"""Seed 003's worked examples and point table, with the shipped `omnichannel` preset."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadbridge.core.models import Lead
from leadbridge.scoring.rules import RulesScorer, load_config

OMNI = RulesScorer(load_config("omnichannel"))
LEAD = Lead(key="hubspot:1")


def both(scorer, lead, acts, as_of):
    """Score with the reference and the batch path; they must agree."""
    one = scorer.score(lead, acts, as_of=as_of)
    (many,) = scorer.score_many([(lead, acts)], as_of=as_of)
    assert one == many
    return one


def test_five_touchpoints_make_52_hot(act, t0):
    acts = [
        act("page_view:home"),
        act("page_view:blog", hours=1),
        act("page_view:pricing", hours=2),
        act("email_click", days=1),
        act("webinar_attended", days=2),
    ]
    result = both(OMNI, LEAD, acts, t0 + timedelta(days=3))
    assert result.score == 52
    assert result.tier == "hot"
    assert result.action == "sales_alert"
    assert {r.rule: r.points for r in result.reasons} == {
        "home_visit": 1,
        "blog_article": 3,
        "pricing_page": 15,
        "email_click": 8,
        "webinar_attended": 25,
    }
    assert result.intent == 52
    assert result.fit == 0
    assert result.config_version == OMNI.version
    assert result.computed_at == t0 + timedelta(days=3)


def test_fifty_points_inactive_25_weeks_fall_to_zero(act, t0):
    acts = [act("webinar_attended"), act("cta_click:buy", hours=1)]
    last = t0 + timedelta(hours=1)
    assert both(OMNI, LEAD, acts, last).score == 50
    assert both(OMNI, LEAD, acts, last + timedelta(weeks=1) - timedelta(seconds=1)).score == 50
    assert both(OMNI, LEAD, acts, last + timedelta(weeks=1)).score == 48
    assert both(OMNI, LEAD, acts, last + timedelta(weeks=24)).score == 2
    gone = both(OMNI, LEAD, acts, last + timedelta(weeks=25))
    assert gone.score == 0
    assert gone.tier == "cold"
    assert all(r.decay_factor == 0 for r in gone.reasons)
    assert both(OMNI, LEAD, acts, last + timedelta(weeks=60)).score == 0


def test_new_interaction_restarts_the_decay_clock(act, t0):
    acts = [act("webinar_attended"), act("cta_click:buy"), act("page_view:home", days=70)]
    result = both(OMNI, LEAD, acts, t0 + timedelta(days=70, hours=1))
    assert result.score == 51


def test_unsubscribe_removes_30(act, t0):
    base = [
        act("page_view:home"),
        act("page_view:blog"),
        act("page_view:pricing"),
        act("email_click"),
        act("webinar_attended"),
    ]
    as_of = t0 + timedelta(days=1)
    before = both(OMNI, LEAD, base, as_of)
    after = both(OMNI, LEAD, [*base, act("email_unsubscribe", hours=3)], as_of)
    assert before.score - after.score == 30
    assert after.tier == "cold"
    unsubscribe = next(r for r in after.reasons if r.rule == "unsubscribe")
    assert unsubscribe.points == -30
    assert unsubscribe.decay_factor == 1.0


def test_penalties_do_not_decay_under_linear(act, t0):
    acts = [act("webinar_question"), act("email_spam_report", days=1)]
    result = both(OMNI, LEAD, acts, t0 + timedelta(weeks=30))
    assert result.intent == -40  # 35 decayed away, the spam complaint stays
    assert result.score == 0


@pytest.mark.parametrize(
    ("kind", "points"),
    [
        ("page_view:home", 1),
        ("page_view:blog", 3),
        ("page_view:pricing", 15),
        ("cta_click:buy", 25),
        ("email_open", 2),
        ("email_click", 8),
        ("email_reply", 20),
        ("social_follow", 3),
        ("social_comment", 10),
        ("social_message", 18),
        ("webinar_registered", 12),
        ("webinar_attended", 25),
        ("webinar_question", 35),
        ("tradeshow_visit", 8),
        ("qr_scan", 15),
        ("contact_left", 20),
        ("meeting_request", 40),
        ("email_unsubscribe", -30),
        ("email_spam_report", -40),
        ("ad_hide", -15),
        ("call_refused", -25),
    ],
)
def test_seed_003_point_table(act, t0, kind, points):
    result = both(OMNI, LEAD, [act(kind)], t0 + timedelta(hours=1))
    assert result.intent == points
    assert result.score == max(0, points)


@pytest.mark.parametrize(
    ("homes", "clicks", "tier", "action", "routing"),
    [
        (1, 3, "cold", "passive_nurture", "nurturing_bot"),  # 25
        (2, 3, "warm", "active_nurture", "nurturing_bot"),  # 26
        (2, 6, "warm", "active_nurture", "nurturing_bot"),  # 50
        (3, 6, "hot", "sales_alert", "sales_team"),  # 51
        (3, 9, "hot", "sales_alert", "sales_team"),  # 75
        (4, 9, "very_hot", "priority_followup_24h", "senior_rep"),  # 76
    ],
)
def test_tier_boundaries_and_actions(act, t0, homes, clicks, tier, action, routing):
    acts = [act("page_view:home", count=homes), act("email_click", count=clicks)]
    result = both(OMNI, LEAD, acts, t0 + timedelta(hours=1))
    assert result.score == homes + 8 * clicks
    assert (result.tier, result.action, result.routing) == (tier, action, routing)


def test_events_after_as_of_are_ignored(act, t0):
    acts = [act("page_view:pricing"), act("meeting_request", days=5)]
    assert both(OMNI, LEAD, acts, t0 + timedelta(days=4)).score == 15
    assert both(OMNI, LEAD, acts, t0 + timedelta(days=5)).score == 55


def test_summary_is_short_and_names_the_rules(act, t0):
    acts = [act(k, hours=i) for i, k in enumerate(["page_view:pricing", "email_reply"] * 30)]
    result = both(OMNI, LEAD, acts, t0 + timedelta(days=2))
    assert len(result.summary) <= 250
    assert "pricing_page" in result.summary
    assert result.summary.endswith(f"-> {result.action}")
