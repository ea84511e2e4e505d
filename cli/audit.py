"""``leadbridge audit ...``: verify the chain, sign and export checkpoints, show entries.

`verify` needs no secret at all (only the pinned public key) and never writes to
the database, so an auditor can run it on a copy. It exits 0 when everything checks, 1 when
tampering is found (each problem printed with where it is), 2 on a usage error. `show`
is itself recorded in the log as an ``audit_read`` entry.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from leadbridge.audit.keys import AuditKeys, VerifierKey
from leadbridge.audit.log import AuditLog
from leadbridge.audit.verifier import VerifyReport, verify
from leadbridge.core.errors import LeadbridgeError

__all__ = ["register"]

T = TypeVar("T")

DbOpt = Annotated[
    str,
    typer.Option(
        "--db", envvar="LEADBRIDGE_AUDIT_DB", help="Audit database: SQLAlchemy URL or SQLite path."
    ),
]
KeyDirOpt = Annotated[
    Path,
    typer.Option(
        "--key-dir",
        envvar="LEADBRIDGE_AUDIT_KEY_DIR",
        help="Folder of the audit master and signing keys (0600 files).",
    ),
]
CheckpointsOpt = Annotated[
    Path | None,
    typer.Option(
        "--checkpoints",
        envvar="LEADBRIDGE_AUDIT_CHECKPOINTS",
        help="The second location: folder of exported signed checkpoints.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
DEFAULT_KEY_DIR = Path(".leadbridge/keys")


def _guard(action: Callable[[], T]) -> T:
    try:
        return action()
    except LeadbridgeError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None


def _print_report(report: VerifyReport) -> None:
    verdict = "OK" if report.ok else "TAMPERING DETECTED"
    typer.echo(
        f"{verdict}: {report.entries} entries, head {report.head_seq} "
        f"({report.head_hash[:16]}…), {report.checkpoints_checked} stored and "
        f"{report.external_checkpoints_checked} exported checkpoints, anchored up to "
        f"{report.anchored_size}, {report.seconds:.2f} s"
    )
    for problem in report.problems:
        where = "" if problem.seq is None else f" at entry {problem.seq}"
        if problem.last_seq is not None and problem.last_seq != problem.seq:
            where += f"..{problem.last_seq}"
        if problem.row is not None:
            where += f" (row {problem.row})"
        typer.echo(f"  {problem.kind}{where}: {problem.message}")
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)


def verify_cmd(
    db: DbOpt,
    checkpoints: CheckpointsOpt = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key", help="Pinned verifier key file (default: the one in --checkpoints)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute the chain and check it against stored and exported signed checkpoints."""

    def run() -> VerifyReport:
        log = AuditLog.open(db, None, create=False)
        try:
            return verify(
                log,
                public_key=VerifierKey.from_file(public_key) if public_key else None,
                external_checkpoints_dir=checkpoints,
            )
        finally:
            log.engine.dispose()

    report = _guard(run)
    if as_json:
        sys.stdout.write(report.model_dump_json(indent=2) + "\n")
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(code=1)


def checkpoint_cmd(
    db: DbOpt,
    key_dir: KeyDirOpt = DEFAULT_KEY_DIR,
    checkpoints: CheckpointsOpt = None,
) -> None:
    """Sign the current head now and export it (and any checkpoint not exported yet)."""

    def run() -> str:
        keys = AuditKeys.from_dir(key_dir, create=False)
        log = AuditLog.open(db, keys, export_dir=checkpoints, create=False)
        try:
            checkpoint = log.checkpoint()
        finally:
            log.engine.dispose()
        if checkpoint is None:
            return "the audit log is empty: nothing to sign"
        return f"signed checkpoint at size {checkpoint.size} ({checkpoint.root.hex()[:16]}…)"

    typer.echo(_guard(run))


def export_checkpoints_cmd(
    db: DbOpt,
    to: Annotated[Path, typer.Option("--to", help="Folder to copy the signed checkpoints to.")],
    public_key: Annotated[
        Path | None,
        typer.Option("--public-key", help="Verifier key to pin next to them, if not yet there."),
    ] = None,
) -> None:
    """Copy every stored checkpoint missing from a second location (idempotent)."""

    def run() -> int:
        from leadbridge.audit.checkpoint import CheckpointExport

        log = AuditLog.open(db, None, create=False)
        try:
            if public_key is not None:
                CheckpointExport(to).pin(VerifierKey.from_file(public_key))
            return log.export_checkpoints(to)
        finally:
            log.engine.dispose()

    written = _guard(run)
    typer.echo(f"{written} checkpoint(s) exported to {to}")


def show_cmd(
    db: DbOpt,
    key_dir: KeyDirOpt = DEFAULT_KEY_DIR,
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="Only this person (natural id, e.g. a lead key)."),
    ] = None,
    kind: Annotated[list[str] | None, typer.Option("--kind", help="Only these kinds.")] = None,
    after: Annotated[int, typer.Option("--after", help="Entries after this seq.")] = 0,
    limit: Annotated[int, typer.Option("--limit", help="At most this many entries.")] = 50,
    decrypt: Annotated[
        bool, typer.Option("--decrypt", help="Decrypt personal values (needs the master key).")
    ] = False,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Who is reading (recorded); default: $USER.")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    as_json: JsonOpt = False,
) -> None:
    """List entries; the read is itself recorded in the audit log."""
    reader = actor or getpass.getuser()

    def run() -> list[dict[str, object]]:
        needs_keys = decrypt or subject is not None
        keys = AuditKeys.from_dir(key_dir, create=False, signing=False) if needs_keys else None
        log = AuditLog.open(db, keys, create=False)
        try:
            entries = log.read(
                actor=reader,
                subject=subject,
                kinds=kind or None,
                after_seq=after,
                limit=limit,
                decrypt=decrypt,
                reason=reason,
            )
        finally:
            log.engine.dispose()
        return [entry.model_dump(mode="json") for entry in entries]

    rows = _guard(run)
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False) + "\n")
        return
    for row in rows:
        personal = "" if row["personal"] is None else f" personal={json.dumps(row['personal'])}"
        typer.echo(
            f"{row['seq']:>8} {row['at']} {row['kind']:<15} actor={row['actor']} "
            f"subject={row['subject'] or '-'} details={json.dumps(row['details'])} "
            f"[{row['personal_state']}]{personal}"
        )


def register(app: typer.Typer) -> None:
    """Add the ``audit`` sub-app to the main CLI."""
    audit_app = typer.Typer(help="The tamper-evident audit log: verify, checkpoint, export, show.")
    audit_app.command("verify")(verify_cmd)
    audit_app.command("checkpoint")(checkpoint_cmd)
    audit_app.command("export-checkpoints")(export_checkpoints_cmd)
    audit_app.command("show")(show_cmd)
    app.add_typer(audit_app, name="audit")
