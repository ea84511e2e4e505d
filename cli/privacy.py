"""``leadbridge privacy ...``: the rights of the person and the records, from the shell.

    leadbridge privacy export  --email ana@example.ch [--format csv] [--out file]
    leadbridge privacy erase   --email ana@example.ch [--keep-in-recycle-bin]
    leadbridge privacy object  --lead-key hubspot:42 [--withdraw]
    leadbridge privacy request erasure-…
    leadbridge privacy ropa    [--format md|json]
    leadbridge privacy retention

Each request is recorded (and audited) like its API twin. An export without ``--out`` is
kept under ``[privacy].data_dir`` so a later erasure or retention run can delete it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from leadbridge.core.errors import ConfigError

if TYPE_CHECKING:
    from leadbridge.privacy.identity import SubjectQuery
    from leadbridge.privacy.service import PrivacyService

__all__ = ["register"]

privacy_app = typer.Typer(help="Subject exports, erasure, objection, record of processing.")

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="Path to leadbridge.toml.")]
EmailOpt = Annotated[str | None, typer.Option("--email", help="The person's e-mail.")]
PhoneOpt = Annotated[str | None, typer.Option("--phone", help="The person's phone number.")]
KeyOpt = Annotated[
    list[str] | None, typer.Option("--lead-key", help="A lead key (repeatable), e.g. hubspot:42.")
]
ActorOpt = Annotated[
    str, typer.Option("--actor", help="Who makes the request (recorded in the audit log).")
]
DEFAULT_CONFIG = Path("leadbridge.toml")


def _query(email: str | None, phone: str | None, keys: list[str] | None) -> SubjectQuery:
    from pydantic import ValidationError

    from leadbridge.privacy.identity import SubjectQuery

    try:
        return SubjectQuery(email=email, phone=phone, lead_keys=tuple(keys or ()))
    except ValidationError:
        raise ConfigError("name the person with --email, --phone or --lead-key") from None


def _service(config: Path) -> PrivacyService:
    from leadbridge.privacy.config import load_settings
    from leadbridge.privacy.service import PrivacyService

    return PrivacyService.open(load_settings(config))


@privacy_app.command("export")
def export_cmd(
    config: ConfigOpt = DEFAULT_CONFIG,
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    lead_key: KeyOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv (formula-safe).")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="Write here (0600).")] = None,
    actor: ActorOpt = "cli",
) -> None:
    """Everything held about a person, with the logic of their score (GDPR Art. 15, 20)."""
    if fmt not in ("json", "csv"):
        raise ConfigError("--format must be json or csv")
    chosen: Literal["json", "csv"] = "json" if fmt == "json" else "csv"
    query = _query(email, phone, lead_key)
    service = _service(config)
    try:
        result = service.export(query, actor=actor, fmt=chosen, save=True, out=out)
    finally:
        service.close()
    if result.records == 0:
        typer.echo("no data is held about this person", err=True)
        raise typer.Exit(1)
    typer.echo(f"{result.records} records exported to {result.path} (request {result.request_id})")


@privacy_app.command("erase")
def erase_cmd(
    config: ConfigOpt = DEFAULT_CONFIG,
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    lead_key: KeyOpt = None,
    keep_in_bin: Annotated[
        bool,
        typer.Option(
            "--keep-in-recycle-bin", help="Salesforce: soft delete (restorable for 15 days)."
        ),
    ] = False,
    actor: ActorOpt = "cli",
) -> None:
    """Erase a person in every connected CRM and locally; prints the certificate (JSON)."""
    query = _query(email, phone, lead_key)
    service = _service(config)
    try:
        certificate = service.erase(query, actor=actor, permanent=False if keep_in_bin else None)
    finally:
        service.close()
    sys.stdout.write(certificate.model_dump_json(indent=2) + "\n")
    if certificate.status == "partial":
        raise typer.Exit(1)


@privacy_app.command("object")
def object_cmd(
    config: ConfigOpt = DEFAULT_CONFIG,
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    lead_key: KeyOpt = None,
    withdraw: Annotated[bool, typer.Option(help="Lift an earlier objection.")] = False,
    actor: ActorOpt = "cli",
) -> None:
    """Record an objection to profiling: the next sync clears the person's score."""
    query = _query(email, phone, lead_key)
    service = _service(config)
    try:
        result = service.object(query, actor=actor, withdraw=withdraw)
    finally:
        service.close()
    sys.stdout.write(result.model_dump_json(indent=2) + "\n")


@privacy_app.command("request")
def request_cmd(
    request_id: Annotated[str, typer.Argument(help="The request id.")],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Show a privacy request's status and result."""
    service = _service(config)
    try:
        found = service.request(request_id)
    finally:
        service.close()
    if found is None:
        raise ConfigError(f"no privacy request {request_id!r}")
    sys.stdout.write(json.dumps(found.to_json(), indent=2) + "\n")


@privacy_app.command("ropa")
def ropa_cmd(
    config: ConfigOpt = DEFAULT_CONFIG,
    fmt: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
) -> None:
    """The record of processing activities (GDPR Art. 30, nFADP Art. 12), from the config."""
    from leadbridge.privacy.config import load_settings
    from leadbridge.privacy.ropa import build_record, render_markdown

    if fmt not in ("md", "json"):
        raise ConfigError("--format must be md or json")
    record = build_record(load_settings(config))
    if fmt == "json":
        sys.stdout.write(record.model_dump_json(indent=2) + "\n")
    else:
        sys.stdout.write(render_markdown(record))


@privacy_app.command("retention")
def retention_cmd(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Delete state rows, dead letters, exports and caches older than their retention."""
    from leadbridge.privacy.config import load_settings
    from leadbridge.privacy.registry import PrivacyRegistry
    from leadbridge.privacy.retention import enforce_retention
    from leadbridge.sync.state import open_store

    settings = load_settings(config)
    store = open_store(settings.base.state)
    try:
        report = enforce_retention(
            store, settings.privacy.retention, registry=PrivacyRegistry(store.engine)
        )
    finally:
        store.close()
    sys.stdout.write(report.model_dump_json(indent=2) + "\n")


def register(app: typer.Typer) -> None:
    """Add the ``privacy`` command group."""
    app.add_typer(privacy_app, name="privacy")
