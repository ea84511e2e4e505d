"""Issue 7 acceptance: migrate 50,000 HubSpot contacts with activities to Salesforce.

Both emulators run in this process; `plan` runs here, `apply` runs as a child process
(``python -m leadbridge.cli.migrate apply``) that is SIGKILLed 10 times, each time at a
random moment after it committed at least one batch, then run once more to the end.
`verify` then reads both CRMs live: counts and per-field checksums must be equal and the
target must hold no duplicate; the calls the Salesforce emulator answered during all the
apply runs (OAuth token grants excluded) are compared with the plan's estimate.

    python bench/migration.py [--contacts 50000] [--kills 10] [--seed 11]

Prints one JSON document; `--markdown` prints the table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from leadbridge.connectors.hubspot import HubSpotConnector
from leadbridge.connectors.salesforce import from_settings
from leadbridge.emulators.crmpair import CrmPair
from leadbridge.mappings.fields import load_mapping
from leadbridge.sync.migration import Migration
from leadbridge.sync.migrationstate import MigrationState
from leadbridge.sync.verification import verify

RUN = "hubspot->salesforce"


def api_calls(pair: CrmPair) -> dict[str, int]:
    counts = pair.salesforce.ledger.counts()
    return {
        "api": sum(n for k, n in counts.items() if "oauth2" not in k),
        "token": sum(n for k, n in counts.items() if "oauth2" in k),
    }


def done_rows(state: MigrationState) -> int:
    return sum(bucket.get("done", 0) for bucket in state.counts().values())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=50_000)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=20.0,
        help="Salesforce answer delay while killing (spreads the kills).",
    )
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    out: dict[str, Any] = {"contacts": args.contacts, "kills": args.kills}
    with (
        CrmPair(hubspot_contacts=args.contacts, seed=args.seed) as pair,
        tempfile.TemporaryDirectory() as tmp,
    ):
        db = Path(tmp) / "migration.db"
        config = pair.write_config(Path(tmp) / "pair.toml", state=str(db))
        hubspot = HubSpotConnector.from_mapping(pair.settings("hubspot"))
        salesforce = from_settings(pair.settings("salesforce"))
        state = MigrationState.open(str(db), RUN)
        mapping = load_mapping("hubspot-salesforce")
        started = time.perf_counter()
        plan = Migration(
            hubspot.records(),
            salesforce.records(),
            mapping,
            state,
            target_object=salesforce.records,
            activities=hubspot.records(),
        ).plan()
        out["plan"] = {
            "seconds": round(time.perf_counter() - started, 1),
            "counts": plan.counts,
            "estimate": plan.estimate,
            "spent": plan.spent,
        }
        estimate = sum(plan.estimate["target"].values()) + sum(plan.estimate["source"].values())
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
        pair.salesforce.faults.latency_ms = args.latency_ms
        before = api_calls(pair)
        hs_before = pair.hubspot.ledger.total()
        started = time.perf_counter()
        kills = 0
        kill_points: list[int] = []
        while kills < args.kills:
            progress = done_rows(state)
            child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            while child.poll() is None and done_rows(state) == progress:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 1.5))
            if child.poll() is not None:
                break
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            kills += 1
            kill_points.append(done_rows(state))
        pair.salesforce.faults.latency_ms = 0.0
        final = subprocess.run(command, capture_output=True, text=True, check=False)
        after = api_calls(pair)
        spent = after["api"] - before["api"]
        out["apply"] = {
            "seconds": round(time.perf_counter() - started, 1),
            "kills": kills,
            "rows_done_at_each_kill": kill_points,
            "final_exit": final.returncode,
            "estimate_calls": estimate,
            "spent_calls": spent,
            "deviation_pct": round(100 * (spent - estimate) / estimate, 2),
            "token_grants": after["token"] - before["token"],
            "hubspot_calls_during_apply": pair.hubspot.ledger.total() - hs_before,
        }
        if final.returncode != 0:
            out["apply"]["final_stderr"] = final.stderr[-3000:]
        started = time.perf_counter()
        report = verify(
            hubspot.records(),
            salesforce.records(),
            mapping,
            id_map=state.id_map("record"),
            activities=hubspot.records(),
            objects={"Task": salesforce.records("Task"), "Event": salesforce.records("Event")},
        )
        out["verify"] = {"seconds": round(time.perf_counter() - started, 1), **report.to_json()}
        hubspot.close()
        salesforce.close()
        state.close()
    if args.markdown:
        a, v = out["apply"], out["verify"]
        checks = v["fields"]
        equal = sum(1 for c in checks if c["equal"])
        print(
            "| contacts | activities | SIGKILLs | counts equal | checksums equal | duplicates "
            "| plan estimate | calls spent | deviation |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        counts = v["counts"]
        acts = sum(c["target"] for k, c in counts.items() if k.startswith("activity"))
        print(
            f"| {counts['records']['target']:,} | {acts:,} | {a['kills']} "
            f"| {all(c['source'] == c['target'] for c in counts.values())} "
            f"| {equal}/{len(checks)} | {sum(v['duplicates'].values())} "
            f"| {a['estimate_calls']} | {a['spent_calls']} | {a['deviation_pct']} % |"
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
