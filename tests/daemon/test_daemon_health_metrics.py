"""The daemon's /health and /metrics, over real HTTP."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from leadbridge.connectors.hubspot import HubSpotConnector
from leadbridge.core.errors import AuthError
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.config import ConnectionConfig
from leadbridge.sync.daemon import Daemon
from leadbridge.sync.engine import SyncEngine, SyncReport
from leadbridge.sync.metrics import DaemonMetrics
from leadbridge.sync.state import open_store
from leadbridge.sync.webhooks.config import ServiceSettings


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _conn(name: str) -> ConnectionConfig:
    return ConnectionConfig(name=name, crm="hubspot", every_minutes=600, jitter_s=0)


def _wait(predicate: Callable[[], object], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_health_names_the_failing_connection_and_metrics_count_runs() -> None:
    def run(conn: ConnectionConfig, stop: threading.Event) -> SyncReport:
        if conn.name == "bad":
            raise AuthError("token refused", connector="hubspot")
        return SyncReport(
            connection=conn.name,
            mode="incremental",
            status="ok",
            started_at=datetime.now(UTC),
            elapsed_s=0.25,
            leads_pulled=7,
            leads_scored=7,
            leads_written=3,
            rejects=1,
            api_calls={"read": 4, "write": 1},
        )

    daemon = Daemon([_conn("good"), _conn("bad")], run, service=ServiceSettings(port=0))
    daemon.start()
    try:
        _wait(lambda: len(daemon.metrics.last_runs()) == 2)
        response = httpx.get(f"{daemon.base_url}/health")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unhealthy"
        good, bad = body["connections"]["good"], body["connections"]["bad"]
        assert good["healthy"] is True
        assert good["status"] == "ok"
        assert good["last_run"]["elapsed_s"] == 0.25
        assert 0 <= good["lag_s"] < 10
        assert bad["healthy"] is False
        assert bad["problems"] == ["last run failed"]
        assert bad["lag_s"] is None
        samples = _samples(httpx.get(f"{daemon.base_url}/metrics").text)
        c = ("connection", "good")
        assert samples[("leadbridge_records_total", (c, ("stage", "written")))] == 3
        assert samples[("leadbridge_api_calls_total", (("category", "read"), c))] == 4
        assert samples[("leadbridge_dead_letters_total", (c, ("kind", "reject")))] == 1
        assert (
            samples[("leadbridge_runs_total", (c, ("status", "ok"), ("trigger", "schedule")))] == 1
        )
        assert samples[("leadbridge_last_run_success", (c,))] == 1
        assert samples[("leadbridge_last_run_success", (("connection", "bad"),))] == 0
        assert samples[("leadbridge_errors_total", (("connection", "bad"), ("source", "run")))] == 1
    finally:
        daemon.stop()
    # Stopped: the service is gone with the schedule.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{daemon.base_url}/health", timeout=2)


def test_no_successful_run_within_the_staleness_limit_is_unhealthy() -> None:
    release = threading.Event()

    def slow(conn: ConnectionConfig, stop: threading.Event) -> SyncReport:
        release.wait(10)
        return SyncReport(
            connection=conn.name,
            mode="full",
            status="ok",
            started_at=datetime.now(UTC),
            elapsed_s=0,
        )

    daemon = Daemon([_conn("a")], slow, service=ServiceSettings(port=0, stale_after_s=0.3))
    daemon.start()
    try:
        first = httpx.get(f"{daemon.base_url}/health")
        assert first.status_code == 200
        assert first.json()["connections"]["a"]["status"] == "pending"
        time.sleep(0.4)
        late = httpx.get(f"{daemon.base_url}/health")
        assert late.status_code == 503
        assert "no successful run" in late.json()["connections"]["a"]["problems"][0]
        release.set()
        _wait(lambda: httpx.get(f"{daemon.base_url}/health").status_code == 200)
    finally:
        release.set()
        daemon.stop()


def test_metrics_report_lag_cursor_age_and_api_budget_from_a_real_run(tmp_path: Path) -> None:
    limits = HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=500_000)
    with HubSpotEmulator(generate_portal(40, seed=2), limits=limits) as hs:
        store = open_store(tmp_path / "state.db")
        metrics = DaemonMetrics()

        def run(conn: ConnectionConfig, stop: threading.Event) -> SyncReport:
            connector = HubSpotConnector.from_mapping(
                {
                    "base_url": hs.base_url,
                    "auth": {"kind": "private_app", "token": hs.private_app_token},
                    "overlap_s": 0,
                }
            )
            try:
                metrics.observe_connector(conn.name, connector)
                engine = SyncEngine(
                    connector,
                    RulesScorer(load_config("omnichannel")),
                    store,
                    connection=conn.name,
                    stop=stop,
                )
                return engine.run()
            finally:
                connector.close()

        daemon = Daemon(
            [_conn("hs")], run, service=ServiceSettings(port=0), store=store, metrics=metrics
        )
        daemon.start()
        try:
            _wait(lambda: "hs" in metrics.last_runs(), timeout_s=60)
            assert metrics.last_runs()["hs"].status == "ok"
            samples = _samples(httpx.get(f"{daemon.base_url}/metrics").text)
            hs_label = (("connection", "hs"),)
            assert 0 <= samples[("leadbridge_sync_lag_seconds", hs_label)] < 60
            calls = sum(
                v for (name, labels), v in samples.items() if name == "leadbridge_api_calls_total"
            )
            assert calls > 0
            remaining = samples[("leadbridge_api_budget_remaining", hs_label)]
            assert samples[("leadbridge_api_budget_limit", hs_label)] == 500_000
            assert 500_000 - calls - 5 <= remaining < 500_000
            ages = {
                dict(labels)["stream"]
                for (name, labels), _ in samples.items()
                if name == "leadbridge_cursor_age_seconds"
            }
            assert "contacts" in ages
            written = samples[
                ("leadbridge_records_total", (("connection", "hs"), ("stage", "written")))
            ]
            assert written == daemon.reports[0].leads_written > 30
            health = httpx.get(f"{daemon.base_url}/health").json()
            assert health["connections"]["hs"]["last_success_at"] is not None
        finally:
            daemon.stop()
            store.close()
