"""Predictive scoring on a connected CRM: train from the synced mirror, blend, retrain.

A real HubSpot emulator over HTTP, the real sync engine and state store, the official
SDK: history is pulled by `leadbridge sync`, a model is trained from it, promoted, and
the next sync writes blended scores with the model's own reasons onto the contacts.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from leadbridge.cli.learning import connection_history, connection_scorer, retrain_connection
from leadbridge.cli.model import register
from leadbridge.cli.wiring import build_scorer, run_connection
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal
from leadbridge.scoring.predictive.blend import tier_of
from leadbridge.scoring.predictive.registry import ModelRegistry
from leadbridge.scoring.predictive.scorer import PredictiveScorer
from leadbridge.sync.config import LeadbridgeConfig, load_config
from leadbridge.sync.daemon import Daemon, RetrainSetup
from leadbridge.sync.engine import SyncReport
from leadbridge.sync.state import open_store

LIMITS = HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=10_000_000)


@dataclass
class Setup:
    hs: HubSpotEmulator
    file: Path

    def config(self) -> LeadbridgeConfig:
        return load_config(self.file)


def _write_config(path: Path, hs: HubSpotEmulator, *, min_outcomes: int = 50) -> Path:
    path.write_text(
        f"""
state = "{path.parent / "state.db"}"
[predictive]
enabled = true
min_outcomes = {min_outcomes}
min_per_class = 10
retrain_cron = "0 3 * * *"
[[connection]]
name = "hs"
crm = "hubspot"
[connection.settings]
base_url = "{hs.base_url}"
auth = {{ kind = "private_app", token = "{hs.private_app_token}" }}
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    with HubSpotEmulator(generate_portal(1200, seed=5), limits=LIMITS) as hs:
        yield Setup(hs, _write_config(tmp_path / "leadbridge.toml", hs))


def _sync(s: Setup) -> SyncReport:
    cfg = s.config()
    return run_connection(cfg, cfg.connection[0], config_file=str(s.file))


def _reasons_on_crm(hs: HubSpotEmulator) -> list[str]:
    contacts = hs.portal.contacts.records.values()
    return [str(c.properties.get("leadbridge_reasons") or "") for c in contacts]


