"""Issue 3.6: a config change shows a per-lead diff before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadbridge.cli.app import app
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal

LIMITS = HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=10_000_000)


@pytest.fixture
def synced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with HubSpotEmulator(generate_portal(400, seed=5), limits=LIMITS) as hs:
        config = tmp_path / "leadbridge.toml"
        config.write_text(
            f"""
state = "{tmp_path / "state.db"}"
[scoring]
preset = "omnichannel"
[[connection]]
name = "hs"
crm = "hubspot"
[connection.settings]
base_url = "{hs.base_url}"
auth = {{ kind = "private_app", token_env = "LB_TEST_HUBSPOT_TOKEN" }}
budgets = {{ default = [100000, 10.0], search = [10000, 1.0] }}
overlap_s = 0
"""
        )
        monkeypatch.setenv("LB_TEST_HUBSPOT_TOKEN", hs.private_app_token)
        result = CliRunner().invoke(app, ["sync", "--config", str(config), "--json"])
        assert result.exit_code == 0, result.output
        yield hs, config


def test_dry_run_lists_changes_and_writes_nothing(synced) -> None:
    hs, config = synced
    writes_before = len(hs.ledger.writes())
    result = CliRunner().invoke(
        app, ["rescore", "--config", str(config), "--scoring", "b2b_saas", "--dry-run", "--json"]
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output.strip().splitlines()[-1])
    assert plan["connection"] == "hs"
    assert plan["changes"], "a different preset must move some scores"
    first = plan["changes"][0]
    assert first["old_score"] != first["new_score"] or first["old_tier"] != first["new_tier"]
    assert len(hs.ledger.writes()) == writes_before  # nothing written

    applied = CliRunner().invoke(
        app, ["rescore", "--config", str(config), "--scoring", "b2b_saas", "--json"]
    )
    assert applied.exit_code == 0, applied.output
    report = json.loads(applied.output.strip().splitlines()[-1])
    assert report["mode"] == "rescore"
    assert report["leads_written"] == len(plan["changes"])
    assert report["api_calls"].get("read", 0) <= 5  # no re-pull: only the echo read-back


def test_explain_reads_the_stored_score(synced) -> None:
    hs, config = synced
    lead = next(w.object_id for w in hs.ledger.writes())
    result = CliRunner().invoke(app, ["explain", f"hubspot:{lead}", "--settings", str(config)])
    assert result.exit_code == 0, result.output
    assert "omnichannel" in result.output
    assert "scores in this lead's history on hs" in result.output
