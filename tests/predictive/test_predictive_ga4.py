import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leadbridge.core.errors import MappingError
from leadbridge.core.models import Lead
from leadbridge.scoring.predictive.ga4 import GA4Export, IdentityMap, render_query


def _param(key: str, *, s: str | None = None, i: int | None = None) -> dict[str, object]:
    return {
        "key": key,
        "value": {"string_value": s, "int_value": i, "float_value": None, "double_value": None},
    }


def _events() -> list[dict[str, object]]:
    base = 1_764_547_200_000_000  # 2025-12-01T00:00:00Z in microseconds
    hour = 3_600_000_000
    return [
        {
            "event_date": "20251201",
            "event_timestamp": base,
            "event_name": "session_start",
            "user_pseudo_id": "111.222",
            "user_id": None,
            "event_params": [],
        },
        {
            "event_date": "20251201",
            "event_timestamp": base + hour,
            "event_name": "view_mortgage_simulator",
            "user_pseudo_id": "111.222",
            "user_id": None,
            "event_params": [_param("loan_amount", s="240000"), _param("property_value", i=300000)],
        },
        {
            "event_date": "20251202",
            "event_timestamp": base + 25 * hour,
            "event_name": "page_view",
            "user_pseudo_id": "111.222",
            "user_id": None,
            "event_params": [
                _param("page_location", s="https://broker.example/taux-immobilier"),
                _param("engagement_time_msec", i=95_000),
            ],
        },
        {
            "event_date": "20251203",
            "event_timestamp": base + 49 * hour,
            "event_name": "download_pdf_guide",
            "user_pseudo_id": "999.000",
            "user_id": "u-42",
            "event_params": [],
        },
        {
            "event_date": "20251203",
            "event_timestamp": base + 50 * hour,
            "event_name": "page_view",
            "user_pseudo_id": "555.555",
            "user_id": None,
            "event_params": [],
        },
        {
            "event_date": "20260301",
            "event_timestamp": base + 2000 * hour,
            "event_name": "view_mortgage_simulator",
            "user_pseudo_id": "111.222",
            "user_id": None,
            "event_params": [_param("loan_amount", s="1")],
        },
    ]


@pytest.fixture(params=["ndjson", "parquet"])
def export(tmp_path: Path, request: pytest.FixtureRequest) -> GA4Export:
    events = _events()
    if request.param == "ndjson":
        path = tmp_path / "events_20251201.json"
        path.write_text("\n".join(json.dumps(e) for e in events), encoding="utf-8")
    else:
        path = tmp_path / "events.parquet"
        pq.write_table(pa.Table.from_pylist(events), path)
    return GA4Export([path])


def test_seed_query_shape_runs_on_duckdb(export: GA4Export) -> None:
    rows = {r.user_pseudo_id: r for r in export.user_features("20251201", "20251231")}
    assert set(rows) == {"111.222", "999.000", "555.555"}
    a = rows["111.222"]
    assert a.simulator_interactions == 1
    assert a.avg_loan_amount == pytest.approx(240_000)
    assert a.session_duration_micros == 25 * 3_600_000_000
    assert rows["999.000"].high_intent_actions == 1
    assert rows["999.000"].user_id == "u-42"
    cut = datetime(2025, 12, 1, 12, tzinfo=UTC)
    early = {r.user_pseudo_id: r for r in export.user_features("20251201", "20251231", cut=cut)}
    assert set(early) == {"111.222"}
    assert early["111.222"].session_duration_micros == 3_600_000_000


def test_identity_resolution_and_canonical_activities(export: GA4Export) -> None:
    leads = [
        Lead(key="crm:1", custom={"ga_client_id": "GA1.1.111.222"}),
        Lead(key="crm:2", custom={"user_id": "u-42"}),
    ]
    activities, anonymous = export.activities(IdentityMap.from_leads(leads), "20251201", "20251231")
    assert anonymous == 1
    kinds = [(a.lead_key, a.kind) for a in activities]
    assert kinds == [
        ("crm:1", "site_visit"),
        ("crm:1", "simulator_use"),
        ("crm:1", "page_view:rates"),
        ("crm:2", "content_download"),
    ]
    sim = activities[1]
    assert sim.value == pytest.approx(240_000)
    assert sim.attributes["property_value"] == 300_000
    assert activities[2].value == pytest.approx(95.0)


def test_bigquery_rendering_is_standard_sql() -> None:
    sql = render_query(
        "ga4_user_features.sql",
        dialect="bigquery",
        table="my-project.analytics_123456.events_*",
        start="20251201",
        end="20260131",
    )
    assert "`my-project.analytics_123456.events_*`" in sql
    assert "SAFE_CAST(" in sql
    assert "TRY_CAST" not in sql
    assert "_TABLE_SUFFIX BETWEEN '20251201' AND '20260131'" in sql
    assert "COUNTIF(event_name = 'view_mortgage_simulator')" in sql
    duck = render_query("ga4_user_features.sql", dialect="duckdb", start="20251201", end="20260131")
    assert "TRY_CAST(" in duck
    assert "SAFE_CAST" not in duck


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "2025-12-01", "end": "20260131"}, "YYYYMMDD"),
        ({"start": "20251201", "end": "20260131", "table": "x; DROP TABLE y"}, "project.dataset"),
    ],
)
def test_render_rejects_bad_parameters(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(MappingError, match=message):
        render_query("ga4_user_features.sql", dialect="bigquery", **kwargs)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="not found"):
        GA4Export([tmp_path / "missing.json"])
    other = tmp_path / "x.csv"
    other.write_text("a")
    with pytest.raises(MappingError, match="must all be"):
        GA4Export([other])
