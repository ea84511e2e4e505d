"""Issue 7 acceptance: two-way sync HubSpot <-> Salesforce (emulated), 10,000 contacts.

Cycle 1 mirrors every HubSpot contact into Salesforce (creates by external-id upsert).
Then 1,000 linked records get the same field (first name) edited on both sides within
one second: for half of them HubSpot's edit comes last, for the other half Salesforce's.
One cycle must bring every record to the policy winner (``newest``: the later edit), and
the next three cycles must write nothing (neither the cycle reports nor the emulators'
write ledgers may show a single write).

    python bench/bisync.py [--contacts 10000] [--edited 1000] [--seed 7]

Prints one JSON document; `--markdown` prints the table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from leadbridge.connectors.hubspot import HubSpotConnector
from leadbridge.connectors.salesforce import from_settings
from leadbridge.emulators.crmpair import CrmPair
from leadbridge.mappings.fields import load_mapping
from leadbridge.sync.bidirectional import BidirectionalSync
from leadbridge.sync.pairstate import PairState


def ledger_writes(pair: CrmPair) -> int:
    return len(pair.hubspot.ledger.writes()) + len(pair.salesforce.ledger.writes())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--edited", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    out: dict[str, Any] = {"contacts": args.contacts, "edited": args.edited}
    with (
        CrmPair(hubspot_contacts=args.contacts, seed=args.seed) as pair,
        tempfile.TemporaryDirectory() as tmp,
    ):
        hubspot = HubSpotConnector.from_mapping(pair.settings("hubspot"))
        salesforce = from_settings(pair.settings("salesforce"))
        state = PairState.open(str(Path(tmp) / "pair.db"), "bench")
        sync = BidirectionalSync(
            hubspot.records(),
            salesforce.records(),
            load_mapping("hubspot-salesforce"),
            state,
            overlap_s=1.0,
        )
        started = time.perf_counter()
        first = sync.cycle()
        out["cycle1"] = {
            "seconds": round(time.perf_counter() - started, 1),
            "created_on_salesforce": first.created["b"],
            "calls": first.calls,
        }
        portal, org = pair.hubspot.portal, pair.salesforce.org
        links = state.links_for("a", [str(i) for i in portal.contacts.by_id])
        chosen = rng.sample(sorted(links), args.edited)
        hubspot_last = set(chosen[: args.edited // 2])
        edit_start = time.perf_counter()
        for a_id in chosen:
            if a_id not in hubspot_last:
                portal.update_contact(
                    portal.contacts.records[int(a_id)], {"firstname": f"HS {a_id}"}
                )
        for a_id in chosen:
            org.update("Contact", links[a_id].b_id, {"FirstName": f"SF {a_id}"})
        for a_id in hubspot_last:
            portal.update_contact(portal.contacts.records[int(a_id)], {"firstname": f"HS {a_id}"})
        out["edit_window_s"] = round(time.perf_counter() - edit_start, 3)
        before = ledger_writes(pair)
        started = time.perf_counter()
        report = sync.cycle()
        out["conflict_cycle"] = {
            "seconds": round(time.perf_counter() - started, 1),
            "conflicts": report.conflicts,
            "records_written": report.writes,
            "ledger_writes": ledger_writes(pair) - before,
            "pulled": report.pulled,
        }
        wrong = 0
        for a_id in chosen:
            winner = f"HS {a_id}" if a_id in hubspot_last else f"SF {a_id}"
            hs = portal.contacts.records[int(a_id)].properties.get("firstname")
            sf = (org.get("Contact", links[a_id].b_id) or {}).get("FirstName")
            wrong += hs != winner or sf != winner
        out["converged_to_winner"] = f"{args.edited - wrong}/{args.edited}"
        quiet = []
        for _ in range(3):
            before = ledger_writes(pair)
            again = sync.cycle()
            quiet.append(
                {"records_written": again.writes, "ledger_writes": ledger_writes(pair) - before}
            )
        out["next_three_cycles"] = quiet
        hubspot.close()
        salesforce.close()
        state.close()
    if args.markdown:
        c = out["conflict_cycle"]
        print(
            "| contacts | edited both sides | edit window | conflicts logged | converged to winner "
            "| writes in the conflict cycle | writes in the next 3 cycles |"
        )
        print("|---|---|---|---|---|---|---|")
        print(
            f"| {args.contacts:,} | {args.edited:,} | {out['edit_window_s']} s | {c['conflicts']} "
            f"| {out['converged_to_winner']} | {c['records_written']} records "
            f"| {[q['ledger_writes'] for q in quiet]} |"
        )
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
