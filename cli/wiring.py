"""Where concrete pieces meet: config → connector, scorer, store, engine.

`sync/` only knows protocols; this module is the one place that picks the concrete
connector (by CRM name, from the registry) and the bundled scorer for a configuration.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from leadbridge.audit.log import AuditLog, open_audit_log
from leadbridge.cli.auth import open_token_store, token_store_path
from leadbridge.cli.learning import connection_scorer
from leadbridge.connectors import create_connector
from leadbridge.connectors.hubspot import HubSpotConnector
from leadbridge.connectors.hubspot.lookup import read_contacts
from leadbridge.connectors.rest.connector import RestConnector
from leadbridge.connectors.rest.messages import InboundMessage
from leadbridge.core.errors import ConfigError
from leadbridge.core.protocols import Connector, Scorer, SupportsWriteBack
from leadbridge.privacy.config import load_settings
from leadbridge.privacy.identity import Fingerprinter, load_privacy_key
from leadbridge.privacy.registry import PrivacyRegistry
from leadbridge.privacy.suppression import PrivacyFilter
from leadbridge.scoring.extraction import extract
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.config import ConnectionConfig, LeadbridgeConfig, ScoringChoice, resolve_env
from leadbridge.sync.engine import ProgressSink, SyncEngine, SyncReport, utcnow
from leadbridge.sync.state import StateStore, open_store
from leadbridge.sync.webhooks.events import InboundEvent
from leadbridge.sync.webhooks.refresh import LeadRefresher, MessageAction

__all__ = [
    "boma_message_action",
    "build_connector",
    "build_scorer",
    "open_webhook_handler",
    "run_connection",
]


def build_scorer(choice: ScoringChoice) -> Scorer:
    """The rules scorer for a preset name or a scoring TOML file."""
    return RulesScorer(load_config(choice.source))


def build_connector(
    config: LeadbridgeConfig, conn: ConnectionConfig, *, config_file: str, store: StateStore
) -> Connector:
    """The connector a `[[connection]]` entry describes, secrets taken from the environment.

    OAuth connections get their encrypted token store (filled by `leadbridge auth login`);
    connectors that find deletes by diffing ids (Salesforce past its 15-day horizon,
    ActiveCampaign) get the ids the state store knows.
    """
    settings: dict[str, Any] = resolve_env(
        conn.settings, file=config_file, prefix=f"connection.{conn.name}.settings"
    )
    runtime: dict[str, Any] = {"known_ids": lambda: store.source_ids(conn.name)}
    auth = settings.get("auth")
    if isinstance(auth, dict) and auth.get("kind") == "oauth":
        path = token_store_path(config, config_file=config_file)
        runtime["persister"] = open_token_store(path, conn.name)
    return create_connector(conn.crm, settings, file=config_file, **runtime)


def _guards(
    config_file: str, store: StateStore, connector: Connector
) -> tuple[AuditLog, PrivacyFilter]:
    """What every run that writes needs: the audit log, and the suppression/objection filter."""
    settings = load_settings(config_file)
    audit = open_audit_log(
        settings.audit.db,
        key_dir=Path(settings.audit.key_dir),
        export_dir=Path(settings.audit.checkpoints) if settings.audit.checkpoints else None,
    )
    try:
        fingerprints = Fingerprinter(
            load_privacy_key(Path(settings.privacy.key_dir)), region=settings.privacy.default_region
        )
    except BaseException:
        audit.close()
        raise
    privacy = PrivacyFilter(PrivacyRegistry(store.engine), fingerprints, system=connector.name)
    return audit, privacy


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
    observe: Callable[[Connector], None] | None = None,
) -> SyncReport:
    """One sync run of one connection (scored as of `as_of`, default now)."""
    own_store = store is None
    state = store or open_store(config.state)
    connector = build_connector(config, conn, config_file=config_file, store=state)
    audit, privacy = _guards(config_file, state, connector)
    try:
        engine = SyncEngine(
            connector,
            connection_scorer(config, conn, state, build_scorer(config.scoring)),
            state,
            connection=conn.name,
            progress=progress,
            stop=stop,
            clock=(lambda: as_of) if as_of is not None else utcnow,
            audit=audit,
            page_filter=privacy,
        )
        return engine.run(full=full)
    finally:
        if observe is not None:
            observe(connector)  # the daemon's metrics read the API budget left
        connector.close()
        audit.close()
        if own_store:
            state.close()


def boma_message_action(connector: RestConnector) -> MessageAction:
    """Seed 001: a lead's message → entity extraction → the analysed message on BOMA."""

    def act(event: InboundEvent) -> None:
        text = str(event.detail["message_body"])
        raw_at = event.detail.get("received_at")
        sent_at = datetime.fromisoformat(raw_at) if isinstance(raw_at, str) else None
        fields = extract(text, sent_at=sent_at).to_crm_fields(
            lead_source=str(event.detail["lead_source"])
        )
        connector.send_message(
            InboundMessage(
                source=fields["lead_source"],
                body=text,
                extracted=fields["extracted_data"],
                score=fields["ai_score"],
                routing=fields["routing_action"],
                lead_id=event.object_ids[0] if event.object_ids else None,
            )
        )

    return act


def open_webhook_handler(
    config: LeadbridgeConfig, conn: ConnectionConfig, *, config_file: str, store: StateStore
) -> LeadRefresher:
    """What the daemon runs for a connection's webhook events: refresh and score those leads.

    The same guards as a scheduled run: erased people stay out, objecting people stay
    unscored, and every write lands in the audit log.
    """
    connector = build_connector(config, conn, config_file=config_file, store=store)
    if not isinstance(connector, SupportsWriteBack):
        raise ConfigError(
            f"connector {conn.crm!r} cannot write back", key=f"connection.{conn.name}.crm"
        )
    lookup = partial(read_contacts, connector) if isinstance(connector, HubSpotConnector) else None
    messages = (
        boma_message_action(connector)
        if isinstance(connector, RestConnector) and connector.profile.messages is not None
        else None
    )
    try:
        audit, privacy = _guards(config_file, store, connector)
    except BaseException:
        connector.close()
        raise
    return LeadRefresher(
        connector,
        connection_scorer(config, conn, store, build_scorer(config.scoring)),
        store,
        connection=conn.name,
        lookup=lookup,
        messages=messages,
        audit=audit,
        page_filter=privacy,
        on_close=audit.close,
    )
