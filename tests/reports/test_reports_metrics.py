from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from leadbridge.core.errors import ConfigError
from leadbridge.reports.advisor import advise
from leadbridge.reports.dataset import load_leads
from leadbridge.reports.drift import psi
from leadbridge.reports.kpis import ReportOptions, build_report, decided_mask

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # the synthetic store's 'now' (conftest)
OPTIONS = ReportOptions(as_of=AS_OF, maturity_days=90.0, capacity=20)


def test_kpis_match_a_lead_by_lead_computation(synthetic_store, oracle):
    report = build_report(synthetic_store, OPTIONS)
    exp = oracle.expected(synthetic_store)
    assert report.summary.leads_scored == exp.leads
    assert report.summary.leads_unscored > 0
    assert report.summary.scored_after_outcome == exp.leaky > 0
    assert {t.tier: t.leads for t in report.tiers} == exp.tier_leads
    assert [t.tier for t in report.tiers] == ["cold", "warm", "hot", "very_hot"]
    for row in report.tiers:
        assert row.decided == exp.tier_decided.get(row.tier, 0)
        assert row.won == exp.tier_won.get(row.tier, 0)
        assert row.conversion_rate == pytest.approx(exp.conversion(row.tier))
    assert report.hot.decided == exp.hot_decided
    assert report.hot.won == exp.hot_won
    assert report.hot.precision == pytest.approx(exp.precision)
    assert report.hot.false_positive_rate == pytest.approx(exp.false_positive_rate)
    assert report.hot.meets_target == (exp.false_positive_rate < 0.30)
    assert report.false_negatives.missed == exp.missed
    assert report.false_negatives.conversions == exp.conversions
    # Conversion rises with the score in this data, so the top decile lifts.
    assert report.deciles[0].lift is not None
    assert report.deciles[0].lift > 1.2
    assert report.deciles[-1].cumulative_gain == pytest.approx(1.0)
    assert sum(d.leads for d in report.deciles) == sum(dec for _, dec, _ in exp.scores)


