"""`leadbridge demo`: the whole loop on a local emulated CRM, in one command.

It starts a CRM emulator in-process (HubSpot, Salesforce, ActiveCampaign or BOMA, at
the emulator's default rate limits) with generated data, runs a full sync (pull, score,
batched write-back), edits about 1 % of the leads the way users would, runs an
incremental sync, and shows what each run pulled, scored and wrote, the API calls it
spent against the minimum possible, and the top leads with their reasons.

`open_sandbox` (an emulator plus the connector settings that reach it) is shared with
``bench/sync_all.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.table import Table

from leadbridge.cli.progress import RichProgress
from leadbridge.connectors import create_connector
from leadbridge.core.errors import ConfigError
from leadbridge.core.protocols import Connector
from leadbridge.emulators.common.ledger import Ledger
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.engine import SyncEngine, SyncReport
from leadbridge.sync.state import open_store

__all__ = ["CRMS", "DEMO_LEADS", "DemoSummary", "Sandbox", "open_sandbox", "run_demo"]

CRMS: tuple[str, ...] = ("hubspot", "salesforce", "activecampaign", "boma")
LABELS = {
    "hubspot": "HubSpot",
    "salesforce": "Salesforce",
    "activecampaign": "ActiveCampaign",
    "boma": "BOMA",
}
DEMO_LEADS = {"hubspot": 5000, "salesforce": 5000, "activecampaign": 300, "boma": 2000}
"""Default sizes: each demo takes a few minutes at its CRM's real limits (ActiveCampaign
allows 5 requests/s and costs three per-contact calls per lead; BOMA writes one lead per
PATCH at 20 requests/s)."""


class _Emulator(Protocol):
    ledger: Ledger

    def stop(self) -> None: ...

    def mutate(self, fraction: float, *, seed: int) -> list[str]: ...


@dataclass
class Sandbox:
    """A running CRM emulator and the connector settings that reach it."""

    crm: str
    emulator: _Emulator
    settings: dict[str, Any]
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS[self.crm]

    def connector(self, **runtime: Any) -> Connector:
        """A fresh connector on this emulator (runtime: e.g. ``known_ids``)."""
        return create_connector(self.crm, self.settings, **runtime)

    def mutate(self, fraction: float, *, seed: int) -> list[str]:
        """Edit ~`fraction` of the leads the way users would; returns their ids."""
        return self.emulator.mutate(fraction, seed=seed)

    def close(self) -> None:
        """Stop the emulator."""
        self.emulator.stop()
        for step in self.cleanup:
            step()


def open_sandbox(crm: str, leads: int, *, seed: int) -> Sandbox:
    """Start `crm`'s emulator at its default limits with `leads` generated leads."""
    if crm not in CRMS:
        raise ConfigError(f"unknown CRM {crm!r} (choose from {', '.join(CRMS)})", key="--crm")
    return _OPENERS[crm](leads, seed)


def _hubspot(leads: int, seed: int) -> Sandbox:
    from leadbridge.emulators.hubspot import HubSpotEmulator, generate_portal

    emulator = HubSpotEmulator(generate_portal(leads, seed=seed)).start()
    settings = {
        "base_url": emulator.base_url,
        "auth": {"kind": "private_app", "token": emulator.private_app_token},
        # The emulator's search index has no lag, so no re-read window is needed
        # (real HubSpot: the default 120 s, as its search is eventually consistent).
        "overlap_s": 0,
    }
    return Sandbox("hubspot", emulator, settings)


def _salesforce(leads: int, seed: int) -> Sandbox:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from leadbridge.emulators.salesforce import SalesforceEmulator, generate_salesforce

    # A connected app's certificate, made up for this run (the JWT bearer flow).
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    org = generate_salesforce(leads, seed=seed)
    emulator = SalesforceEmulator(org, jwt_public_key_pem=public).start()
    settings = {
        "instance_url": emulator.base_url,
        "verify": emulator.ca_path,
        "account": f"demo-{uuid.uuid4().hex[:8]}",  # one rate limiter per emulated org
        "auth": {
            "kind": "jwt_bearer",
            "client_id": emulator.client_id,
            "username": org.api_username,
            "private_key_pem": private,
            "token_url": emulator.token_url,
        },
    }
    return Sandbox("salesforce", emulator, settings)


