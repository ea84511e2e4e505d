"""Where a pair of concrete CRMs meets `sync`: config -> record stores, mapping, state.

``leadbridge bisync`` and ``leadbridge migrate`` both open two connectors by CRM name,
take each one's record store (``connector.records()``), load the mapping for the pair
and open the state database; the connectors stay here, `sync` only sees protocols.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import typer
from rich.console import Console

from leadbridge.connectors import create_connector
from leadbridge.core.errors import ConfigError, LeadbridgeError
from leadbridge.core.redaction import install_log_redaction, redact
from leadbridge.mappings.fields import PairMapping, load_mapping
from leadbridge.sync.pairconfig import PairConfig, load_pair_config
from leadbridge.sync.records import ActivitySource, RecordStore

__all__ = ["OpenPair", "open_pair", "run_standalone"]


@dataclass
class OpenPair:
    """Two opened CRMs and what relates them; `close()` releases the connections."""

    config: PairConfig
    mapping: PairMapping
    a: RecordStore
    b: RecordStore
    connectors: tuple[Any, Any]
    activities: ActivitySource | None
    objects_b: Callable[[str], RecordStore] | None

    def close(self) -> None:
        for connector in self.connectors:
            connector.close()


def _records(connector: Any, crm: str) -> RecordStore:
    factory = getattr(connector, "records", None)
    if factory is None:
        raise ConfigError(
            f"connector {crm!r} has no record-level access (two-way sync and "
            "migration support hubspot and salesforce)",
            key="crm",
        )
    return cast(RecordStore, factory())


def open_pair(config_file: str | Path, a: str, b: str) -> OpenPair:
    """Open side `a` and side `b` (CRM names) from a pair config file."""
    config = load_pair_config(config_file)
    mapping = load_mapping(config.mapping_for(a, b))
    if (mapping.a.crm, mapping.b.crm) != (a, b):
        if (mapping.b.crm, mapping.a.crm) != (a, b):
            raise ConfigError(
                f"mapping {mapping.name!r} relates {mapping.a.crm} and "
                f"{mapping.b.crm}, not {a} and {b}",
                file=config.file,
                key="mapping",
            )
        mapping = mapping.flipped()
    conn_a = create_connector(a, config.settings(a), file=config.file)
    conn_b = create_connector(b, config.settings(b), file=config.file)
    store_a, store_b = _records(conn_a, a), _records(conn_b, b)
    activities = cast(ActivitySource, store_a) if hasattr(store_a, "scan_activities") else None
    objects: Callable[[str], RecordStore] | None = None
    factory = getattr(conn_b, "records", None)
    if factory is not None and b == "salesforce":
        objects = lambda name: cast(RecordStore, factory(name))  # noqa: E731
    return OpenPair(config, mapping, store_a, store_b, (conn_a, conn_b), activities, objects)


def run_standalone(sub_app: typer.Typer, name: str) -> None:
    """Run one command group alone (``python -m leadbridge.cli.migrate``).

    It spares a child process the whole CLI's imports; user mistakes still print one line.
    """
    install_log_redaction()
    app = typer.Typer(no_args_is_help=True)
    app.add_typer(sub_app, name=name)
    try:
        app(args=[name, *sys.argv[1:]])
    except LeadbridgeError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {redact(str(exc))}", highlight=False)
        sys.exit(2)
