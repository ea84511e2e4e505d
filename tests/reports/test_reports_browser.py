"""Issue 9 acceptance: the report and the dashboard in headless Chromium, numbers checked.

The store comes from a real sync of the HubSpot emulator (whose generator walks contacts
through the funnel), so outcomes, stage dates, runs and dead letters are the genuine
article. Screenshots land in each test's temporary folder.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import typer
from starlette.applications import Starlette
from typer.testing import CliRunner

from leadbridge.cli.report import register
from leadbridge.connectors import create_connector
from leadbridge.emulators.common.server import ServerThread
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal
from leadbridge.reports.dashboard import Dashboard
from leadbridge.reports.kpis import ReportOptions
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.engine import SyncEngine
from leadbridge.sync.state import open_store

AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FAST = HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=10_000_000)


@pytest.fixture(scope="module")
def synced_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synced") / "state.db"
    with HubSpotEmulator(generate_portal(700, seed=9, now=AS_OF), limits=FAST) as hs:
        connector = create_connector(
            "hubspot",
            {
                "base_url": hs.base_url,
                "auth": {"kind": "private_app", "token": hs.private_app_token},
                "budgets": {"default": (100_000, 10.0), "search": (10_000, 1.0)},
                "overlap_s": 0,
            },
        )
        store = open_store(path)
        scorer = RulesScorer(load_config("omnichannel"))
        report = SyncEngine(connector, scorer, store, connection="hs", clock=lambda: AS_OF).run()
        assert report.status == "ok", report.errors
        connector.close()
        store.close()
    return path


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Root."""

    register(app)
    return app


def _assert_charts(check, expected_names: set[str]) -> None:
    names = {c["name"] for c in check.charts}
    assert expected_names <= names, names
    for chart in check.charts:
        assert chart["width"] > 100, chart
        assert chart["height"] > 80, chart
        assert chart["marks"] > 10, chart
    assert check.errors == []


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _assert_numbers(check, expected) -> None:
    kpis = {}
    for k in check.kpis:
        kpis.setdefault(k["name"], []).append(k)
    assert int(kpis["summary.leads_scored"][0]["value"]) == expected.leads
    for tier in ("cold", "warm", "hot", "very_hot"):
        (leads,) = kpis[f"tier.{tier}.leads"]
        assert int(leads["value"]) == expected.tier_leads[tier]
        (conv,) = kpis[f"tier.{tier}.conversion_rate"]
        assert float(conv["value"]) == pytest.approx(expected.conversion(tier))
        assert conv["text"] == _pct(expected.conversion(tier))
    for cell in kpis["hot.precision"]:
        assert float(cell["value"]) == pytest.approx(expected.precision)
        assert cell["text"] == _pct(expected.precision)
    for cell in kpis["hot.false_positive_rate"]:
        assert float(cell["value"]) == pytest.approx(expected.false_positive_rate)
        assert cell["text"] == _pct(expected.false_positive_rate)
    assert int(kpis["false_negatives.missed"][0]["value"]) == expected.missed


CHARTS = {"tiers", "deciles", "gains", "velocity", "segments", "dist-created", "api"}


def test_static_report_renders_offline_with_the_stores_numbers(
    check_page, synced_state, tmp_path, oracle
):
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        _cli(),
        [
            "report",
            "--state",
            str(synced_state),
            "--out",
            str(out),
            "--as-of",
            AS_OF.isoformat(),
            "--capacity",
            "25",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "written" in result.output
    html = out.read_text(encoding="utf-8")
    assert out.stat().st_size < 5_000_000
    assert "<script" not in html  # the static file needs no JavaScript at all
    assert "http://" not in html.replace('xmlns="http://www.w3.org', "").replace(
        'xmlns:xlink="http://www.w3.org', ""
    )
    check = check_page(out.as_uri(), tmp_path / "report.png", allowed_prefix="file://")
    _assert_charts(check, CHARTS | {"advice", "signals"})
    assert check.outside == []
    assert (tmp_path / "report.png").stat().st_size > 50_000
    store = open_store(synced_state)
    expected = type(oracle)(as_of=AS_OF).expected(store)
    store.close()
    assert expected.conversions > 20
    assert expected.hot_decided > 20
    _assert_numbers(check, expected)


def test_pdf_export(chromium, synced_state, tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        _cli(), ["report", "--state", str(synced_state), "--out", str(out), "--pdf"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r.pdf").read_bytes()[:5] == b"%PDF-"


def test_live_dashboard_renders_and_follows_syncs(
    chromium, check_page, synced_state, tmp_path, oracle
):
    store = open_store(synced_state)
    dashboard = Dashboard(store, ReportOptions(as_of=AS_OF), prefix="/reports", refresh_s=0.3)
    server = ServerThread(Starlette(routes=dashboard.routes()), name="dashboard")
    server.start()
    try:
        base = server.base_url
        check = check_page(f"{base}/reports/", tmp_path / "dashboard.png", allowed_prefix=base)
        _assert_charts(check, CHARTS)
        assert check.outside == []
        expected = type(oracle)(as_of=AS_OF).expected(store)
        _assert_numbers(check, expected)
        metrics = httpx.get(f"{base}/reports/metrics.json").json()
        tiers = {t["tier"]: t for t in metrics["tiers"]}
        assert tiers["hot"]["conversion_rate"] == pytest.approx(expected.conversion("hot"))
        assert metrics["hot"]["precision"] == pytest.approx(expected.precision)
        # HubSpot's lifecycle-stage dates reach the velocity KPIs through the connector.
        stages = {(v["tier"], v["stage"]) for v in metrics["velocity"]}
        assert {("all", "mql"), ("all", "sql"), ("all", "won")} <= stages
        advice = httpx.get(f"{base}/reports/advice.json", params={"capacity": 30}).json()
        assert 0 <= advice["threshold"] <= 100
        assert advice["per"] == "week"
        bad = httpx.get(f"{base}/reports/advice.json", params={"capacity": "lots"})
        assert bad.status_code == 400

        # A sync lands while the page is open: the page reloads by itself.
        page = chromium.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/reports/")
        before = page.evaluate("document.body.dataset.version")
        run = store.begin_run("hs", "incremental", AS_OF)
        store.finish_run(run, "ok", '{"api_calls": {"read": 3}, "elapsed_s": 0.4}')
        page.wait_for_function(f"document.body.dataset.version !== {before!r}", timeout=15_000)
        assert page.evaluate("document.body.dataset.version") == dashboard.version()
        page.screenshot(path=str(tmp_path / "dashboard-after-sync.png"), full_page=True)
        page.close()
        assert errors == []
    finally:
        server.stop()
        store.close()


def test_report_cli_errors_are_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from leadbridge.core.errors import ConfigError

    runner = CliRunner()
    result = runner.invoke(_cli(), ["report", "--state", str(tmp_path / "missing.db")])
    assert isinstance(result.exception, ConfigError)
    assert "no state store at" in str(result.exception)
    result = runner.invoke(_cli(), ["report"])
    assert isinstance(result.exception, ConfigError)
    assert "leadbridge demo" in str(result.exception)
    result = runner.invoke(_cli(), ["report", "advise", "--capacity", "5", "--per", "year"])
    assert isinstance(result.exception, ConfigError)


def test_advise_cli(synced_state):
    result = CliRunner().invoke(
        _cli(),
        [
            "report",
            "advise",
            "--capacity",
            "20",
            "--state",
            str(synced_state),
            "--as-of",
            (AS_OF + timedelta(seconds=1)).isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "threshold" in result.output
    assert "leads per week" in result.output
