"""``leadbridge bisync run|conflicts|resolve --a A --b B --config FILE``.

``run`` performs sync cycles between two CRMs (``--cycles``, ``--every`` seconds apart)
and prints what each cycle read, wrote and found; ``conflicts`` lists the conflict log;
``resolve`` queues a person's choice for one conflict (side a's value, side b's, or a
value typed in), which the next cycle writes to both sides.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadbridge.cli.pairs import open_pair, run_standalone
from leadbridge.core.errors import ConfigError
from leadbridge.sync.bidirectional import BidirectionalSync, CycleReport
from leadbridge.sync.pairconfig import load_pair_config
from leadbridge.sync.pairstate import PairState

__all__ = ["bisync_app", "register"]

bisync_app = typer.Typer(help="Two-way sync between two CRMs.", no_args_is_help=True)
console = Console(highlight=False)

AOpt = Annotated[str, typer.Option("--a", help="Side a CRM (hubspot, salesforce).")]
BOpt = Annotated[str, typer.Option("--b", help="Side b CRM.")]
ConfigOpt = Annotated[Path, typer.Option("--config", help="The pair config (TOML).")]


def _summary(n: int, report: CycleReport) -> str:
    return (
        f"cycle {n}: pulled a={report.pulled['a']} b={report.pulled['b']}; "
        f"updated a={report.updated['a']} b={report.updated['b']}; "
        f"created a={report.created['a']} b={report.created['b']}; "
        f"deleted a={report.deleted['a']} b={report.deleted['b']}; "
        f"merged a={report.merged['a']} b={report.merged['b']}; "
        f"conflicts {report.conflicts}; overrides {report.overrides}; "
        f"failed {len(report.failed)}; invalid values {report.invalid}"
    )


@bisync_app.command("run")
def run_command(
    a: AOpt,
    b: BOpt,
    config: ConfigOpt,
    cycles: Annotated[int, typer.Option(min=1, help="Cycles to run.")] = 1,
    every: Annotated[float, typer.Option(min=0.0, help="Seconds between.")] = 0.0,
    json_out: Annotated[Path | None, typer.Option("--json")] = None,
) -> None:
    """Run sync cycles; a killed run resumes safely on the next start."""
    pair = open_pair(config, a, b)
    state = PairState.open(pair.config.state, f"{a}<->{b}")
    reports = []
    try:
        sync = BidirectionalSync(
            pair.a,
            pair.b,
            pair.mapping,
            state,
            owners=pair.config.owners,
            overlap_s=pair.config.overlap_s,
        )
        for n in range(1, cycles + 1):
            report = sync.cycle()
            reports.append(
                {
                    "writes": report.writes,
                    "conflicts": report.conflicts,
                    "pulled": report.pulled,
                    "updated": report.updated,
                    "created": report.created,
                    "deleted": report.deleted,
                    "merged": report.merged,
                    "calls": report.calls,
                }
            )
            console.print(_summary(n, report))
            if n < cycles and every:
                time.sleep(every)
    finally:
        pair.close()
        state.close()
    if json_out is not None:
        json_out.write_text(json.dumps(reports, indent=2), encoding="utf-8")


def _state(config: Path, a: str, b: str) -> PairState:
    cfg = load_pair_config(config)
    return PairState.open(cfg.state, f"{a}<->{b}")


@bisync_app.command("conflicts")
def conflicts_command(
    a: AOpt,
    b: BOpt,
    config: ConfigOpt,
    status: Annotated[str | None, typer.Option(help="auto, open, override, resolved")] = None,
    limit: int = 50,
) -> None:
    """The conflict log (values included: this is where a person decides)."""
    state = _state(config, a, b)
    try:
        rows = state.conflicts(status, limit=limit)
    finally:
        state.close()
    table = Table(title=f"conflicts {a} <-> {b}")
    for column in (
        "id",
        "field",
        f"{a} id",
        f"{b} id",
        f"{a} value",
        f"{b} value",
        "policy",
        "winner",
        "status",
    ):
        table.add_column(column)
    for c in rows:
        table.add_row(
            str(c.id),
            c.field,
            c.a_id,
            c.b_id,
            repr(c.a_value)[:40],
            repr(c.b_value)[:40],
            c.policy,
            c.winner,
            c.status,
        )
    console.print(table)


@bisync_app.command("resolve")
def resolve_command(
    conflict_id: int,
    a: AOpt,
    b: BOpt,
    config: ConfigOpt,
    take: Annotated[
        str | None, typer.Option(help="'a' or 'b': keep that side's logged value")
    ] = None,
    value: Annotated[str | None, typer.Option(help="A value to write to both sides")] = None,
) -> None:
    """Queue a manual override for one conflict; the next cycle applies it."""
    if (take is None) == (value is None) or take not in (None, "a", "b"):
        raise ConfigError("give exactly one of --take a|b or --value TEXT", key="resolve")
    state = _state(config, a, b)
    try:
        found = [c for c in state.conflicts(limit=1_000_000) if c.id == conflict_id]
        if not found:
            raise ConfigError(f"no conflict #{conflict_id}", key="conflict_id")
        chosen = (
            value if value is not None else (found[0].a_value if take == "a" else found[0].b_value)
        )
        state.override(conflict_id, chosen)
    finally:
        state.close()
    console.print(f"conflict #{conflict_id}: {chosen!r} will be written to both sides next cycle")


def register(app: typer.Typer) -> None:
    """Add ``leadbridge bisync`` to the main app."""
    app.add_typer(bisync_app, name="bisync")


def main() -> None:
    """Run the bisync commands alone (``python -m leadbridge.cli.bisync``)."""
    run_standalone(bisync_app, "bisync")


if __name__ == "__main__":
    main()
