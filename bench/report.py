"""Benchmark: `leadbridge report` on a state store of 1,000,000 scored leads (issue 9).

Builds a synthetic SQLite store in the real schema (bulk inserts straight into the
tables `StateStore` creates): 1M leads with their JSON, 1.2M score-history rows (a fifth
rescored), 2M activities, ~15 % outcomes with funnel stage dates, 60 runs. Then times

- the baseline: merely reading the columns the report needs (plain sqlite3 fetch);
- `build_report` (every KPI) in-process;
- the whole command, `leadbridge report --out report.html`, in a fresh process;

and reports the HTML size. Target: ≤ 30 s end to end, file ≤ 5 MB.

    python bench/report.py [--leads 1000000] [--state /tmp/lb-report-bench.db] [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson

from leadbridge.sync.state import open_store

AS_OF = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TIERS = ((0, 25, "cold"), (26, 50, "warm"), (51, 75, "hot"), (76, 100, "very_hot"))
SOURCES = ("ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "REFERRALS")
REGIONS = ("Vaud", "Genève", "Zürich", "Bern", "Ticino", "Valais", "Fribourg", "Basel-Stadt")
KINDS = (
    ("web", "page_view:pricing"),
    ("web", "page_view:blog"),
    ("web", "form_submit"),
    ("email", "email_open"),
    ("email", "email_click"),
    ("event", "webinar_attended"),
)


def _ts(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")


def build_store(path: Path, n: int, seed: int = 1) -> None:
    """Write `n` scored leads into a fresh store at `path`."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    open_store(path).close()  # the real schema
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    now = AS_OF.timestamp()
    created = now - rng.uniform(0, 365 * 86_400, n)
    score = np.clip(rng.gamma(2.0, 14.0, n), 0, 100).astype(int)
    p_won = 0.01 + 0.45 * (score / 100) ** 2
    fate = rng.random(n)
    won = fate < p_won
    lost = ~won & (fate < p_won + 0.12)
    delay = rng.exponential(30 * 86_400, n)
    outcome_at = np.minimum(created + 86_400 + delay, now)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    lead_rows, hist_rows, act_rows, out_rows = [], [], [], []
    for i in range(n):
        key = f"hubspot:{i}"
        c = float(created[i])
        custom = {}
        if score[i] > 40 or won[i]:
            custom["mql_at"] = _iso(c + 86_400 * (1 + 10 * pick.random()))
        if score[i] > 65 or won[i]:
            custom["sql_at"] = _iso(c + 86_400 * (5 + 15 * pick.random()))
        data = {
            "key": key,
            "source_ids": {"hubspot": str(i)},
            "email": f"person{i}@example.ch",
            "phone": "+41 21 555 00 00",
            "first_name": "Ana",
            "last_name": "Muster",
            "company": f"Firma {i % 5000} AG",
            "job_title": "Head of Sales",
            "seniority": None,
            "industry": "Software",
            "company_size": 50,
            "annual_revenue": None,
            "country": "Switzerland",
            "region": REGIONS[i % len(REGIONS)],
            "language": ("fr", "de", "it", "en")[i % 4],
            "consent": {"marketing_email": None, "tracking": None},
            "lifecycle_stage": "lead",
            "owner": str(71000000 + i % 9),
            "source": SOURCES[i % len(SOURCES)],
            "created_at": _iso(c),
            "updated_at": _iso(c + 3600),
            "custom": custom,
        }
        lead_rows.append(("hs", key, str(i), orjson.dumps(data).decode(), _ts(c + 3600), 0, 0))
        tier = next(name for low, high, name in TIERS if low <= score[i] <= high)
        scored_at = min(c + 86_400, now)
        result = {
            "lead_key": key,
            "score": int(score[i]),
            "tier": tier,
            "action": "act",
            "reasons": [
                {"rule": "pricing_page", "points": 15.0, "label": "Pricing page viewed"},
                {"rule": "email_click", "points": 8.0, "label": "Email link clicked"},
            ],
            "config_version": "omnichannel-1",
            "computed_at": _iso(scored_at),
        }
        hist_rows.append(
            ("hs", key, int(score[i]), tier, "omnichannel-1", _ts(scored_at), json.dumps(result))
        )
        if i % 5 == 0:
            hist_rows.append(
                (
                    "hs",
                    key,
                    int(score[i]),
                    tier,
                    "omnichannel-1",
                    _ts(now - 3600),
                    json.dumps(result),
                )
            )
        for j in range(2):
            channel, kind = KINDS[(i + j * 3) % len(KINDS)]
            act_rows.append(
                ("hs", f"{i}-{j}", key, channel, kind, _ts(c + 7200 * (j + 1)), "hubspot")
            )
        if won[i] or lost[i]:
            out_rows.append(
                ("hs", key, "won" if won[i] else "lost", _ts(float(outcome_at[i])), "hubspot")
            )
    conn.executemany(
        "INSERT INTO lb_leads (connection, lead_key, source_id, data, updated_at, deleted, dirty)"
        " VALUES (?,?,?,?,?,?,?)",
        lead_rows,
    )
    conn.executemany(
        "INSERT INTO lb_score_history (connection, lead_key, score, tier, config_version,"
        " computed_at, result_json) VALUES (?,?,?,?,?,?,?)",
        hist_rows,
    )
    conn.executemany(
        "INSERT INTO lb_activities (connection, activity_id, lead_key, channel, kind, occurred_at,"
        " source, count, attributes) VALUES (?,?,?,?,?,?,?,1,'{}')",
        act_rows,
    )
    conn.executemany(
        "INSERT INTO lb_outcomes (connection, lead_key, status, at, source) VALUES (?,?,?,?,?)",
        out_rows,
    )
    for r in range(60):
        start = now - (60 - r) * 6 * 3600
        report = {"api_calls": {"read": 400 + r, "write": 120, "setup": 2}, "elapsed_s": 95.0}
        report["min_api_calls"] = {"read": 400, "write": 120}
        conn.execute(
            "INSERT INTO lb_runs (connection, mode, started_at, finished_at, status, report_json)"
            " VALUES ('hs', 'incremental', ?, ?, 'ok', ?)",
            (_ts(start), _ts(start + 95), json.dumps(report)),
        )
    conn.commit()
    conn.close()


