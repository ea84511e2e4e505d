"""`PrivacyService`: the rights of the person behind one object, for the CLI and the API.

It owns what a request needs (the state store, the privacy tables, the fingerprint key,
the audit log, a way to reach each configured CRM) and records every request: who asked,
when, what it produced. Requests are synchronous: an erasure returns its certificate.
`PrivacyService.open(settings)` builds it from `leadbridge.toml`; tests and embedders can
pass the parts directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from leadbridge.audit.log import AuditLog, open_audit_log
from leadbridge.connectors import create_connector
from leadbridge.core.errors import ConfigError
from leadbridge.core.models import AuditEvent
from leadbridge.core.protocols import Connector
from leadbridge.privacy.config import Settings
from leadbridge.privacy.erasure import ErasureCertificate, SupportsErasure, erase_subject
from leadbridge.privacy.export import build_export, to_csv, to_json
from leadbridge.privacy.holdings import Holding, find_holdings, needles_of
from leadbridge.privacy.identity import Fingerprinter, SubjectQuery, load_privacy_key
from leadbridge.privacy.objection import ObjectionResult, record_objection
from leadbridge.privacy.registry import PrivacyRegistry, PrivacyRequest
from leadbridge.privacy.retention import RetentionReport, enforce_retention
from leadbridge.privacy.ropa import ProcessingRecord, build_record
from leadbridge.privacy.suppression import PrivacyFilter
from leadbridge.sync.config import resolve_env
from leadbridge.sync.state import StateStore, open_store

__all__ = ["ExportFile", "PrivacyService", "connector_factory"]

ExportFormat = Literal["json", "csv"]


@dataclass(frozen=True)
class ExportFile:
    """An export as bytes, with its media type and, when saved, where."""

    request_id: str
    content: bytes
    media_type: str
    records: int
    path: Path | None = None


def connector_factory(settings: Settings) -> Callable[[str], Connector]:
    """Build a configured connection's connector by name (secrets from the environment)."""
    by_name = {c.name: c for c in settings.base.connection}
    file = str(settings.file)

    def build(name: str) -> Connector:
        conn = by_name.get(name)
        if conn is None:
            raise ConfigError(f"no connection named {name!r}", file=file, key="connection")
        resolved = resolve_env(conn.settings, file=file, prefix=f"connection.{name}.settings")
        return create_connector(conn.crm, resolved, file=file)

    return build