def _activecampaign(leads: int, seed: int) -> Sandbox:
    from leadbridge.emulators.activecampaign import ActiveCampaignEmulator, generate_activecampaign

    emulator = ActiveCampaignEmulator(generate_activecampaign(leads, seed=seed)).start()
    settings = {
        "base_url": emulator.api_url,
        "api_key": emulator.api_key,
        "allow_any_base_url": True,  # the emulator is plain http on 127.0.0.1
    }
    return Sandbox("activecampaign", emulator, settings)


def _boma(leads: int, seed: int) -> Sandbox:
    from leadbridge.emulators.boma import BomaEmulator, generate_boma

    emulator = BomaEmulator(generate_boma(leads, seed=seed)).start()
    settings = {
        "base_url": emulator.base_url + "/v1",
        "client_id": emulator.client_id,
        "client_secret": emulator.client_secret,
    }
    return Sandbox("boma", emulator, settings)


_OPENERS: dict[str, Callable[[int, int], Sandbox]] = {
    "hubspot": _hubspot,
    "salesforce": _salesforce,
    "activecampaign": _activecampaign,
    "boma": _boma,
}


class DemoSummary(BaseModel):
    """Both runs of the demo."""

    model_config = ConfigDict(frozen=True)

    full: SyncReport
    incremental: SyncReport
    mutated: int
    state: str
    crm: str = "hubspot"

    def as_json(self) -> dict[str, Any]:
        """The `--json` shape: per run the figures a newcomer (and CI) checks."""
        return {
            "crm": self.crm,
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
        "api_calls": {
            "read": calls.get("read", 0),
            "write": calls.get("write", 0),
            "setup": calls.get("setup", 0),
        },
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
    leads: int | None,
    seed: int,
    state: Path,
    console: Console,
    show_progress: bool = True,
    crm: str = "hubspot",
) -> DemoSummary:
    """Run the demo against a fresh emulated CRM and a fresh state store."""
    if crm not in CRMS:
        raise ConfigError(f"unknown CRM {crm!r} (choose from {', '.join(CRMS)})", key="--crm")
    size = DEMO_LEADS[crm] if leads is None else leads
    if size < 1:
        raise ConfigError("must be at least 1", key="--leads")
    _fresh_state(state)
    connection = f"demo-{crm}"
    sandbox = open_sandbox(crm, size, seed=seed)
    store = open_store(state)
    try:
        connector = sandbox.connector(known_ids=lambda: store.source_ids(connection))
        try:
            scorer = RulesScorer(load_config("omnichannel"))
            reports: list[SyncReport] = []
            mutated: list[str] = []
            for label in ("full", "incremental"):
                if label == "incremental":
                    mutated = sandbox.mutate(0.01, seed=seed + 1)
                progress = RichProgress(console, prefix=f"{label}: ") if show_progress else None
                engine = SyncEngine(
                    connector, scorer, store, connection=connection, progress=progress
                )
                if progress is not None:
                    with progress:
                        reports.append(engine.run())
                else:
                    reports.append(engine.run())
        finally:
            connector.close()
    finally:
        store.close()
        sandbox.close()
    return DemoSummary(
        full=reports[0], incremental=reports[1], mutated=len(mutated), state=str(state), crm=crm
    )


def print_summary(summary: DemoSummary, console: Console) -> None:
    """Human-readable tables: both runs side by side, tiers, and the top leads."""
    runs = Table(
        title=f"leadbridge demo: {LABELS.get(summary.crm, summary.crm)} (emulated) → score → "
        "write-back",
        title_justify="left",
    )
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
        (
            "dead letters",
            str(full.rejects + full.write_failures),
            str(inc.rejects + inc.write_failures),
        ),
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
    console.print("Next: `leadbridge report --out report.html` for the KPI report of this demo.")
