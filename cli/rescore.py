"""`leadbridge rescore`: see what a scoring change would do, then apply it.

After editing a scoring config (or switching preset), `--dry-run` scores every stored
lead with the new config, as of now, and lists the per-lead changes (score, tier, stage,
action, and the rules behind them) against the last score written to the CRM; nothing is
written. Without `--dry-run` the same leads are re-scored and only the changed values are
written back (no CRM reads).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from leadbridge.cli.wiring import build_connector
from leadbridge.core.errors import ConfigError
from leadbridge.scoring.rules import RulesScorer, format_diff, load_config, rescore_plan
from leadbridge.sync.config import LeadbridgeConfig
from leadbridge.sync.config import load_config as load_sync_config
from leadbridge.sync.engine import SyncEngine
from leadbridge.sync.state import StateStore, open_store

__all__ = ["register"]

console = Console()


def _connections(cfg: LeadbridgeConfig, name: str | None, config: Path) -> list[str]:
    names = [c.name for c in cfg.connection if name is None or c.name == name]
    if not names:
        raise ConfigError(
            f"no connection named {name!r}" if name else "no [[connection]]", file=str(config)
        )
    return names


def _plan(
    store: StateStore, connection: str, scorer: RulesScorer, as_of: datetime
) -> list[dict[str, object]]:
    current = store.latest_scores(connection)
    keys = sorted(set(store.dirty_keys(connection)) | set(current))  # every stored lead
    leads = store.load_leads(connection, keys)
    live = {
        k: r for k, r in leads.items() if not r.deleted and not r.lead.consent.objects_to_profiling
    }
    acts = store.load_activities(connection, list(live))
    rescored = scorer.score_many([(live[k].lead, acts[k]) for k in live], as_of=as_of)
    return [
        change.model_dump(mode="json") | {"line": format_diff(change)}
        for change in rescore_plan(current, rescored)
    ]


def rescore(
    config: Annotated[Path, typer.Option("--config", "-c", help="Path to leadbridge.toml.")] = Path(
        "leadbridge.toml"
    ),
    scoring: Annotated[
        str | None,
        typer.Option("--scoring", help="New scoring preset name or TOML (default: the config's)."),
    ] = None,
    connection: Annotated[str | None, typer.Option(help="Only this connection.")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the per-lead diff; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Re-score stored leads with a (new) scoring config; `--dry-run` shows the diff only."""
    cfg = load_sync_config(config)
    scorer = RulesScorer(load_config(scoring or cfg.scoring.source))
    as_of = datetime.now(UTC)
    store = open_store(cfg.state)
    try:
        for name in _connections(cfg, connection, config):
            if dry_run:
                plan = _plan(store, name, scorer, as_of)
                if as_json:
                    sys.stdout.write(
                        orjson.dumps({"connection": name, "changes": plan}).decode() + "\n"
                    )
                    continue
                console.print(
                    f"[bold]{name}[/bold]: {len(plan)} leads would change with {scorer.version}"
                )
                for change in plan:
                    console.print(f"  {change['line']}", highlight=False)
                continue
            conn = next(c for c in cfg.connection if c.name == name)
            connector = build_connector(cfg, conn, config_file=str(config), store=store)
            try:
                report = SyncEngine(connector, scorer, store, connection=name).run(pull=False)
            finally:
                connector.close()
            if as_json:
                sys.stdout.write(report.model_dump_json() + "\n")
            else:
                console.print(
                    f"[bold]{name}[/bold] rescore {report.status}: {report.leads_scored} scored, "
                    f"{report.leads_written} written, {report.leads_unchanged} unchanged"
                )
    finally:
        store.close()


def register(app: typer.Typer) -> None:
    """Add `rescore`."""
    app.command("rescore")(rescore)
