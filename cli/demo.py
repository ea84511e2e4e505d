"""`leadbridge demo`: the whole loop on a local emulated CRM, in one command.

It starts the HubSpot emulator in-process with a generated portal, runs a full sync
(pull, score, batched write-back), edits about 1 % of the leads the way users would,
runs an incremental sync, and shows what each run pulled, scored and wrote, the API
calls it spent against the minimum possible, and the top leads with their reasons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.table import Table

from leadbridge.cli.progress import RichProgress
from leadbridge.connectors import create_connector
from leadbridge.core.errors import ConfigError
from leadbridge.emulators.hubspot import HubSpotEmulator, generate_portal
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.engine import SyncEngine, SyncReport
from leadbridge.sync.state import open_store

__all__ = ["DemoSummary", "run_demo"]

DEMO_CONNECTION = "demo-hubspot"


class DemoSummary(BaseModel):
    """Both runs of the demo."""

    model_config = ConfigDict(frozen=True)

    full: SyncReport
    incremental: SyncReport
    mutated: int
    state: str

    def as_json(self) -> dict[str, Any]:
        """The `--json` shape: per run the figures a newcomer (and CI) checks."""
        return {
            "full": _run_json(self.full),
            "incremental": _run_json(self.incremental),
            "mutated_leads": self.mutated,
            "state": self.state,
        }


def _run_json(report: SyncReport) -> dict[str, Any]:
    calls = report.api_calls
    minimum = report.min_api_calls
    return {
        "status": report.status,
        "leads_pulled": report.leads_pulled,
        "activities_pulled": report.activities_pulled,
        "leads_scored": report.leads_scored,
        "leads_written": report.leads_written,
        "leads_unchanged": report.leads_unchanged,
        "write_failures": report.write_failures,
        "dead_letters": report.rejects + report.write_failures,
        "api_calls": {"read": calls.get("read", 0), "write": calls.get("write", 0), "setup": calls.get("setup", 0)},
        "min_api_calls": {"read": minimum.get("read", 0), "write": minimum.get("write", 0)},
        "tier_counts": report.tier_counts,
        "elapsed_s": report.elapsed_s,
        "errors": report.errors,
    }


def _fresh_state(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            candidate.unlink()


def run_demo(
    *,
    leads: int,
    seed: int,
    state: Path,
    console: Console,
    show_progress: bool = True,
) -> DemoSummary:
    """Run the demo against a fresh emulated portal and a fresh state store."""
    if leads < 1:
        raise ConfigError("must be at least 1", key="--leads")
    _fresh_state(state)
    portal = generate_portal(leads, seed=seed)
    store = open_store(state)
    with HubSpotEmulator(portal) as emulator:
        connector = create_connector(
            "hubspot",
            {
                "base_url": emulator.base_url,
                "auth": {"kind": "private_app", "token": emulator.private_app_token},
                # The emulator's search index has no lag, so no re-read window is needed
                # (real HubSpot: the default 120 s, as its search is eventually consistent).
                "overlap_s": 0,
            },
        )
        try:
            scorer = RulesScorer(load_config("omnichannel"))
            reports: list[SyncReport] = []
            mutated: list[str] = []
            for label in ("full", "incremental"):
                if label == "incremental":
                    mutated = emulator.mutate(0.01, seed=seed + 1)
                progress = RichProgress(console, prefix=f"{label}: ") if show_progress else None
                engine = SyncEngine(connector, scorer, store, connection=DEMO_CONNECTION, progress=progress)
                if progress is not None:
                    with progress:
                        reports.append(engine.run())
                else:
                    reports.append(engine.run())
        finally:
            connector.close()
            store.close()
    return DemoSummary(full=reports[0], incremental=reports[1], mutated=len(mutated), state=str(state))


def print_summary(summary: DemoSummary, console: Console) -> None:
    """Human-readable tables: both runs side by side, tiers, and the top leads."""
    runs = Table(title="leadbridge demo: HubSpot (emulated) → score → write-back", title_justify="left")
    runs.add_column("")
    runs.add_column("full run", justify="right")
    runs.add_column("incremental run", justify="right")
    full, inc = summary.full, summary.incremental

    def calls(report: SyncReport, kind: str) -> str:
        return f"{report.api_calls.get(kind, 0)} (min {report.min_api_calls.get(kind, 0)})"

    rows = [
        ("status", full.status, inc.status),
        ("leads pulled", str(full.leads_pulled), str(inc.leads_pulled)),
        ("activities pulled", str(full.activities_pulled), str(inc.activities_pulled)),
        ("leads scored", str(full.leads_scored), str(inc.leads_scored)),
        ("scores written", str(full.leads_written), str(inc.leads_written)),
        ("unchanged (no write)", str(full.leads_unchanged), str(inc.leads_unchanged)),
        ("dead letters", str(full.rejects + full.write_failures), str(inc.rejects + inc.write_failures)),
        ("read calls (minimum)", calls(full, "read"), calls(inc, "read")),
        ("write calls (minimum)", calls(full, "write"), calls(inc, "write")),
        ("setup calls", str(full.api_calls.get("setup", 0)), str(inc.api_calls.get("setup", 0))),
        ("elapsed", f"{full.elapsed_s:.1f} s", f"{inc.elapsed_s:.1f} s"),
    ]
    for row in rows:
        runs.add_row(*row)
    console.print(runs)
    console.print(f"{summary.mutated} leads were edited in the CRM between the two runs.")

    tiers = Table(title="tiers after the full run", title_justify="left")
    tiers.add_column("tier")
    tiers.add_column("leads", justify="right")
    for tier, count in full.tier_counts.items():
        tiers.add_row(tier, str(count))
    console.print(tiers)

    top = Table(title="top 10 leads", title_justify="left")
    for column in ("lead", "score", "tier", "action", "why"):
        top.add_column(column, overflow="fold")
    for lead in full.top:
        top.add_row(lead.name, str(lead.score), lead.tier, lead.action, lead.summary)
    console.print(top)
    for report in (full, inc):
        for error in report.errors:
            console.print(f"[red]{report.mode}: {error}[/red]")
    console.print(f"State kept in {summary.state}.")