def _cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test root."""

    register(app)
    return app


def test_train_promote_and_blend_on_a_synced_crm(setup: Setup) -> None:
    first = _sync(setup)
    assert first.status == "ok"
    assert first.leads_written > 1000
    reasons = _reasons_on_crm(setup.hs)
    assert any("cold start" in r for r in reasons)  # no model yet: the rules stand alone

    runner = CliRunner()
    trained = runner.invoke(
        _cli(), ["model", "train", "--connection", "hs", "--config", str(setup.file), "--json"]
    )
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.stdout)
    assert summary["registered"] == "hs v1 (challenger)"
    assert summary["split"] == "time"
    assert summary["n_train"] + summary["n_test"] >= 50
    assert summary["roc_auc"] is not None, summary
    assert summary["roc_auc"] > 0.6
    assert summary["rules"] is not None  # evaluated beside the rules score, same run

    cfg = setup.config()
    store = open_store(cfg.state)
    try:
        rules = build_scorer(cfg.scoring)
        report = retrain_connection(
            cfg, cfg.connection[0], store, as_of=datetime.now(UTC), rules=rules
        )
        # v1 is a challenger nobody promoted; the cycle trains v2, the first champion.
        assert report.challenger == "v2"
        assert report.decision is not None
        assert report.decision.promoted
        assert store.dirty_keys("hs"), "a promotion marks the leads for rescoring"
        scorer = connection_scorer(cfg, cfg.connection[0], store, rules)
        assert isinstance(scorer, PredictiveScorer)
        assert scorer.model is not None
        assert scorer.model.version == "v2"
    finally:
        store.close()

    second = _sync(setup)
    assert second.status == "ok"
    reasons = _reasons_on_crm(setup.hs)
    with_model = [r for r in reasons if "↑" in r or "↓" in r]
    assert len(with_model) > 0.9 * len(reasons), reasons[:5]
    store = open_store(cfg.state)
    try:
        latest = store.latest_scores("hs")
        assert {r.model_version for r in latest.values()} == {"v2"}
        sample = next(iter(latest.values()))
        assert any(reason.group == "predictive" for reason in sample.reasons)
        # rules_floor: never below the floor of the rules tier, and the model does move scores.
        records = store.load_leads("hs", list(latest))
        acts = store.load_activities("hs", list(latest))
        as_of = sample.computed_at
        rules_scores = {
            r.lead_key: r.score
            for r in build_scorer(cfg.scoring).score_many(
                [(records[k].lead, acts[k]) for k in latest], as_of=as_of
            )
        }
        moved = 0
        for key, result in latest.items():
            floor = tier_of(rules_scores[key], cfg.predictive.blend.tiers).threshold
            assert result.score >= floor, (key, result.score, rules_scores[key])
            moved += result.score != rules_scores[key]
        assert moved > 0.5 * len(latest)
        # A second cycle compares a new challenger with the champion on recent outcomes.
        again = retrain_connection(
            cfg, cfg.connection[0], store, as_of=datetime.now(UTC), rules=build_scorer(cfg.scoring)
        )
        assert again.decision is not None
        assert again.decision.holdout_rows > 0
        assert again.decision.challenger_auc is not None
        assert again.decision.champion_auc is not None
        assert again.drift is not None  # population stability checked against v2's reference
    finally:
        store.close()


def test_below_the_outcome_threshold_the_rules_stand_alone(setup: Setup) -> None:
    _write_config(setup.file, setup.hs, min_outcomes=100_000)
    assert _sync(setup).status == "ok"
    cfg = setup.config()
    store = open_store(cfg.state)
    try:
        # Training reads the decided leads and a sample of the rest, not the whole CRM.
        history = connection_history(store, "hs", sample=100)
        decided = {o.lead_key for o in history.outcomes}
        assert {lead.key for lead in history.leads} == decided & set(store.lead_keys("hs"))
        assert len(history.population) == 100
        assert 0 < len(history.leads) < store.count_leads("hs")
        wanted = {lead.key for lead in (*history.leads, *history.population)}
        assert {a.lead_key for a in history.activities} <= wanted
        report = retrain_connection(cfg, cfg.connection[0], store, as_of=datetime.now(UTC))
        assert report.cold_start is not None
        assert "100000 needed" in report.cold_start
        assert report.challenger is None
        assert ModelRegistry(store.engine).list() == []
    finally:
        store.close()
    runner = CliRunner()
    out = runner.invoke(
        _cli(), ["model", "train", "--connection", "hs", "--config", str(setup.file)]
    )
    assert out.exit_code == 2
    assert "cold start" in out.output
    assert "Traceback" not in out.output


def test_training_before_any_sync_says_what_to_do(setup: Setup) -> None:
    out = CliRunner().invoke(
        _cli(), ["model", "retrain", "--connection", "hs", "--config", str(setup.file)]
    )
    assert out.exit_code == 0, out.output
    assert "run `leadbridge sync` first" in out.output
    unknown = CliRunner().invoke(
        _cli(), ["model", "train", "--connection", "nope", "--config", str(setup.file)]
    )
    assert unknown.exit_code == 2
    assert "no connection named 'nope'" in unknown.output


def test_daemon_runs_the_feedback_cycle_and_reports_it(setup: Setup) -> None:
    assert _sync(setup).status == "ok"
    cfg = setup.config()
    store = open_store(cfg.state)
    try:
        rules = build_scorer(cfg.scoring)

        def retrain(conn):  # the same callable `leadbridge daemon` schedules
            return retrain_connection(cfg, conn, store, as_of=datetime.now(UTC), rules=rules)

        daemon = Daemon(
            cfg.connection,
            lambda conn, stop: run_connection(
                cfg, conn, config_file=str(setup.file), stop=stop, store=store
            ),
            store=store,
            retrain=RetrainSetup(cfg.predictive.retrain_cron or "", retrain),
        )
        job = daemon.scheduler.get_job("hs:retrain")
        assert job is not None
        assert str(job.trigger).startswith("cron")
        daemon.start(run_now=False)
        try:
            daemon.scheduler.get_job("hs:retrain").modify(next_run_time=datetime.now(UTC))
            deadline = time.monotonic() + 120
            while daemon.metrics.last_feedback("hs") is None and time.monotonic() < deadline:
                time.sleep(0.2)
            _, health = daemon.health()
        finally:
            daemon.stop()
        model = health["connections"]["hs"]["model"]
        assert model is not None
        assert model["result"] == "promoted", model
        assert ModelRegistry(store.engine).champion_version("hs") == "v1"
        text = daemon.metrics.render().decode()
        assert 'leadbridge_model_cycles_total{connection="hs",result="promoted"} 1.0' in text
    finally:
        store.close()
