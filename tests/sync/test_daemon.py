"""The daemon: scheduled runs, no overlapping runs of a connection, graceful SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadbridge.core.errors import ConfigError
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal
from leadbridge.privacy.config import RetentionPolicy
from leadbridge.privacy.retention import enforce_retention
from leadbridge.scoring.predictive.feedback import FeedbackReport
from leadbridge.sync.config import ConnectionConfig
from leadbridge.sync.daemon import Chore, Daemon, RetrainSetup
from leadbridge.sync.engine import SyncReport
from leadbridge.sync.state import open_store


def _report(name: str) -> SyncReport:
    return SyncReport(
        connection=name,
        mode="incremental",
        status="ok",
        started_at=datetime.now(UTC),
        elapsed_s=0.0,
    )


def test_a_connection_never_runs_twice_at_once() -> None:
    running: dict[str, int] = {}
    overlaps = []
    lock = threading.Lock()

    def slow_run(conn: ConnectionConfig, stop: threading.Event) -> SyncReport:
        with lock:
            running[conn.name] = running.get(conn.name, 0) + 1
            if running[conn.name] > 1:
                overlaps.append(conn.name)
        time.sleep(1.2)  # longer than the interval
        with lock:
            running[conn.name] -= 1
        return _report(conn.name)

    conns = [
        ConnectionConfig(name=n, crm="hubspot", every_minutes=0.3 / 60, jitter_s=0)
        for n in ("a", "b")
    ]
    daemon = Daemon(conns, slow_run)
    daemon.start()
    time.sleep(3.5)
    daemon.stop()
    assert overlaps == []
    assert {r.connection for r in daemon.reports} == {"a", "b"}
    assert len(daemon.reports) >= 4  # each connection ran repeatedly, one run at a time


def test_invalid_cron_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cron"):
        Daemon(
            [ConnectionConfig(name="x", crm="hubspot", cron="not a cron")],
            lambda c, s: _report(c.name),
        )


def test_invalid_retrain_cron_names_the_predictive_key() -> None:
    def never(conn: ConnectionConfig) -> FeedbackReport:
        raise AssertionError("not scheduled, never run")

    with pytest.raises(ConfigError, match="cron") as caught:
        Daemon(
            [ConnectionConfig(name="x", crm="hubspot")],
            lambda c, s: _report(c.name),
            retrain=RetrainSetup("61 * * * *", never),
        )
    assert caught.value.key == "predictive.retrain_cron"


@pytest.mark.slow
def test_sigterm_finishes_the_batch_in_flight_and_exits(tmp_path: Path) -> None:
    limits = HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=10_000_000)
    with HubSpotEmulator(generate_portal(800, seed=3), limits=limits) as hs:
        config = tmp_path / "leadbridge.toml"
        config.write_text(
            f"""
state = "{tmp_path / "state.db"}"
[[connection]]
name = "hs"
crm = "hubspot"
every_minutes = 0.05
jitter_s = 0
[connection.settings]
base_url = "{hs.base_url}"
auth = {{ kind = "private_app", token_env = "LB_TEST_HUBSPOT_TOKEN" }}
budgets = {{ default = [100000, 10.0], search = [10000, 1.0] }}
overlap_s = 0
"""
        )
        env = {**os.environ, "LB_TEST_HUBSPOT_TOKEN": hs.private_app_token}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from leadbridge.cli.app import main; main()",
                "daemon",
                "--config",
                str(config),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len({w.object_id for w in hs.ledger.writes()}) < 100:
            time.sleep(0.2)
        assert hs.ledger.writes(), "the daemon never wrote"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        # Every batch the CRM received was acknowledged and recorded before exit: a rerun
        # writes nothing it already wrote.
        from leadbridge.sync.state import open_store

        store = open_store(tmp_path / "state.db")
        recorded = set(store.written_values("hs"))
        store.close()
        written = {w.object_id for w in hs.ledger.writes() if w.status < 300}
        assert written <= recorded


def test_retention_chore_runs_on_its_crontab_and_is_counted(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    try:
        old = datetime.now(UTC) - timedelta(days=400)
        run_id = store.begin_run("x", "full", old)
        store.finish_run(run_id, "ok", "{}")
        store.begin_run("x", "incremental", datetime.now(UTC))
        policy = RetentionPolicy(runs_days=180)
        summaries: list[str] = []

        def retention() -> str:
            done = enforce_retention(store, policy)
            summaries.append(f"{done.deleted.get('runs', 0)} runs")
            return summaries[-1]

        daemon = Daemon(
            [ConnectionConfig(name="x", crm="hubspot", every_minutes=60)],
            lambda c, s: _report(c.name),
            chores=[Chore("retention", "30 2 * * *", retention)],
        )
        job = daemon.scheduler.get_job("chore:retention")
        assert job is not None
        assert "hour='2', minute='30'" in str(job.trigger)
        daemon.start(run_now=False)
        try:
            job.modify(next_run_time=datetime.now(UTC))
            deadline = time.monotonic() + 20
            while not summaries and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.2)
        finally:
            daemon.stop()
        assert summaries == ["1 runs"]
        assert [r["mode"] for r in store.runs("x")] == ["incremental"]
        text = daemon.metrics.render().decode()
        assert 'leadbridge_chores_total{chore="retention",status="ok"} 1.0' in text
    finally:
        store.close()