def read_columns(path: Path) -> float:
    """Baseline: fetch the columns the report reads, nothing else."""
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute(
        "SELECT h.lead_key, h.score, h.tier, h.computed_at, l.data FROM lb_score_history h"
        " JOIN lb_leads l ON l.connection = h.connection AND l.lead_key = h.lead_key"
    ).fetchall()
    conn.execute("SELECT lead_key, status, at FROM lb_outcomes").fetchall()
    conn.execute("SELECT lead_key, channel, count FROM lb_activities").fetchall()
    conn.close()
    return time.perf_counter() - started


CLI = (
    "import sys, typer; from leadbridge.cli.report import register; app = typer.Typer();"
    " app.callback()(lambda: None); register(app); sys.argv[0] = 'leadbridge'; app()"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--state", type=Path, default=Path("/tmp/lb-report-bench.db"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/lb-report-bench.html"))
    parser.add_argument("--keep", action="store_true", help="Reuse an existing store.")
    args = parser.parse_args()
    if not (args.keep and args.state.exists()):
        started = time.perf_counter()
        build_store(args.state, args.leads)
        print(f"built {args.leads:,} leads in {time.perf_counter() - started:.1f} s")
    print(f"store: {args.state.stat().st_size / 1e6:.0f} MB")
    print(f"baseline, read the columns: {read_columns(args.state):.1f} s")

    from leadbridge.reports.kpis import ReportOptions, build_report

    store = open_store(args.state)
    started = time.perf_counter()
    report = build_report(store, ReportOptions(as_of=AS_OF, capacity=2000))
    print(f"build_report (every KPI): {time.perf_counter() - started:.1f} s")
    print(
        f"  {report.summary.leads_scored:,} leads, conversion {report.summary.conversion_rate:.3f},"
        f" hot precision {report.hot.precision:.3f}"
    )
    store.close()
    command = [
        sys.executable,
        "-c",
        CLI,
        "report",
        "--state",
        str(args.state),
        "--out",
        str(args.out),
        "--as-of",
        AS_OF.isoformat(),
        "--capacity",
        "2000",
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    elapsed = time.perf_counter() - started
    print(f"leadbridge report, end to end (fresh process): {elapsed:.1f} s")
    print(f"HTML: {args.out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
