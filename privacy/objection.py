"""Objection to profiling (GDPR Art. 21(2)-(3), nFADP Art. 30(2)(b)): stop scoring them.

An objection to processing for direct marketing, profiling included, is absolute. It is
recorded three ways so that it survives every later sync:

- the person's fingerprints join the *objection* list, which the privacy filter applies
  to every pulled page (`suppression.PrivacyFilter`), whatever the CRM says;
- their stored leads get ``consent.objects_to_profiling = True`` and are marked dirty, so
  the next engine run scores nothing for them and writes cleared score fields (and
  audits that write as "objection to profiling: score cleared");
- where the connection names a CRM field for it (HubSpot ``objection_property``,
  ActiveCampaign ``objection_field``), that field is set on the CRM record, so the flag
  travels with the lead to every tool reading the CRM.

Withdrawing the objection reverses the three.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from leadbridge.core.errors import LeadbridgeError
from leadbridge.core.models import FieldSpec, Page, ScoreWrite
from leadbridge.core.protocols import Connector, SupportsWriteBack
from leadbridge.core.redaction import redact
from leadbridge.privacy.holdings import Holding
from leadbridge.privacy.identity import Fingerprinter, SubjectQuery
from leadbridge.privacy.registry import PrivacyRegistry
from leadbridge.sync.state import StateStore

__all__ = ["CrmFlag", "ObjectionResult", "record_objection"]


class CrmFlag(BaseModel):
    """The outcome of setting the objection field on one CRM record."""

    model_config = ConfigDict(frozen=True)

    connection: str
    field: str
    object_id: str
    ok: bool
    detail: str = ""


class ObjectionResult(BaseModel):
    """What an objection (or its withdrawal) changed."""

    model_config = ConfigDict(frozen=True)

    request_id: str
    objects: bool
    records_found: int
    leads_flagged: int
    list_entries: int
    crm_flags: list[CrmFlag]


def _flag_locally(store: StateStore, holdings: Sequence[Holding], objects: bool) -> int:
    """Re-stage each live lead with its consent flag set: stored, and dirty for the next run.

    Staging goes through the store's own page path, so the lead gets a proper dirty mark
    and the engine re-processes it (clearing the written score) like any changed lead.
    """
    changed = 0
    for holding in holdings:
        if holding.deleted or holding.lead.consent.objects_to_profiling == objects:
            continue
        consent = holding.lead.consent.model_copy(update={"objects_to_profiling": objects})
        lead = holding.lead.model_copy(update={"consent": consent})
        store.stage_page(holding.connection, Page(stream="privacy", leads=(lead,)))
        changed += 1
    return changed


def _flag_in_crm(
    holdings: Sequence[Holding],
    fields: Callable[[str], str | None],
    connectors: Callable[[str], Connector],
    objects: bool,
) -> list[CrmFlag]:
    flags: list[CrmFlag] = []
    by_connection: dict[str, list[Holding]] = {}
    for holding in holdings:
        if not holding.deleted:
            by_connection.setdefault(holding.connection, []).append(holding)
    for connection, items in sorted(by_connection.items()):
        field = fields(connection)
        if not field:
            continue
        try:
            connector = connectors(connection)
        except LeadbridgeError as exc:
            flags += [
                CrmFlag(connection=connection, field=field, object_id=h.source_id, ok=False,
                        detail=redact(str(exc))[:300])
                for h in items
            ]  # fmt: skip
            continue
        try:
            if not isinstance(connector, SupportsWriteBack):
                raise LeadbridgeError(f"connector {connector.name!r} cannot write")
            spec = FieldSpec(
                name=field,
                label="Objects to profiling",
                type="enumeration",
                description="Set by leadbridge: this person objects to profiling (GDPR Art. 21).",
                options=("true", "false"),
            )
            connector.ensure_fields([spec])
            value = "true" if objects else "false"
            result = connector.write(
                [ScoreWrite(source_id=h.source_id, lead_key=h.lead_key, values={field: value})
                 for h in items]
            )  # fmt: skip
            flags += [
                CrmFlag(connection=connection, field=field, object_id=h.source_id,
                        ok=h.source_id in result.succeeded,
                        detail=redact(result.failed.get(h.source_id, ""))[:300])
                for h in items
            ]  # fmt: skip
        except LeadbridgeError as exc:
            flags += [
                CrmFlag(connection=connection, field=field, object_id=h.source_id, ok=False,
                        detail=redact(str(exc))[:300])
                for h in items
            ]  # fmt: skip
        finally:
            connector.close()
    return flags


def record_objection(
    query: SubjectQuery,
    holdings: Sequence[Holding],
    *,
    store: StateStore,
    registry: PrivacyRegistry,
    fingerprints: Fingerprinter,
    request_id: str,
    objection_field: Callable[[str], str | None],
    connectors: Callable[[str], Connector],
    objects: bool = True,
) -> ObjectionResult:
    """Record (or, with ``objects=False``, withdraw) an objection to profiling."""
    marks = fingerprints.of_query(query) | fingerprints.of_leads(h.lead for h in holdings)
    if objects:
        entries = registry.mark("objection", marks, request_id)
    else:
        entries = registry.unmark("objection", marks)
    flagged = _flag_locally(store, holdings, objects)
    flags = _flag_in_crm(holdings, objection_field, connectors, objects)
    return ObjectionResult(
        request_id=request_id,
        objects=objects,
        records_found=len(holdings),
        leads_flagged=flagged,
        list_entries=entries,
        crm_flags=flags,
    )
