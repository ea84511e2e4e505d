from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from leadbridge.core.models import Activity, Channel, Consent, Lead
from leadbridge.scoring.predictive.features import (
    FEATURE_SET_VERSION,
    FEATURES,
    ActivityColumns,
    LeadColumns,
    build_features,
    feature_names,
)

NOW = datetime(2026, 1, 31, tzinfo=UTC)


def _a(
    key: str, kind: str, days_ago: float, channel: Channel = Channel.WEB, **kw: object
) -> Activity:
    return Activity(
        lead_key=key,
        channel=channel,
        kind=kind,
        occurred_at=NOW - timedelta(days=days_ago),
        source="t",
        **kw,  # type: ignore[arg-type]
    )


def _row(leads: list[Lead], acts: list[Activity], cut: datetime = NOW) -> list[dict[str, float]]:
    x = build_features(
        LeadColumns.from_leads(leads),
        ActivityColumns.from_activities(acts, [lead.key for lead in leads]),
        np.full(len(leads), cut.timestamp()),
    )
    return [dict(zip(feature_names(), map(float, row), strict=True)) for row in x]


def test_features_are_declared_once_and_versioned() -> None:
    names = feature_names()
    assert len(names) == len(set(names)) == len(FEATURES)
    assert FEATURE_SET_VERSION
    assert all(spec.description for spec in FEATURES)
    assert not any("call_completed" in n or "meeting_held" in n for n in names)


def test_seed_features_ltv_hesitation_visits_recency() -> None:
    lead = Lead(
        key="a",
        email="x@gmail.com",
        company_size=9,
        created_at=NOW - timedelta(days=50),
        consent=Consent(do_not_call=True),
    )
    acts = [
        _a("a", "simulator_use", 10, value=150_000.0, attributes={"property_value": 300_000}),
        _a("a", "simulator_use", 5, value=240_000.0, attributes={"property_value": 300_000}),
        _a("a", "page_view:rates", 4, value=120.0),
        _a("a", "page_view:rates", 4.5, value=60.0),
        _a("a", "site_visit", 40),
        _a("a", "email_open", 2, Channel.EMAIL, count=3),
    ]
    row = _row([lead], acts)[0]
    assert row["seed:implicit_ltv"] == pytest.approx(0.8)
    assert row["seed:loan_amount"] == pytest.approx(240_000)
    assert row["seed:simulator_uses"] == 2
    assert row["seed:rates_hesitation_s"] == pytest.approx(180)
    assert row["seed:rates_views"] == 2
    assert row["time:visits_30d"] == 3  # days 10, 5 and 4 (4.5 shares a calendar day with 4 or 5)
    assert row["time:recency_days"] == pytest.approx(2)
    assert row["time:days_since_first_touch"] == pytest.approx(50)
    assert row["kind:email_open:count"] == 3
    assert row["kind:email_open:decayed"] == pytest.approx(3 * 2 ** (-2 / 30), rel=1e-5)
    assert row["channel:web:count"] == 5
    assert row["fit:free_email"] == 1
    assert row["fit:do_not_call"] == 1


def test_point_in_time_cut_ignores_later_events_and_sales_actions() -> None:
    lead = Lead(key="a")
    acts = [
        _a("a", "page_view:pricing", 10),
        _a("a", "page_view:pricing", 1),
        _a("a", "call_completed", 3, Channel.PHONE, value=900.0),
    ]
    cut = NOW - timedelta(days=5)
    row = _row([lead], acts, cut)[0]
    assert row["kind:page_view:pricing:count"] == 1
    assert row["channel:phone:count"] == 0
    assert row["time:recency_days"] == pytest.approx(5)


def test_lead_without_activity_and_unknown_kind() -> None:
    rows = _row([Lead(key="a"), Lead(key="b")], [_a("b", "custom_thing", 1)])
    assert np.isnan(rows[0]["time:recency_days"])
    assert rows[0]["channel:web:count"] == 0
    assert rows[1]["channel:web:count"] == 1
