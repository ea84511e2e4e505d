"""Issue 5 benchmark: one full sync per CRM at its emulator's default limits.

For each of HubSpot, Salesforce, ActiveCampaign and BOMA: a generated account of M leads
behind its emulator (default limits, the same sandboxes `leadbridge demo` uses), a full
sync (pull, score, batched write-back, read-back of our own echo), then figures taken from
the emulator's ledger, not from the client's bookkeeping:

- write requests (state-changing score writes) against the minimum for the vendor's batch
  size, ceil(leads written / batch): HubSpot 100, Salesforce 200 (sObject Collections),
  ActiveCampaign 250 (bulk import), BOMA as its profile says (one lead per PATCH);
  target ≤ 1.02. The connector's whole write path (ActiveCampaign's e-mail look-ups and
  import status reads included) is also shown against its own minimum.
- throughput: the time the announced limits require for the requests answered, divided
  by the wall time (1.0 = running at the limit); target ≥ 0.90 where a short-window limit
  is announced (Salesforce announces only a daily allocation: shown, not judged).
- throttling responses received (429; Salesforce's 403 REQUEST_LIMIT_EXCEEDED;
  ActiveCampaign's 503); target 0.

    python bench/sync_all.py [--crm hubspot ...] [--hubspot 2000] [--salesforce 2000]
                             [--activecampaign 200] [--boma 600] [--seed 42] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from leadbridge.cli.demo import CRMS, open_sandbox
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.engine import SyncEngine

DEFAULT_LEADS = {"hubspot": 2000, "salesforce": 2000, "activecampaign": 200, "boma": 600}
VENDOR_BATCH = {"hubspot": 100, "salesforce": 200, "activecampaign": 250}


def write_requests(crm: str, counts: dict[str, int]) -> int:
    """State-changing score writes in an emulator ledger (no look-ups, polls or setup)."""

    def is_write(endpoint: str) -> bool:
        if crm == "hubspot":
            return endpoint.endswith("/contacts/batch/update")
        if crm == "salesforce":
            return endpoint.startswith("PATCH") and endpoint.endswith("/composite/sobjects")
        if crm == "activecampaign":
            writes = ("/import/bulk_import", "/contact/sync", "/fieldValues")
            return endpoint.startswith("POST") and endpoint.endswith(writes)
        return endpoint.startswith("PATCH /v1/leads/") or endpoint.endswith("/leads/batch")

    return sum(n for endpoint, n in counts.items() if is_write(endpoint))


def limit_bound_s(crm: str, counts: dict[str, int], sandbox: Any) -> float | None:
    """Seconds the announced short-window limits require for these requests."""
    total = sum(counts.values())
    if crm == "hubspot":
        limits = sandbox.emulator.limits
        search = sum(n for endpoint, n in counts.items() if endpoint.endswith("/search"))
        per_s = float(limits.burst_per_10s) / 10.0
        return max((total - search) / per_s, search / float(limits.search_per_s))
    if crm == "activecampaign":
        return total / float(sandbox.emulator.limits.requests_per_s)
    if crm == "boma":
        limits = sandbox.emulator.limits
        return total / (float(limits.requests) / float(limits.window_s))
    return None  # Salesforce: a rolling 24 h allocation only


def run(crm: str, leads: int, seed: int) -> dict[str, Any]:
    sandbox = open_sandbox(crm, leads, seed=seed)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            from leadbridge.sync.state import open_store

            store = open_store(Path(tmp) / "state.db")
            connector = sandbox.connector(known_ids=lambda: store.source_ids("bench"))
            engine = SyncEngine(
                connector, RulesScorer(load_config("omnichannel")), store, connection="bench"
            )
            start = time.perf_counter()
            report = engine.run()
            wall = time.perf_counter() - start
            connector.close()
            store.close()
        ledger = sandbox.emulator.ledger
        counts = ledger.counts()
        statuses = ledger.statuses()
        batch = VENDOR_BATCH.get(crm, int(getattr(connector, "max_batch", 1)))
        written = report.leads_written
        minimum = math.ceil(written / batch) if written else 0
        writes = write_requests(crm, counts)
        bound = limit_bound_s(crm, counts, sandbox)
        throttled = statuses.get(429, 0) + statuses.get(503, 0)
        if crm == "salesforce":
            throttled += statuses.get(403, 0)
        path_calls = report.api_calls.get("write", 0)
        path_min = report.min_api_calls.get("write", 0)
        return {
            "crm": crm,
            "leads": leads,
            "status": report.status,
            "errors": report.errors[:3],
            "leads_written": written,
            "batch": batch,
            "write_requests": writes,
            "write_minimum": minimum,
            "write_ratio": round(writes / minimum, 3) if minimum else None,
            "write_path_calls": path_calls,
            "write_path_minimum": path_min,
            "write_path_ratio": round(path_calls / path_min, 3) if path_min else None,
            "requests": sum(counts.values()),
            "wall_s": round(wall, 2),
            "requests_per_s": round(sum(counts.values()) / wall, 2),
            "limit_bound_s": round(bound, 2) if bound is not None else None,
            "throughput_ratio": round(bound / wall, 3) if bound is not None else None,
            "throttled": throttled,
        }
    finally:
        sandbox.close()


def verdict(row: dict[str, Any]) -> str:
    misses = []
    if row["status"] != "ok":
        misses.append(f"status {row['status']}")
    if row["write_ratio"] is not None and row["write_ratio"] > 1.02:
        misses.append("write calls")
    if row["throughput_ratio"] is not None and row["throughput_ratio"] < 0.90:
        misses.append("throughput")
    if row["throttled"]:
        misses.append("throttled")
    return "meets targets" if not misses else "MISSED: " + ", ".join(misses)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--crm", action="append", choices=CRMS, help="repeatable; default all")
    for crm in CRMS:
        parser.add_argument(f"--{crm}", type=int, default=DEFAULT_LEADS[crm], metavar="LEADS")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for crm in args.crm or CRMS:
        row = run(crm, getattr(args, crm), args.seed)
        row["verdict"] = verdict(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    header = (
        f"{'crm':15} {'leads':>6} {'writes/min':>12} {'ratio':>6} {'path/min':>10} "
        f"{'req/s':>7} {'thru':>6} {'429s':>5}  verdict"
    )
    print(header)
    for r in rows:
        thru = "n/a" if r["throughput_ratio"] is None else f"{r['throughput_ratio']:.2f}"
        writes = f"{r['write_requests']}/{r['write_minimum']}"
        path = f"{r['write_path_calls']}/{r['write_path_minimum']}"
        print(
            f"{r['crm']:15} {r['leads']:>6} {writes:>12} {r['write_ratio'] or 0:>6.3f} "
            f"{path:>10} {r['requests_per_s']:>7.1f} {thru:>6} {r['throttled']:>5}  "
            f"{r['verdict']}"
        )


if __name__ == "__main__":
    main()