class PrivacyService:
    """Access, erasure, objection and retention over one installation's state."""

    def __init__(
        self,
        *,
        store: StateStore,
        fingerprints: Fingerprinter,
        record: ProcessingRecord,
        connectors: Callable[[str], Connector],
        audit: AuditLog | None = None,
        data_dir: Path,
        objection_fields: dict[str, str] | None = None,
        permanent: bool = True,
        settings: Settings | None = None,
    ) -> None:
        self.store = store
        self.registry = PrivacyRegistry(store.engine)
        self.fp = fingerprints
        self.record = record
        self.connectors = connectors
        self.audit = audit
        self.data_dir = data_dir
        self.objection_fields = objection_fields or {}
        self.permanent = permanent
        self.settings = settings

    @classmethod
    def open(cls, settings: Settings, *, audit: AuditLog | None = None) -> PrivacyService:
        """Everything from the config: state store, privacy key, audit log, connectors."""
        privacy = settings.privacy
        key = load_privacy_key(Path(privacy.key_dir))
        if audit is None:
            audit = open_audit_log(
                settings.audit.db,
                key_dir=Path(settings.audit.key_dir),
                export_dir=Path(settings.audit.checkpoints) if settings.audit.checkpoints else None,
            )
        fields = {
            c.name: str(c.settings.get("objection_property") or c.settings.get("objection_field"))
            for c in settings.base.connection
            if c.settings.get("objection_property") or c.settings.get("objection_field")
        }
        return cls(
            store=open_store(settings.base.state),
            fingerprints=Fingerprinter(key, region=privacy.default_region),
            record=build_record(settings),
            connectors=connector_factory(settings),
            audit=audit,
            data_dir=Path(privacy.data_dir),
            objection_fields=fields,
            permanent=privacy.salesforce_permanent,
            settings=settings,
        )

    def close(self) -> None:
        self.store.close()
        if self.audit is not None:
            self.audit.close()

    # -- the privacy filter the sync applies ----------------------------------------------

    def filter(self, system: str | None = None) -> PrivacyFilter:
        """The sync's page filter: erased people kept out, objecting people unscored.

        `system` is the connector's name, so rejected records match by their record id.
        """
        return PrivacyFilter(self.registry, self.fp, system=system)

    # -- requests -----------------------------------------------------------------------

    def holdings(self, query: SubjectQuery) -> list[Holding]:
        return find_holdings(self.store, query, region=self.fp.region)

    def _audit_request(self, kind: str, actor: str, request_id: str, found: int) -> None:
        if self.audit is None:
            return
        self.audit.record(
            [
                AuditEvent(
                    kind="privacy_action",
                    actor=actor,
                    at=datetime.now(UTC),
                    reason=f"{kind} request",
                    request_id=request_id,
                    details={"action": kind, "records": found},
                )
            ]
        )

    def export(
        self,
        query: SubjectQuery,
        *,
        actor: str,
        fmt: ExportFormat = "json",
        save: bool = False,
        out: Path | None = None,
    ) -> ExportFile:
        """Subject access / portability export.

        With `save` the file is kept under the data dir, or written to `out`; either way
        it is registered with the request, so erasure and retention can delete it later.
        """
        holdings = self.holdings(query)
        marks = self.fp.of_query(query) | self.fp.of_leads(h.lead for h in holdings)
        request_id = self.registry.open_request("access", actor=actor, fingerprints=marks)
        export = build_export(
            self.store,
            holdings,
            self.record,
            audit=self.audit,
            actor=actor,
            request_id=request_id,
            needles=needles_of(holdings, query),
            now=datetime.now(UTC),
        )
        content = to_json(export) if fmt == "json" else to_csv(export).encode("utf-8")
        path = out
        if save and path is None:
            folder = self.data_dir / "exports"
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            path = folder / f"{request_id}.{fmt}"
        if path is not None:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(content)
            except OSError as exc:
                raise ConfigError(
                    f"cannot write the export: {exc.strerror}", file=str(path)
                ) from None
            self.registry.add_file(request_id, str(path.resolve()))
        self._audit_request("access", actor, request_id, len(holdings))
        self.registry.finish_request(
            request_id, "completed", {"records": len(holdings), "format": fmt}
        )
        media = "application/json" if fmt == "json" else "text/csv; charset=utf-8"
        return ExportFile(request_id, content, media, len(holdings), path)

    def erase(
        self, query: SubjectQuery, *, actor: str, permanent: bool | None = None
    ) -> ErasureCertificate:
        """Erase the person everywhere; the certificate."""
        holdings = self.holdings(query)
        marks = self.fp.of_query(query) | self.fp.of_leads(h.lead for h in holdings)
        request_id = self.registry.open_request("erasure", actor=actor, fingerprints=marks)

        def eraser(name: str) -> SupportsErasure:
            connector = self.connectors(name)
            if not isinstance(connector, SupportsErasure):
                connector.close()
                raise ConfigError(f"connector {connector.name!r} cannot erase records")
            return connector

        return erase_subject(
            query,
            holdings,
            store=self.store,
            registry=self.registry,
            fingerprints=self.fp,
            erasers=eraser,
            audit=self.audit,
            actor=actor,
            request_id=request_id,
            requested_at=datetime.now(UTC),
            permanent=self.permanent if permanent is None else permanent,
        )

    def object(self, query: SubjectQuery, *, actor: str, withdraw: bool = False) -> ObjectionResult:
        """Record (or withdraw) an objection to profiling."""
        holdings = self.holdings(query)
        marks = self.fp.of_query(query) | self.fp.of_leads(h.lead for h in holdings)
        request_id = self.registry.open_request("objection", actor=actor, fingerprints=marks)
        result = record_objection(
            query,
            holdings,
            store=self.store,
            registry=self.registry,
            fingerprints=self.fp,
            request_id=request_id,
            objection_field=self.objection_fields.get,
            connectors=self.connectors,
            objects=not withdraw,
        )
        self._audit_request(
            "objection_withdrawn" if withdraw else "objection", actor, request_id, len(holdings)
        )
        ok = all(flag.ok for flag in result.crm_flags)
        self.registry.finish_request(
            request_id, "completed" if ok else "partial", result.model_dump(mode="json")
        )
        return result

    def request(self, request_id: str) -> PrivacyRequest | None:
        return self.registry.get(request_id)

    def retention(self, *, now: datetime | None = None) -> RetentionReport:
        """Enforce the configured retention periods once."""
        if self.settings is None:
            raise ConfigError("retention needs the [privacy.retention] settings")
        return enforce_retention(
            self.store, self.settings.privacy.retention, registry=self.registry, now=now
        )
