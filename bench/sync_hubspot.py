"""Issue 2 benchmark: a full HubSpot sync at the emulator's default limits vs the naive flow.

leadbridge: incremental search pull, scoring, batched write-back (100 per call), paced
from the limit headers. Baseline (seed 000's flow): one PATCH per contact. Both run in the
same run against emulators with the same default limits (100 requests / 10 s, search
5 / s). Each emulator runs in its own process (`leadbridge emulator hubspot`), as a remote
API would: sharing one interpreter with the client would make the client's CPU time and
the server's compete for one lock and measure neither. The baseline PATCHes
`--baseline-leads` contacts (default 2,000: one PATCH each at 10/s already takes minutes)
and its figures are reported per 1,000 leads, which is how the two are compared.

    python bench/sync_hubspot.py [--leads 20000] [--baseline-leads 2000] [--seed 42]

Prints write calls per 1,000 leads (and the ratio), total calls against the minimum,
wall time against the rate-limit bound (calls per bucket ÷ allowed rate), and the 429s
the emulator sent.
"""

from __future__ import annotations

import argparse
import json
import math
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from leadbridge.connectors import create_connector
from leadbridge.core.auth import HeaderTokenAuth
from leadbridge.core.http import HttpClient
from leadbridge.core.ratelimit import RateLimiter, parse_hubspot_headers
from leadbridge.emulators.hubspot import HubSpotLimits
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.engine import SyncEngine
from leadbridge.sync.state import open_store


def bucket_calls(counts: dict[str, int]) -> tuple[int, int]:
    """(default-bucket calls, search calls) from an emulator ledger."""
    search = sum(n for endpoint, n in counts.items() if endpoint.endswith("/search"))
    return sum(counts.values()) - search, search


class EmulatorProcess:
    """`leadbridge emulator hubspot` in a child process; ledger read over its admin API."""

    def __init__(self, leads: int, seed: int) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        code = "from leadbridge.cli.app import main; main()"
        args = [
            "emulator",
            "hubspot",
            "--port",
            str(self.port),
            "--leads",
            str(leads),
            "--seed",
            str(seed),
        ]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True
        )
        self.base_url = f"http://127.0.0.1:{self.port}"
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # printed once the portal is generated and served
        if "HubSpot emulator on" not in line:
            raise SystemExit(f"emulator did not start: {line!r}")
        self.token = line.split("private-app token: ")[1].rstrip(")\n ")

    def ledger(self) -> dict[str, object]:
        return httpx.get(f"{self.base_url}/_emulator/ledger", timeout=60).json()  # type: ignore[no-any-return]

    def live_ids(self, n: int) -> list[str]:
        ids: list[str] = []
        after = None
        while len(ids) < n:
            params: dict[str, object] = {"limit": 100, **({"after": after} if after else {})}
            page = httpx.get(
                f"{self.base_url}/crm/v3/objects/contacts",
                params=params,
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=60,
            )
            if page.status_code == 429:
                time.sleep(1)
                continue
            data = page.json()
            ids += [r["id"] for r in data["results"]]
            after = (data.get("paging") or {}).get("next", {}).get("after")
            if not after:
                break
        return ids[:n]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def bucket_totals(ledger: dict[str, object]) -> tuple[int, int, int]:
    counts = dict(ledger["counts"])  # type: ignore[call-overload]
    default_calls, search_calls = bucket_calls(counts)
    statuses = dict(ledger["statuses"])  # type: ignore[call-overload]
    return default_calls, search_calls, int(statuses.get("429", 0))


def run_leadbridge(leads: int, seed: int, limits: HubSpotLimits) -> dict[str, object]:
    emulator = EmulatorProcess(leads, seed)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(Path(tmp) / "state.db")
            connector = create_connector(
                "hubspot",
                {
                    "base_url": emulator.base_url,
                    "auth": {"kind": "private_app", "token": emulator.token},
                    "overlap_s": 0,  # the emulator's search has no index lag
                },
            )
            engine = SyncEngine(
                connector, RulesScorer(load_config("omnichannel")), store, connection="bench"
            )
            start = time.perf_counter()
            report = engine.run()
            wall = time.perf_counter() - start
            connector.close()
            store.close()
        ledger = emulator.ledger()
    finally:
        emulator.close()
    default_calls, search_calls, throttled = bucket_totals(ledger)
    bound = max(default_calls / (limits.burst_per_10s / 10.0), search_calls / limits.search_per_s)
    return {
        "status": report.status,
        "leads_written": report.leads_written,
        "calls": report.api_calls,
        "min_calls": report.min_api_calls,
        "ledger_total": ledger["total"],
        "default_bucket_calls": default_calls,
        "search_calls": search_calls,
        "wall_s": wall,
        "bound_s": bound,
        "http_429": throttled,
    }


def run_naive(leads: int, seed: int, limits: HubSpotLimits) -> dict[str, object]:
    """Seed 000's flow: one PATCH per contact, politely paced by the same limiter."""
    emulator = EmulatorProcess(leads, seed)
    try:
        ids = emulator.live_ids(leads)
        httpx.post(f"{emulator.base_url}/_emulator/ledger/reset", timeout=60)
        limiter = RateLimiter({"default": (limits.burst_per_10s, 10.0)})
        client = HttpClient(
            "naive",
            base_url=emulator.base_url,
            auth=HeaderTokenAuth(emulator.token),
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
        _, _, throttled = bucket_totals(emulator.ledger())
    finally:
        emulator.close()
    return {
        "leads": len(ids),
        "write_calls": client.counter.snapshot().get("write", 0),
        "wall_s": wall,
        "http_429": throttled,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
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
    minimum = sum(min_calls.values())  # includes setup
    results = {
        "leads": args.leads,
        "leads_written": written,
        "write_calls_per_1000_leads": {
            "leadbridge": round(ours_per_1k, 2),
            "naive": round(naive_per_1k, 2),
        },
        "write_call_reduction_x": round(naive_per_1k / ours_per_1k, 1) if ours_per_1k else None,
        "write_calls_vs_minimum": f"{calls.get('write', 0)} / {math.ceil(written / 100)}",
        "total_calls_vs_minimum": f"{total} / {minimum} (= {total / max(minimum, 1):.3f}x)",
        "wall_s": round(float(ours["wall_s"]), 1),  # type: ignore[arg-type]
        "rate_limit_bound_s": round(float(ours["bound_s"]), 1),  # type: ignore[arg-type]
        "wall_vs_bound_x": round(float(ours["wall_s"]) / float(ours["bound_s"]), 3),  # type: ignore[arg-type]
        "http_429_leadbridge": ours["http_429"],
        "http_429_naive": naive["http_429"],
        "naive_wall_s_per_1000_leads": round(
            1000 * float(naive["wall_s"]) / max(int(naive["leads"]), 1), 1
        ),  # type: ignore[arg-type,call-overload]
        "ledger": {k: ours[k] for k in ("ledger_total", "default_bucket_calls", "search_calls")},
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"HubSpot sync benchmark: {args.leads} leads, default limits (100/10 s, search 5/s)")
    for key, value in results.items():
        print(f"  {key:32} {value}")


if __name__ == "__main__":
    main()
