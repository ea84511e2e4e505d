"""``leadbridge migrate plan|apply|verify --from A --to B --config FILE``.

``plan`` prints a per-record diff and the API calls ``apply`` will spend on each side;
``apply`` moves the records (``--sample`` first moves about 10 %, as Trujay does) and can
be interrupted or killed at any point and run again; ``verify`` compares counts and
per-field checksums read live from both CRMs and exits 1 when anything differs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadbridge.cli.pairs import OpenPair, open_pair, run_standalone
from leadbridge.sync.migration import Migration, require_plan
from leadbridge.sync.migrationstate import MigrationState
from leadbridge.sync.verification import verify

__all__ = ["migrate_app", "register"]

migrate_app = typer.Typer(
    help="Move records from one CRM to another: plan, apply, verify.", no_args_is_help=True
)
console = Console(highlight=False)

FromOpt = Annotated[str, typer.Option("--from", help="Source CRM (hubspot, salesforce).")]
ToOpt = Annotated[str, typer.Option("--to", help="Target CRM.")]
ConfigOpt = Annotated[Path, typer.Option("--config", help="The pair config (TOML).")]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="Also write the full report here.")]


def _open(config: Path, source: str, target: str) -> tuple[OpenPair, MigrationState, Migration]:
    pair = open_pair(config, source, target)
    state = MigrationState.open(pair.config.state, f"{source}->{target}")
    migration = Migration(
        pair.a,
        pair.b,
        pair.mapping,
        state,
        target_object=pair.objects_b,
        activities=pair.activities,
        owners=pair.config.owners,
        sample_fraction=pair.config.sample_fraction,
    )
    return pair, state, migration


def _calls_table(title: str, calls: dict[str, dict[str, int]]) -> Table:
    table = Table(title=title)
    for column in ("side", "read", "write", "setup", "total"):
        table.add_column(column, justify="right" if column != "side" else "left")
    for side, counts in calls.items():
        values = [counts.get(k, 0) for k in ("read", "write", "setup")]
        table.add_row(side, *(str(v) for v in values), str(sum(values)))
    return table


@migrate_app.command("plan")
def plan_command(
    source: FromOpt, target: ToOpt, config: ConfigOpt, details: int = 20, json_out: JsonOpt = None
) -> None:
    """Read both CRMs and stage the migration; print the diff and the call estimate."""
    pair, state, migration = _open(config, source, target)
    try:
        plan = migration.plan()
    finally:
        pair.close()
        state.close()
    for kind, counts in plan.counts.items():
        console.print(f"{kind}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for obj, names in plan.to_create.items():
        console.print(f"fields to create on {target} {obj}: {', '.join(names)}")
    for diff in plan.diffs[:details]:
        changes = ", ".join(
            f"{k}: {v[0]!r} -> {v[1]!r}" for k, v in diff.changes.items() if k != "_invalid"
        )
        console.print(f"  {diff.action:6} {source}:{diff.source_id} {changes}"[:300])
    console.print(_calls_table("API calls apply will spend (estimate)", plan.estimate))
    console.print(_calls_table("... of which a --sample apply", plan.sample_estimate))
    console.print(_calls_table("API calls this plan spent", plan.spent))
    if json_out is not None:
        body = {**plan.to_json(), "diffs": [d.__dict__ for d in plan.diffs]}
        json_out.write_text(json.dumps(body, indent=2, default=str), encoding="utf-8")


@migrate_app.command("apply")
def apply_command(
    source: FromOpt,
    target: ToOpt,
    config: ConfigOpt,
    sample: Annotated[bool, typer.Option(help="Only the ~10 % sample.")] = False,
    json_out: JsonOpt = None,
) -> None:
    """Write the staged plan (resumes where a previous run stopped)."""
    pair, state, migration = _open(config, source, target)
    try:
        report = migration.apply(sample_only=sample)
        counts = state.counts()
    finally:
        pair.close()
        state.close()
    for kind, n in report.written.items():
        console.print(f"{kind}: {n} written, {report.failed.get(kind, 0)} failed")
    for kind, bucket in counts.items():
        console.print(f"{kind}: " + ", ".join(f"{k} {v}" for k, v in sorted(bucket.items())))
    console.print(_calls_table("API calls spent", report.spent))
    console.print("complete" if report.complete else "not complete: run apply again")
    if json_out is not None:
        json_out.write_text(
            json.dumps(
                {
                    "written": report.written,
                    "failed": report.failed,
                    "spent": report.spent,
                    "complete": report.complete,
                }
            ),
            encoding="utf-8",
        )


@migrate_app.command("verify")
def verify_command(
    source: FromOpt, target: ToOpt, config: ConfigOpt, json_out: JsonOpt = None
) -> None:
    """Counts and per-field checksums on both sides; exit 1 if anything differs."""
    pair, state, _ = _open(config, source, target)
    try:
        require_plan(state)
        objects = (
            {r.object: pair.objects_b(r.object) for r in pair.mapping.activity}
            if pair.objects_b is not None
            else {}
        )
        report = verify(
            pair.a,
            pair.b,
            pair.mapping,
            owners=pair.config.owners,
            id_map=state.id_map("record"),
            activities=pair.activities,
            objects=objects,
        )
    finally:
        pair.close()
        state.close()
    table = Table(title=f"verify {source} -> {target}")
    for column in ("check", "source", "target", "equal"):
        table.add_column(column)
    for name, counts in report.counts.items():
        table.add_row(
            f"count {name}",
            str(counts["source"]),
            str(counts["target"]),
            "yes" if counts["source"] == counts["target"] else "NO",
        )
    for name, dupes in report.duplicates.items():
        table.add_row(f"duplicates {name}", "", str(dupes), "yes" if dupes == 0 else "NO")
    for check in report.fields:
        table.add_row(
            f"checksum {check.field}",
            check.source[:12],
            check.target[:12],
            "yes" if check.equal else f"NO ({check.mismatched})",
        )
    console.print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(report.to_json(), indent=2), encoding="utf-8")
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``leadbridge migrate`` to the main app."""
    app.add_typer(migrate_app, name="migrate")


def main() -> None:
    """Run the migrate commands alone (``python -m leadbridge.cli.migrate``)."""
    run_standalone(migrate_app, "migrate")


if __name__ == "__main__":
    main()
