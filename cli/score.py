"""`leadbridge score` and `leadbridge explain`: offline points scoring from files.

Usable without any CRM: events (and optionally leads) as JSON lines in, one line or one
JSON object per lead out. Errors are `LeadbridgeError`s, which the app's entry point
prints as one line with exit code 2.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import orjson
import typer

from leadbridge.core.errors import ConfigError, ScoringError
from leadbridge.scoring.rules import (
    PRESETS,
    RulesScorer,
    explain,
    load_config,
    parse_as_of,
    result_record,
    score_file,
)
from leadbridge.sync.config import load_config as load_sync_config
from leadbridge.sync.state import open_store

__all__ = ["register"]

PresetOption = Annotated[
    str | None, typer.Option("--preset", help=f"A shipped preset: {', '.join(PRESETS)}.")
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="A scoring config TOML file.", dir_okay=False)
]
EventsOption = Annotated[
    Path, typer.Option("--events", help="Activities, one JSON object per line.", dir_okay=False)
]
LeadsOption = Annotated[
    Path | None,
    typer.Option("--leads", help="Lead profiles, one JSON object per line.", dir_okay=False),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Score as of this ISO 8601 instant (naive = UTC; default now)."),
]


def _scorer(preset: str | None, config: Path | None) -> RulesScorer:
    if (preset is None) == (config is None):
        raise ConfigError("give exactly one of --preset or --config", key="--preset/--config")
    source: str | Path = preset if preset is not None else config  # type: ignore[assignment]
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"unknown preset (known: {', '.join(PRESETS)})", key=f"--preset {preset}")
    return RulesScorer(load_config(source))


def _as_of(text: str | None) -> datetime:
    return parse_as_of(text) if text else datetime.now(UTC)


def score(
    events: EventsOption,
    preset: PresetOption = None,
    config: ConfigOption = None,
    leads: LeadsOption = None,
    as_of: AsOfOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per lead (JSON lines).")
    ] = False,
) -> None:
    """Score every lead in the files with a points preset or config, without a CRM."""
    scorer = _scorer(preset, config)
    results = score_file(scorer, events, leads_path=leads, as_of=_as_of(as_of))
    for result in results:
        if as_json:
            typer.echo(orjson.dumps(result_record(result)).decode())
        else:
            typer.echo(
                f"{result.lead_key}\t{result.score}\t{result.tier}\t{result.stage}\t"
                f"{result.action}\t{result.summary}"
            )


def explain_lead(
    lead: Annotated[str, typer.Argument(help="The lead key (or lead_id) to explain.")],
    events: Annotated[
        Path | None,
        typer.Option(
            "--events",
            help="Score offline from these activities (else: the stored score).",
            dir_okay=False,
        ),
    ] = None,
    preset: PresetOption = None,
    config: ConfigOption = None,
    leads: LeadsOption = None,
    as_of: AsOfOption = None,
    settings: Annotated[
        Path,
        typer.Option("--settings", help="leadbridge.toml, for the score last written to the CRM."),
    ] = Path("leadbridge.toml"),
    connection: Annotated[str | None, typer.Option(help="The connection holding the lead.")] = None,
) -> None:
    """Print why a lead has its score: every rule, its points and decay, the config version.

    With `--events` the lead is scored offline from files; otherwise the explanation of
    the score last written to the CRM is read from the state store of `--settings`.
    """
    if events is None:
        typer.echo(explain_stored(lead, settings, connection))
        return
    scorer = _scorer(preset, config)
    (result,) = score_file(scorer, events, leads_path=leads, as_of=_as_of(as_of), only=lead)
    typer.echo(explain(result))


def explain_stored(lead: str, settings: Path, connection: str | None) -> str:
    """The explanation of a lead's latest stored score, with its history length."""
    cfg = load_sync_config(settings)
    names = [c.name for c in cfg.connection if connection is None or c.name == connection]
    store = open_store(cfg.state)
    try:
        for name in names:
            history = store.score_history(name, lead)
            if history:
                count = f"({len(history)} scores in this lead's history on {name})"
                return f"{explain(history[-1])}\n{count}"
    finally:
        store.close()
    raise ScoringError(f"{settings}: no stored score for lead {lead!r}")


def register(app: typer.Typer) -> None:
    """Add `score` and `explain` to the main app."""
    app.command("score")(score)
    app.command("explain")(explain_lead)
