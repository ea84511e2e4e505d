"""Scale-out acceptance: three worker processes on PostgreSQL sync 20 HubSpot portals.

One worker is SIGKILLed mid-run. Every lead of every portal must still be synced and
written, the killed worker's job must be taken over by another worker, and the
emulators' write ledgers must show that no connection was ever synced by two workers at
once: every write falls inside a recorded run of its connection, and those runs never
overlap.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal
from leadbridge.sync.state import open_store
from leadbridge.sync.workerruns import WorkerRun, WorkerRunLog

N_CONNECTIONS = 20
N_LEADS = 100
TOKEN = "pat-na1-emulator-token"


def _toml(tmp: Path, db: str, emulators: list[HubSpotEmulator]) -> Path:
    lines = [
        f'state = "{db}"',
        "[audit]",
        f'db = "{db}"',
        f'key_dir = "{tmp / "keys"}"',
        "[privacy]",
        f'key_dir = "{tmp / "keys"}"',
        f'data_dir = "{tmp / "privacy"}"',
    ]
    for i, hs in enumerate(emulators):
        lines += [
            "[[connection]]",
            f'name = "hs{i:02d}"',
            'crm = "hubspot"',
            "every_minutes = 60",
            "[connection.settings]",
            f'base_url = "{hs.base_url}"',
            f'auth = {{ kind = "private_app", token = "{TOKEN}" }}',
            "overlap_s = 0",
            "budgets = { default = [100000, 10.0], search = [10000, 1.0] }",
        ]
    path = tmp / "leadbridge.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cli(*args: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "leadbridge.cli.workers", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait(check: Callable[[], bool], timeout_s: float, what: str, logs: Path) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    tails = "\n".join(p.read_text(errors="replace")[-1500:] for p in sorted(logs.glob("*.log")))
    pytest.fail(f"timed out waiting for {what}\n{tails}")


@pytest.fixture
def portals() -> Iterator[list[HubSpotEmulator]]:
    limits = HubSpotLimits(burst_per_10s=100_000, search_per_s=10_000, daily=10_000_000)
    with ExitStack() as stack:
        yield [
            stack.enter_context(
                HubSpotEmulator(generate_portal(N_LEADS, seed=i, months=1), limits=limits)
            )
            for i in range(N_CONNECTIONS)
        ]


def _intervals(runs: list[WorkerRun], killed_at: datetime) -> list[tuple[datetime, datetime]]:
    """When each run could touch the CRM; a lost run ends when its worker was killed."""
    spans = []
    for r in runs:
        if r.outcome == "busy":
            continue
        end = r.finished_at or killed_at
        if r.outcome == "lost":
            end = killed_at + timedelta(seconds=1)  # requests already in flight at the kill
        spans.append((r.started_at, end))
    return sorted(spans)


def test_three_workers_sync_twenty_connections_and_survive_a_killed_worker(
    pg_url: str, tmp_path: Path, portals: list[HubSpotEmulator]
) -> None:
    config = _toml(tmp_path, pg_url, portals)
    cfg = ["--config", str(config)]
    scheduled = subprocess.run(
        [sys.executable, "-m", "leadbridge.cli.workers", "schedule", *cfg, "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert scheduled.returncode == 0, scheduled.stderr[-2000:]
    assert f"queued {N_CONNECTIONS} syncs" in scheduled.stdout

    fast = ["--heartbeat", "0.5", "--stalled-after", "3", "--poll", "0.5"]
    workers = {
        name: _cli("run", *cfg, *fast, "--name", name, log=tmp_path / f"{name}.log")
        for name in ("w1", "w2", "w3")
    }
    runs = WorkerRunLog(pg_url)
    by_name = {f"hs{i:02d}": hs for i, hs in enumerate(portals)}
    try:
        # Kill w1 while it is inside a run that has already written to its CRM.
        victim: list[WorkerRun] = []

        def w1_mid_run() -> bool:
            victim[:] = [
                r
                for r in runs.runs()
                if r.worker == "w1"
                and r.outcome == "running"
                and by_name[r.connection].ledger.writes()
            ]
            return bool(victim)

        _wait(w1_mid_run, 60, "worker w1 to be mid-run", tmp_path)
        workers["w1"].send_signal(signal.SIGKILL)
        killed_at = datetime.now(UTC)
        workers["w1"].wait(timeout=10)
        killed = victim[0]

        def all_synced() -> bool:
            done = {r.connection for r in runs.runs() if r.outcome == "ok"}
            return len(done) == N_CONNECTIONS

        _wait(all_synced, 75, "every connection to sync", tmp_path)
    finally:
        for proc in workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in workers.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    assert workers["w2"].returncode == 0
    assert workers["w3"].returncode == 0
    every = runs.runs()
    runs.close()

    # The killed worker's job was marked lost and finished by another worker.
    after = [r for r in every if r.job_id == killed.job_id and r.id != killed.id]
    assert [r.outcome for r in every if r.id == killed.id] == ["lost"]
    assert any(r.outcome == "ok" and r.worker in ("w2", "w3") for r in after)
    assert all(r.outcome in ("ok", "lost", "busy") for r in every), [
        (r.connection, r.worker, r.outcome, r.detail) for r in every if r.outcome != "ok"
    ]

    store = open_store(pg_url)
    try:
        for name, hs in by_name.items():
            # Nothing lost: every lead pulled, scored and acknowledged by the CRM.
            live = [r for r in hs.portal.contacts.records.values() if r.archived_ms is None]
            assert store.count_leads(name) == len(live) > N_LEADS // 2
            assert store.dirty_keys(name) == []
            written_ok = {w.object_id for w in hs.ledger.writes() if w.status < 300}
            assert written_ok == set(store.written_values(name)), name
            assert len(written_ok) > N_LEADS // 2

            # Never twice at once: runs of a connection are disjoint, and every write the
            # CRM saw happened inside one of them.
            spans = _intervals([r for r in every if r.connection == name], killed_at)
            for (_, end), (start, _) in itertools.pairwise(spans):
                assert end <= start, f"{name}: overlapping runs {spans}"
            for w in hs.ledger.writes():
                assert any(s <= w.at <= e for s, e in spans), f"{name}: write outside a run"
    finally:
        store.close()
