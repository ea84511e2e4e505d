"""Replay, score history rows and rescore dry-run diffs."""

from __future__ import annotations

import json
import random
from datetime import timedelta

from leadbridge.core.models import Lead
from leadbridge.scoring.rules import (
    RulesScorer,
    diff,
    explain,
    format_diff,
    from_history_row,
    load_config,
    parse_config,
    replay,
    rescore_plan,
    to_history_row,
    verify_history,
)
from leadbridge.scoring.rules.loader import preset_path

OMNI = RulesScorer(load_config("omnichannel"))


def test_replay_at_ten_random_dates_equals_stored_history(act, t0):
    rng = random.Random(3)
    kinds = [
        "page_view:pricing",
        "email_click",
        "webinar_attended",
        "email_unsubscribe",
        "page_view:home",
        "meeting_request",
    ]
    acts = [act(rng.choice(kinds), hours=rng.uniform(0, 24 * 120)) for _ in range(40)]
    lead = Lead(key="hubspot:1", job_title="HR director", company_size=300)
    instants = sorted(t0 + timedelta(hours=rng.uniform(-24, 24 * 150)) for _ in range(10))
    stored = []
    seen = []
    for moment in instants:  # the history is written as time passes: only past events exist
        seen = [a for a in acts if a.occurred_at <= moment]
        row = to_history_row(OMNI.score(lead, seen, as_of=moment))
        stored.append(json.loads(json.dumps(row)))  # as it would come back from a store
    assert len({r["score"] for r in stored}) > 3
    assert verify_history(OMNI, lead, acts, stored) == []
    replayed = replay(OMNI, lead, acts, instants)
    assert replayed == [from_history_row(row) for row in stored]


def test_tampered_history_is_reported(act, t0):
    acts = [act("page_view:pricing")]
    lead = Lead(key="hubspot:1")
    row = to_history_row(OMNI.score(lead, acts, as_of=t0 + timedelta(hours=1)))
    row["score"] = 99
    (mismatch,) = verify_history(OMNI, lead, acts, [row])
    assert (mismatch.old_score, mismatch.new_score) == (99, 15)


def test_rescore_dry_run_shows_per_lead_diffs(act, t0):
    changed = (
        preset_path("omnichannel")
        .read_text()
        .replace(
            'name = "pricing_page"\nchannel = "web"\nkinds = ["page_view:pricing"]\npoints = 15',
            'name = "pricing_page"\nchannel = "web"\nkinds = ["page_view:pricing"]\npoints = 30',
        )
    )
    new = RulesScorer(parse_config(changed))
    assert new.version != OMNI.version
    as_of = t0 + timedelta(days=1)
    items = [
        (
            Lead(key="a"),
            [act("page_view:pricing", lead="a"), act("email_click", lead="a", count=3)],
        ),
        (Lead(key="b"), [act("email_click", lead="b")]),
        (Lead(key="c"), [act("page_view:pricing", lead="c")]),
    ]
    current = {r.lead_key: r for r in OMNI.score_many(items, as_of=as_of)}
    plan = rescore_plan(current, new.score_many(items, as_of=as_of))
    assert [d.lead_key for d in plan] == ["a", "c"]
    first = plan[0]
    assert (first.old_score, first.new_score, first.delta) == (39, 54, 15)
    assert first.changed == (("pricing_page", 15.0, 30.0),)
    line = format_diff(first)
    assert line.startswith("a: 39 -> 54 (+15), tier warm -> hot")
    assert "pricing_page 15->30" in line


def test_diff_against_never_scored_lead(act, t0):
    new = OMNI.score(Lead(key="z"), [act("email_reply", lead="z")], as_of=t0 + timedelta(hours=1))
    change = diff(None, new)
    assert change.is_change
    assert change.added == ("email_reply",)
    assert format_diff(change).startswith("z: — -> 20 (+20)")


def test_explain_lists_rules_points_decay_and_version(act, t0):
    acts = [act("webinar_attended"), act("email_unsubscribe", days=1)]
    result = OMNI.score(Lead(key="hubspot:1"), acts, as_of=t0 + timedelta(weeks=3))
    text = explain(result)
    assert OMNI.version in text
    assert "webinar_attended" in text
    assert "+19.00  decay x0.76" in text
    assert "-30.00" in text
    assert result.summary in text