def test_deciles_lift_and_gains_by_hand(sqlite_store, oracle):
    report = build_report(sqlite_store, OPTIONS)
    exp = oracle.expected(sqlite_store)
    decided = sorted(((s, w) for s, d, w in exp.scores if d), key=lambda x: -x[0])
    top = decided[: len(decided) // 10 + (len(decided) % 10 > 0)]
    base = sum(w for _, w in decided) / len(decided)
    first = report.deciles[0]
    assert first.leads == len(top)
    assert first.min_score == min(s for s, _ in top)
    assert first.max_score == 100 or first.max_score == max(s for s, _ in decided)
    # Ties at the boundary may swap leads of equal score, never the decile's scores.
    assert first.conversion_rate is not None
    assert first.lift == pytest.approx(first.conversion_rate / base)


def test_false_negatives_show_the_signals_of_missed_conversions(sqlite_store, oracle):
    report = build_report(sqlite_store, OPTIONS)
    fn = report.false_negatives
    assert fn.missed > 0
    assert 0 < len(fn.examples) <= 15
    assert all(e.tier == "cold" and e.score <= 25 for e in fn.examples)
    assert all(e.won_at is not None for e in fn.examples)
    assert any("Pricing page viewed" in r for e in fn.examples for r in e.reasons)
    kinds = {s.kind for s in fn.signals}
    assert kinds <= set(oracle.kinds)
    for signal in fn.signals:
        assert 0 < signal.missed_share <= 1


def test_velocity_uses_stage_dates_and_outcomes(sqlite_store, oracle):
    report = build_report(sqlite_store, OPTIONS)
    table = load_leads(sqlite_store)
    stages = {(v.tier, v.stage): v for v in report.velocity}
    all_mql = stages[("all", "mql")]
    days = (table.mql_at - table.created) / 86_400
    days = days[np.isfinite(days)]
    assert all_mql.leads == days.size
    assert all_mql.median_days == pytest.approx(float(np.median(days)))
    assert 0.5 <= all_mql.median_days <= 20
    assert ("all", "won") in stages
    assert ("all", "sql") in stages


def test_drift_psi_and_distribution():
    same = np.array([10, 20, 30, 40.0])
    assert psi(same, same) == pytest.approx(0.0)
    assert psi(same, same[::-1]) > 0.25


def test_distribution_periods_cover_every_score(sqlite_store, oracle):
    report = build_report(sqlite_store, OPTIONS)
    scored = [r for r in report.distribution if r.basis == "scored"]
    created = [r for r in report.distribution if r.basis == "created"]
    assert sum(r.leads for r in created) == report.summary.leads_scored
    total_history = sum(r.leads for r in scored)
    assert total_history > report.summary.leads_scored  # rescored leads count twice
    assert all(sum(r.bands) == r.leads for r in report.distribution)


def test_operations_api_budget_and_sync_health(synthetic_store, oracle):
    report = build_report(synthetic_store, OPTIONS.model_copy(update={"crms": {"crm-a": "acme"}}))
    api = {a.connection: a for a in report.operations.api}
    assert api["crm-a"].crm == "acme"
    assert api["crm-b"].crm == "bhub"  # inferred from the lead keys
    assert api["crm-a"].total == 45 + 7 + 3
    assert api["crm-a"].minimum == 47
    sync = {s.connection: s for s in report.operations.sync}
    assert sync["crm-b"].dead_letters_open == 1
    assert sync["crm-a"].last_status == "ok"
    assert sync["crm-a"].last_elapsed_s == 12.5
    assert sum(d.calls for d in report.operations.api_days) == sum(a.total for a in api.values())


def test_connection_scope(sqlite_store, oracle):
    whole = build_report(sqlite_store, OPTIONS)
    a = build_report(sqlite_store, OPTIONS.model_copy(update={"connection": "crm-a"}))
    b = build_report(sqlite_store, OPTIONS.model_copy(update={"connection": "crm-b"}))
    assert a.summary.leads_scored + b.summary.leads_scored == whole.summary.leads_scored
    assert [s.connection for s in a.operations.sync] == ["crm-a"]


def test_threshold_advisor_fills_the_capacity(sqlite_store, oracle):
    table = load_leads(sqlite_store)
    decided = decided_mask(table, OPTIONS)
    advice = advise(table, decided, capacity=5, per="week", as_of=AS_OF)
    born = table.created
    window = born > (AS_OF - timedelta(weeks=26)).timestamp()
    weeks = (AS_OF.timestamp() - born[window].min()) / (7 * 86_400)

    def weekly(t: int) -> float:
        return float(((table.score >= t) & window).sum() / weeks)

    assert weekly(advice.threshold) <= 5 < weekly(advice.threshold - 1)
    assert advice.expected_volume == pytest.approx(weekly(advice.threshold))
    won = decided & table.won & (table.score >= advice.threshold)
    assert advice.precision == pytest.approx(
        won.sum() / (decided & (table.score >= advice.threshold)).sum()
    )
    assert advice.recall == pytest.approx(won.sum() / (decided & table.won).sum())
    assert advice.expected_conversions == pytest.approx(advice.expected_volume * advice.precision)
    monthly = advise(table, decided, capacity=5 * 52 / 12, per="month", as_of=AS_OF)
    assert monthly.threshold == advice.threshold
    everyone = advise(table, decided, capacity=10_000, per="week", as_of=AS_OF)
    assert everyone.threshold == 0
    assert everyone.recall == pytest.approx(1.0)
    with pytest.raises(ConfigError):
        advise(table, decided, capacity=0, per="week", as_of=AS_OF)


def test_empty_store_gives_an_empty_report(tmp_path):
    from leadbridge.reports.document import render_html
    from leadbridge.sync.state import open_store

    store = open_store(tmp_path / "empty.db")
    report = build_report(store, OPTIONS)
    assert report.summary.leads_scored == 0
    assert report.tiers == ()
    assert report.deciles == ()
    assert report.hot.precision is None
    html = render_html(report)
    assert "<svg" not in html.split("<main>")[1].split("advice")[0] or report.advice
    store.close()


def test_hot_and_cold_tiers_must_not_overlap(sqlite_store, oracle):
    with pytest.raises(ConfigError):
        build_report(sqlite_store, ReportOptions(hot_tiers=("cold",), cold_tiers=("cold",)))
