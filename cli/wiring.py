"""Where concrete pieces meet: config → connector, scorer, store, engine.

`sync/` only knows protocols; this module is the one place that picks the concrete
connector (by CRM name, from the registry) and the bundled scorer for a configuration.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from leadbridge.connectors import create_connector
from leadbridge.core.protocols import Connector, Scorer
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.config import ConnectionConfig, LeadbridgeConfig, ScoringChoice, resolve_env
from leadbridge.sync.engine import ProgressSink, SyncEngine, SyncReport, utcnow
from leadbridge.sync.state import StateStore, open_store

__all__ = ["build_connector", "build_scorer", "run_connection"]


def build_scorer(choice: ScoringChoice) -> Scorer:
    """The rules scorer for a preset name or a scoring TOML file."""
    return RulesScorer(load_config(choice.source))


def build_connector(conn: ConnectionConfig, *, config_file: str) -> Connector:
    """The connector a `[[connection]]` entry describes, secrets taken from the environment."""
    settings: dict[str, Any] = resolve_env(conn.settings, file=config_file, prefix=f"connection.{conn.name}.settings")
    return create_connector(conn.crm, settings)


def run_connection(
    config: LeadbridgeConfig,
    conn: ConnectionConfig,
    *,
    config_file: str,
    full: bool = False,
    stop: threading.Event | None = None,
    progress: ProgressSink | None = None,
    store: StateStore | None = None,
    as_of: datetime | None = None,
) -> SyncReport:
    """One sync run of one connection (scored as of `as_of`, default now)."""
    own_store = store is None
    state = store or open_store(config.state)
    connector = build_connector(conn, config_file=config_file)
    try:
        engine = SyncEngine(
            connector,
            build_scorer(config.scoring),
            state,
            connection=conn.name,
            progress=progress,
            stop=stop,
            clock=(lambda: as_of) if as_of is not None else utcnow,
        )
        return engine.run(full=full)
    finally:
        connector.close()
        if own_store:
            state.close()
