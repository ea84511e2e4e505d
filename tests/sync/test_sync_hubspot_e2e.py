"""Issue 2 end to end: the engine, the HubSpot connector and the emulator over real HTTP.

Includes the crash test: the sync runs as a separate process that is SIGKILLed at random
moments, then run again; nothing may be lost, written twice with different values, or
checkpointed ahead of its writes.
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadbridge.connectors import create_connector
from leadbridge.emulators.hubspot import (
    HubSpotEmulator,
    HubSpotFaults,
    HubSpotLimits,
    generate_portal,
)
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.engine import SyncEngine
from leadbridge.sync.state import open_store

AS_OF = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FAST_LIMITS = HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=10_000_000)
FAST_BUDGETS = {"default": (100_000, 10.0), "search": (10_000, 1.0)}


def connector_for(emulator: HubSpotEmulator, **extra: object):
    settings = {
        "base_url": emulator.base_url,
        "auth": {"kind": "private_app", "token": emulator.private_app_token},
        "budgets": FAST_BUDGETS,
        "overlap_s": 0,  # the emulator's search has no index lag
        **extra,
    }
    return create_connector("hubspot", settings)


def live_contacts(emulator: HubSpotEmulator) -> list:
    return [r for r in list(emulator.portal.contacts.records.values()) if not r.archived]


def scored_values(emulator: HubSpotEmulator) -> dict[str, str]:
    """leadbridge_score of every live contact, as the CRM holds it now."""
    out = {}
    for record in live_contacts(emulator):
        value = record.properties.get("leadbridge_score")
        if value not in (None, ""):
            out[str(record.id)] = value
    return out


def test_full_then_incremental_sync_writes_only_changes(tmp_path: Path) -> None:
    portal = generate_portal(1500, seed=7, now=AS_OF)
    with HubSpotEmulator(portal, limits=FAST_LIMITS) as hs:
        store = open_store(tmp_path / "state.db")
        connector = connector_for(hs)
        scorer = RulesScorer(load_config("omnichannel"))
        engine = SyncEngine(connector, scorer, store, connection="hs", clock=lambda: AS_OF)
        full = engine.run()
        assert full.status == "ok", full.errors
        valid = store.count_leads("hs")
        assert full.leads_scored == valid
        assert full.leads_written == len(scored_values(hs)) > 0
        assert full.api_calls["write"] <= math.ceil(1.02 * math.ceil(full.leads_written / 100))
        assert (
            full.rejects >= 1
        )  # the generator plants invalid records; they are dead letters, not crashes
        assert len(store.dead_letters("hs")) == full.rejects + full.write_failures

        hs.ledger.reset()
        changed = hs.mutate(0.01, seed=3)
        incremental = engine.run()
        assert incremental.status == "ok", incremental.errors
        assert incremental.mode == "incremental"
        assert 0 < incremental.leads_scored <= len(changed) + 50
        written_ids = {w.object_id for w in hs.ledger.writes()}
        assert written_ids <= set(changed)
        # Our own full-run writes were read back by that run: the incremental pull sees only
        # the edited contacts (plus the last write batch, which shares one timestamp).
        assert full.leads_read_back >= full.leads_written
        assert incremental.leads_pulled <= len(changed) + 100
        assert incremental.api_calls["read"] == incremental.min_api_calls["read"]

        again = engine.run()
        assert again.leads_written == 0
        connector.close()
        store.close()


def test_malformed_responses_end_in_dead_letters_not_tracebacks(tmp_path: Path) -> None:
    portal = generate_portal(600, seed=11, now=AS_OF)
    faults = HubSpotFaults(malformed=0.15, seed=5)
    with HubSpotEmulator(portal, limits=FAST_LIMITS, faults=faults) as hs:
        store = open_store(tmp_path / "state.db")
        connector = connector_for(hs)
        engine = SyncEngine(
            connector,
            RulesScorer(load_config("omnichannel")),
            store,
            connection="hs",
            clock=lambda: AS_OF,
        )
        report = engine.run()
        assert report.status in ("ok", "partial")
        for error in report.errors:
            assert "\n" not in error
            assert "Traceback" not in error
        hs.faults.malformed = 0.0
        healed = engine.run()
        assert healed.status == "ok", healed.errors
        live = {str(r.id) for r in live_contacts(hs)}
        assert set(scored_values(hs)) | {d.record_id for d in store.dead_letters("hs")} >= live - {
            None
        }
        connector.close()
        store.close()


def _sync_cmd(config: Path) -> list[str]:
    code = "from leadbridge.cli.app import main; main()"
    return [
        sys.executable,
        "-c",
        code,
        "sync",
        "--config",
        str(config),
        "--as-of",
        AS_OF.isoformat(),
        "--json",
    ]


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    portal = generate_portal(2500, seed=21, now=AS_OF)
    # Slow the emulator a little so kills land in every phase (pull, score, write).
    faults = HubSpotFaults(latency_ms=15, seed=2)
    with HubSpotEmulator(portal, limits=FAST_LIMITS, faults=faults) as hs:
        config = tmp_path / "leadbridge.toml"
        state = tmp_path / "state.db"
        config.write_text(
            f"""
