"""Issue 2 benchmark: a full HubSpot sync at the emulator's default limits vs the naive flow.

leadbridge: incremental search pull, scoring, batched write-back (100 per call), paced
from the limit headers. Baseline (seed 000's flow): one PATCH per contact. Both run in the
same process against emulators with the same default limits (100 requests / 10 s, search
5 / s). The baseline PATCHes `--baseline-leads` contacts (default 2,000: one PATCH each at
10/s already takes minutes) and its figures are reported per 1,000 leads, which is how the
two are compared.

    python bench/sync_hubspot.py [--leads 20000] [--baseline-leads 2000] [--seed 42]

Prints write calls per 1,000 leads (and the ratio), total calls against the minimum,
wall time against the rate-limit bound (calls per bucket ÷ allowed rate), and the 429s
the emulator sent.
"""

from __future__ import annotations

import argparse
import json
import sys
import math
import tempfile
import time
from pathlib import Path

from leadbridge.connectors import create_connector
from leadbridge.core.http import HttpClient
from leadbridge.core.auth import HeaderTokenAuth
from leadbridge.core.ratelimit import RateLimiter, parse_hubspot_headers
from leadbridge.emulators.hubspot import HubSpotEmulator, HubSpotLimits, generate_portal
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.engine import SyncEngine
from leadbridge.sync.state import open_store


def bucket_calls(counts: dict[str, int]) -> tuple[int, int]:
    """(default-bucket calls, search calls) from an emulator ledger."""
    search = sum(n for endpoint, n in counts.items() if endpoint.endswith("/search"))
    return sum(counts.values()) - search, search


def run_leadbridge(leads: int, seed: int, limits: HubSpotLimits) -> dict[str, object]:
    portal = generate_portal(leads, seed=seed)
    with HubSpotEmulator(portal, limits=limits) as hs, tempfile.TemporaryDirectory() as tmp:
        store = open_store(Path(tmp) / "state.db")
        connector = create_connector(
            "hubspot",
            {
                "base_url": hs.base_url,
                "auth": {"kind": "private_app", "token": hs.private_app_token},
                "overlap_s": 0,  # the emulator's search has no index lag
            },
        )
        engine = SyncEngine(connector, RulesScorer(load_config("omnichannel")), store, connection="bench")
        start = time.perf_counter()
        report = engine.run()
        wall = time.perf_counter() - start
        connector.close()
        store.close()
        counts = hs.ledger.counts()
        default_calls, search_calls = bucket_calls(counts)
        bound = max(default_calls / (limits.burst_per_10s / 10.0), search_calls / limits.search_per_s)
        return {
            "status": report.status,
            "leads_written": report.leads_written,
            "calls": report.api_calls,
            "min_calls": report.min_api_calls,
            "ledger_total": hs.ledger.total(),
            "default_bucket_calls": default_calls,
            "search_calls": search_calls,
            "wall_s": wall,
            "bound_s": bound,
            "http_429": hs.ledger.statuses().get(429, 0),
        }


def run_naive(leads: int, seed: int, limits: HubSpotLimits) -> dict[str, object]:
    """Seed 000's flow: one PATCH per contact, politely paced by the same limiter."""
    portal = generate_portal(leads, seed=seed)
    ids = sorted(r.id for r in portal.contacts.records.values() if not r.archived)[:leads]
    with HubSpotEmulator(portal, limits=limits) as hs:
        # The naive flow writes a property that exists (no bootstrap): reuse a standard one.
        limiter = RateLimiter({"default": (limits.burst_per_10s, 10.0)})
        client = HttpClient(
            "naive",
            base_url=hs.base_url,
            auth=HeaderTokenAuth(hs.private_app_token),
            limiter=limiter,
            header_parser=parse_hubspot_headers,
        )
        start = time.perf_counter()
        for contact_id in ids:
            client.call(
                "PATCH",
                f"/crm/v3/objects/contacts/{contact_id}",
                json={"properties": {"hs_lead_status": "OPEN"}},
                category="write",
            )
        wall = time.perf_counter() - start
        client.close()
        return {
            "leads": len(ids),
            "write_calls": client.counter.snapshot().get("write", 0),
            "wall_s": wall,
            "http_429": hs.ledger.statuses().get(429, 0),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--baseline-leads", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    limits = HubSpotLimits()

    ours = run_leadbridge(args.leads, args.seed, limits)
    print("leadbridge run:", json.dumps(ours, default=str), file=sys.stderr, flush=True)
    naive = run_naive(args.baseline_leads, args.seed, limits)

    written = int(ours["leads_written"])  # type: ignore[call-overload]
    calls = dict(ours["calls"])  # type: ignore[call-overload]
    min_calls = dict(ours["min_calls"])  # type: ignore[call-overload]
    ours_per_1k = 1000 * calls.get("write", 0) / max(written, 1)
    naive_per_1k = 1000 * int(naive["write_calls"]) / max(int(naive["leads"]), 1)  # type: ignore[call-overload]
    total = sum(calls.values())
    minimum = sum(min_calls.values()) + calls.get("setup", 0)
    results = {
        "leads": args.leads,
        "leads_written": written,
        "write_calls_per_1000_leads": {"leadbridge": round(ours_per_1k, 2), "naive": round(naive_per_1k, 2)},
        "write_call_reduction_x": round(naive_per_1k / ours_per_1k, 1) if ours_per_1k else None,
        "write_calls_vs_minimum": f"{calls.get('write', 0)} / {math.ceil(written / 100)}",
        "total_calls_vs_minimum": f"{total} / {minimum} (= {total / max(minimum, 1):.3f}x)",
        "wall_s": round(float(ours["wall_s"]), 1),  # type: ignore[arg-type]
        "rate_limit_bound_s": round(float(ours["bound_s"]), 1),  # type: ignore[arg-type]
        "wall_vs_bound_x": round(float(ours["wall_s"]) / float(ours["bound_s"]), 3),  # type: ignore[arg-type]
        "http_429_leadbridge": ours["http_429"],
        "http_429_naive": naive["http_429"],
        "naive_wall_s_per_1000_leads": round(1000 * float(naive["wall_s"]) / max(int(naive["leads"]), 1), 1),  # type: ignore[arg-type,call-overload]
        "ledger": {k: ours[k] for k in ("ledger_total", "default_bucket_calls", "search_calls")},
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"HubSpot sync benchmark: {args.leads} leads, default emulator limits (100/10 s, search 5/s)")
    for key, value in results.items():
        print(f"  {key:32} {value}")


if __name__ == "__main__":
    main()
