"""`leadbridge score` / `leadbridge explain` on files, without any CRM."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from leadbridge.cli.score import register
from leadbridge.core.errors import ConfigError, ScoringError

EVENTS = [
    {"lead_key": "hubspot:1", "kind": "page_view:home", "occurred_at": "2025-03-03T10:00:00Z"},
    {"lead_key": "hubspot:1", "kind": "page_view:blog", "occurred_at": "2025-03-03T10:01:00Z"},
    {"lead_key": "hubspot:1", "kind": "page_view:pricing", "occurred_at": "2025-03-03T10:02:00Z"},
    {"lead_key": "hubspot:1", "kind": "email_click", "occurred_at": "2025-03-04T10:00:00Z"},
    {"lead_key": "hubspot:1", "kind": "webinar_attended", "occurred_at": "2025-03-05T10:00:00Z"},
    {"lead_key": "hubspot:2", "kind": "email_unsubscribe", "occurred_at": "2025-03-05T10:00:00Z"},
]
LEADS = [
    {"key": "hubspot:3", "job_title": "HR Director", "company_size": 120},
    {"lead_id": "hubspot:1", "country": "CH"},
]


@pytest.fixture
def files(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")
    leads = tmp_path / "leads.jsonl"
    leads.write_text("\n".join(json.dumps(e) for e in LEADS) + "\n")
    return events, leads


@pytest.fixture
def app():
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    return app


def test_score_json_lines(app, files):
    events, leads = files
    args = [
        "score",
        "--preset",
        "omnichannel",
        "--events",
        str(events),
        "--leads",
        str(leads),
        "--as-of",
        "2025-03-06T00:00:00Z",
        "--json",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["lead_id"] for r in rows] == ["hubspot:1", "hubspot:2", "hubspot:3"]
    first = rows[0]
    assert (first["score"], first["tier"], first["action"]) == (52, "hot", "sales_alert")
    assert set(first) >= {"lead_id", "score", "fit", "intent", "tier", "stage", "action", "reasons"}
    assert rows[1]["intent"] == -30
    assert rows[2]["fit"] == 20


def test_score_with_config_file_and_text_output(app, files, tmp_path):
    events, _ = files
    config = tmp_path / "c.toml"
    config.write_text(
        'name = "c"\n[intent]\n[[intent.rules]]\nname = "any"\nchannel = "web"\n'
        'kinds = ["*"]\npoints = 10\n'
    )
    result = CliRunner().invoke(
        app, ["score", "--config", str(config), "--events", str(events), "--as-of", "2025-03-06"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split("\t")[:3] == ["hubspot:1", "50", "warm"]


def test_explain_one_lead(app, files):
    events, _ = files
    result = CliRunner().invoke(
        app,
        [
            "explain",
            "hubspot:1",
            "--preset",
            "omnichannel",
            "--events",
            str(events),
            "--as-of",
            "2025-03-06",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "score 52/100 -> hot" in result.output
    assert "webinar_attended" in result.output


def test_user_mistakes_are_leadbridge_errors(app, files, tmp_path):
    events, _ = files
    runner = CliRunner()
    bad = runner.invoke(app, ["score", "--preset", "nope", "--events", str(events)])
    assert isinstance(bad.exception, ConfigError)
    both = runner.invoke(
        app, ["score", "--preset", "omnichannel", "--config", "x.toml", "--events", str(events)]
    )
    assert isinstance(both.exception, ConfigError)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"lead_key": "a", "kind": "email_click"}\n')
    missing = runner.invoke(app, ["score", "--preset", "omnichannel", "--events", str(broken)])
    assert isinstance(missing.exception, ScoringError)
    assert "broken.jsonl:1: occurred_at" in str(missing.exception)
    unknown = runner.invoke(
        app, ["explain", "nobody", "--preset", "omnichannel", "--events", str(events)]
    )
    assert isinstance(unknown.exception, ScoringError)
    as_of = runner.invoke(
        app, ["score", "--preset", "omnichannel", "--events", str(events), "--as-of", "yesterday"]
    )
    assert isinstance(as_of.exception, ScoringError)