state = "{state}"
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
        env = {**os.environ, "LB_TEST_HUBSPOT_TOKEN": hs.private_app_token}
        rng = random.Random(4)
        kills = 0
        for _ in range(6):
            proc = subprocess.Popen(
                _sync_cmd(config), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            time.sleep(rng.uniform(1.0, 5.0))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.communicate()
            _assert_cursor_not_ahead_of_writes(hs, state)
        done = subprocess.run(
            _sync_cmd(config), env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)[0]
        assert report["status"] == "ok", report["errors"]
        assert kills >= 3

        store = open_store(state)
        assert store.dirty_keys("hs") == []
        dead = {d.record_id for d in store.dead_letters("hs")}
        live = {str(r.id) for r in live_contacts(hs)}
        scored = scored_values(hs)
        assert live - dead <= set(scored), "a lead was left unscored"
        values: dict[str, set[str]] = defaultdict(set)
        for write in hs.ledger.writes():
            if "leadbridge_score" in write.properties:
                values[write.object_id].add(write.properties["leadbridge_score"])
        assert all(len(v) == 1 for v in values.values()), (
            "a score was written twice with different values"
        )
        _assert_cursor_not_ahead_of_writes(hs, state)
        store.close()


def _assert_cursor_not_ahead_of_writes(hs: HubSpotEmulator, state: Path) -> None:
    if not state.exists():
        return
    store = open_store(state)
    try:
        bookmark = store.bookmark("hs", "contacts")
        if bookmark is None:
            return
        cutoff_ms = int(bookmark.value.timestamp() * 1000)
        dead = {d.record_id for d in store.dead_letters("hs")}
        scored = scored_values(hs)
        for record in live_contacts(hs):
            if record.updated_ms <= cutoff_ms and str(record.id) not in dead:
                assert str(record.id) in scored, (
                    f"cursor passed contact {record.id} before its write"
                )
    finally:
        store.close()


@pytest.mark.slow
def test_demo_acceptance_on_5000_leads(tmp_path: Path) -> None:
    """Issue 2 acceptance, on the real CLI at the emulator's default limits."""
    done = subprocess.run(
        [sys.executable, "-c", "from leadbridge.cli.app import main; main()", "demo", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    full, inc = summary["full"], summary["incremental"]
    assert full["status"] == inc["status"] == "ok"
    assert full["leads_scored"] == full["leads_pulled"] > 4900  # every (valid) lead scored
    assert full["api_calls"]["write"] <= 1.02 * math.ceil(full["leads_written"] / 100)
    assert inc["api_calls"]["write"] <= 1.02 * math.ceil(inc["leads_written"] / 100)
    assert inc["leads_scored"] <= summary["mutated_leads"]  # only what changed is re-scored
    assert sum(inc["api_calls"].values()) <= 0.05 * sum(full["api_calls"].values())
    assert set(full["tier_counts"]) == {"cold", "warm", "hot", "very_hot"}
