"""Fit (profile) scoring: ICP criteria, Swiss cantons and languages, mortgage LTV."""

from __future__ import annotations

from datetime import timedelta

from leadbridge.core.models import Lead
from leadbridge.scoring.rules import RulesScorer, load_config

SAAS = RulesScorer(load_config("b2b_saas"))
SWISS = RulesScorer(load_config("swiss_b2b"))
MORTGAGE = RulesScorer(load_config("mortgage_broker"))
OMNI = RulesScorer(load_config("omnichannel"))


def both(s, lead, acts, as_of):
    one = s.score(lead, acts, as_of=as_of)
    (many,) = s.score_many([(lead, acts)], as_of=as_of)
    assert one == many
    return one


def fit_rules(result):
    return {r.rule: r.points for r in result.reasons if r.group == "fit"}


def test_seed_004_ideal_profile_gets_40(t0):
    lead = Lead(key="a", industry="SaaS", company_size=300, job_title="Directeur commercial")
    result = both(SAAS, lead, [], t0)
    assert result.fit == 40
    assert fit_rules(result) == {
        "fit:saas_industry": 15,
        "fit:size_200_500": 15,
        "fit:sales_leader": 10,
    }


def test_very_small_business_never_outranks_an_ideal_profile(act, t0):
    tiny = Lead(key="a", industry="bakery", company_size=4)
    ideal = Lead(key="b", industry="software", company_size=250, job_title="VP Sales")
    busy = [act("email_click", days=d / 10) for d in range(30)]
    as_of = t0 + timedelta(days=4)
    assert both(SAAS, tiny, busy, as_of).fit == 2
    assert both(SAAS, tiny, busy, as_of).score < both(SAAS, ideal, busy, as_of).score


def test_late_discovered_mismatch_removes_fit_points(t0):
    before = Lead(key="a", job_title="HR manager", company_size=120)
    assert both(OMNI, before, [], t0).fit == 20
    after = before.model_copy(update={"company_size": 6})
    result = both(OMNI, after, [], t0)
    assert result.fit == 0
    assert fit_rules(result) == {"fit:hr_role": 10, "fit:company_too_small": -10}


def test_job_title_matches_whole_words_only(t0):
    assert both(OMNI, Lead(key="a", job_title="Head of HR"), [], t0).fit == 10
    assert both(OMNI, Lead(key="b", job_title="Three-year programme"), [], t0).fit == 0


def test_swiss_cantons_and_languages_are_normalised(t0):
    geneva = Lead(key="a", country="Suisse", region="Genève", language="fr-CH")
    zurich = Lead(key="b", country="CH", region="Zürich", language="Deutsch")
    lugano = Lead(key="c", country="Svizzera", region="Ticino", language="italiano")
    rules_ge = fit_rules(both(SWISS, geneva, [], t0))
    rules_zh = fit_rules(both(SWISS, zurich, [], t0))
    rules_ti = fit_rules(both(SWISS, lugano, [], t0))
    assert rules_ge == {"fit:switzerland": 5, "fit:key_canton": 5, "fit:french_or_italian": 4}
    assert rules_zh == {"fit:switzerland": 5, "fit:key_canton": 5, "fit:german_speaking": 6}
    assert rules_ti == {"fit:switzerland": 5, "fit:french_or_italian": 4}


def test_swiss_outside_market_is_disqualified(t0):
    lead = Lead(key="a", country="USA", industry="software", company_size=900)
    assert both(SWISS, lead, [], t0).fit == 0


def test_swiss_fit_is_capped(t0):
    lead = Lead(
        key="a",
        industry="banking",
        company_size=900,
        job_title="CIO",
        annual_revenue=5e7,
        country="CH",
        region="ZG",
        language="de",
        custom={"it_budget_chf": "250'000"},
    )
    result = both(SWISS, lead, [], t0)
    assert result.fit == 60
    assert fit_rules(result)["cap:fit"] == 60 - (12 + 12 + 10 + 8 + 6 + 5 + 5 + 6)


def test_mortgage_implicit_ltv_from_the_simulator(act, t0):
    lead = Lead(key="boma:1", custom={"job_status": "CDI"})
    sim = act(
        "simulator_use",
        value=1,
        attributes={"requested_amount": 400_000, "property_value": 600_000},
    )
    result = both(MORTGAGE, lead, [sim], t0 + timedelta(hours=1))
    rules = fit_rules(result)
    assert rules["fit:ltv_up_to_80"] == 25
    assert {"fit:amount_known", "fit:property_known", "fit:job_known"} <= set(rules)
    assert result.fit == 20 + 5 + 5 + 5 + 25


def test_mortgage_routing_senior_consultant_vs_bot(act, t0):
    complete = Lead(
        key="boma:a",
        custom={"job_status": "CDI", "requested_amount": 300_000, "property_value": 500_000},
    )
    partial = Lead(
        key="boma:b",
        custom={"job_status": "CDD", "requested_amount": 490_000, "property_value": 500_000},
    )
    acts_a = [act("simulator_use", value=4, lead="boma:a"), act("meeting_request", lead="boma:a")]
    acts_b = [act("simulator_use", value=1, lead="boma:b")]
    as_of = t0 + timedelta(hours=2)
    a = both(MORTGAGE, complete, acts_a, as_of)
    b = both(MORTGAGE, partial, acts_b, as_of)
    assert a.score >= 85
    assert a.routing == "senior_consultant"
    assert a.action == "assign_to_human_now"
    assert b.score < 40
    assert b.routing == "nurturing_bot"
    assert fit_rules(b)["fit:ltv_over_95"] == -15


def test_simulator_facts_respect_as_of(act, t0):
    lead = Lead(key="boma:1")
    early = act(
        "simulator_use", attributes={"requested_amount": 400_000, "property_value": 500_000}
    )
    late = act(
        "simulator_use", days=3, attributes={"requested_amount": 490_000, "property_value": 500_000}
    )
    assert "fit:ltv_up_to_80" not in fit_rules(both(MORTGAGE, lead, [early, late], t0))
    mid = fit_rules(both(MORTGAGE, lead, [early, late], t0 + timedelta(days=1)))
    assert "fit:ltv_80_to_95" in mid
    end = fit_rules(both(MORTGAGE, lead, [early, late], t0 + timedelta(days=4)))
    assert "fit:ltv_over_95" in end


def test_grade_and_stage(act, t0):
    lead = Lead(
        key="a",
        industry="SaaS",
        company_size=300,
        job_title="Head of Sales",
        seniority="director",
        annual_revenue=2e7,
    )
    acts = [act("form_submit"), act("page_view:pricing"), act("email_reply")]
    result = both(SAAS, lead, acts, t0 + timedelta(hours=1))
    assert result.fit == 50
    assert result.stage == "sql"
    assert result.routing == "account_executive"
    assert " A1 " in result.summary
