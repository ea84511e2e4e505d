"""`leadbridge migrate apply` killed with SIGKILL mid-run, three times, then finished.

The scaled-down twin of bench/migration.py (50,000 contacts, 10 kills): the emulators run
in this process, `apply` in a child process (``python -m leadbridge.cli.migrate``) that
is killed at a random moment after it committed at least one batch. Afterwards `verify`
must find equal counts and checksums, no duplicate on the target, and the calls the
target answered must be within 10 % of the plan's estimate.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from leadbridge.connectors.hubspot import HubSpotConnector
from leadbridge.connectors.salesforce import from_settings
from leadbridge.emulators.crmpair import CrmPair
from leadbridge.mappings.fields import load_mapping
from leadbridge.sync.migration import Migration
from leadbridge.sync.migrationstate import MigrationState
from leadbridge.sync.verification import verify

CONTACTS = 1500
KILLS = 3
RUN = "hubspot->salesforce"


def api_calls(pair: CrmPair) -> int:
    """Requests the Salesforce emulator answered, OAuth token grants excluded."""
    counts = pair.salesforce.ledger.counts()
    return sum(n for key, n in counts.items() if "oauth2" not in key)


def done_rows(state: MigrationState) -> int:
    return sum(bucket.get("done", 0) for bucket in state.counts().values())


def apply_process(config: Path, *, stderr: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "leadbridge.cli.migrate",
        "apply",
        "--from",
        "hubspot",
        "--to",
        "salesforce",
        "--config",
        str(config),
    ]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)


def test_apply_survives_sigkill_and_verifies(tmp_path: Path) -> None:
    rng = random.Random(2024)
    with CrmPair(hubspot_contacts=CONTACTS, seed=11) as pair:
        db = tmp_path / "migration.db"
        config = pair.write_config(tmp_path / "pair.toml", state=str(db))
        hubspot = HubSpotConnector.from_mapping(pair.settings("hubspot"))
        salesforce = from_settings(pair.settings("salesforce"))
        state = MigrationState.open(str(db), RUN)
        mapping = load_mapping("hubspot-salesforce")
        plan = Migration(
            hubspot.records(),
            salesforce.records(),
            mapping,
            state,
            target_object=salesforce.records,
            activities=hubspot.records(),
        ).plan()
        estimate = sum(plan.estimate["target"].values()) + sum(plan.estimate["source"].values())
        pair.salesforce.faults.latency_ms = 120.0  # long enough an apply to kill it mid-way
        before = api_calls(pair)
        kills = 0
        while kills < KILLS:
            progress = done_rows(state)
            child = apply_process(config)
            while child.poll() is None and done_rows(state) == progress:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.25))
            if child.poll() is not None:
                break  # finished before we could kill it: the rest of the test still holds
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            kills += 1
        assert kills == KILLS, "apply finished too early to be killed three times"
        pair.salesforce.faults.latency_ms = 0.0
        final = apply_process(config, stderr=subprocess.PIPE)
        _, err = final.communicate(timeout=120)
        assert final.returncode == 0, err.decode()[-2000:]
        spent = api_calls(pair) - before
        assert abs(spent - estimate) <= 0.10 * estimate, (spent, estimate)
        report = verify(
            hubspot.records(),
            salesforce.records(),
            mapping,
            id_map=state.id_map("record"),
            activities=hubspot.records(),
            objects={"Task": salesforce.records("Task"), "Event": salesforce.records("Event")},
        )
        assert report.ok, report.to_json()
        assert report.counts["records"]["source"] == report.counts["records"]["target_total"]
        assert report.duplicates == {
            "external_id": 0,
            "match_field": 0,
            "activity:Task": 0,
            "activity:Event": 0,
        }
        hubspot.close()
        salesforce.close()
        state.close()
