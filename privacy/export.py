"""Subject access and portability export: everything held about one person, explained.

GDPR Art. 15 (and nFADP Art. 25) give the person their data *and* the purposes,
recipients, retention, source and, for profiling, "meaningful information about the
logic involved" (Art. 15(1)(h), Art. 22; nFADP Art. 21). Art. 20 (nFADP Art. 28) wants
it in a structured, machine-readable format. The export therefore holds, per stored
lead: the profile as pulled, every activity and outcome, the current score with the
rules that fired (its factors) and the scorer's config and model version, the score
history, the values written to the CRM, dead letters about them, and the audit entries
about them decrypted with their own key; plus the processing information from the
record of processing.

JSON is the faithful form; CSV is one row per value (``section, connection, lead_key,
item, field, value``), every cell neutralised against formula injection (`csvsafe`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict

from leadbridge.audit.log import AuditLog
from leadbridge.core.models import ScoreResult
from leadbridge.privacy.csvsafe import write_csv
from leadbridge.privacy.holdings import Holding
from leadbridge.privacy.ropa import ProcessingRecord
from leadbridge.sync.state import StateStore, outcomes

__all__ = [
    "CSV_HEADER",
    "HoldingExport",
    "PersonalDataExport",
    "ScoreExplanation",
    "build_export",
    "to_csv",
    "to_json",
]

CSV_HEADER = ("section", "connection", "lead_key", "item", "field", "value")

SCORING_LOGIC = (
    "The score (0-100) is computed by rules: each rule that matches the person's profile "
    "(fit: role, company, country...) or recorded activity (intent: visits, e-mails, "
    "events, calls, messages) adds or removes points; activity points fade with age "
    "(decay_factor). The total sets the tier and the recommended action. 'factors' lists "
    "every rule that fired with its points, so the score can be checked and contested. "
    "Scores prioritise sales follow-up; no decision with legal or similarly significant "
    "effect is taken solely by them, and an objection stops the scoring."
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class ScoreExplanation(_Model):
    """A score with its factors and the versions that produced it (Art. 15(1)(h), 22)."""

    score: int
    tier: str
    action: str
    summary: str
    fit: float | None
    intent: float | None
    config_version: str
    model_version: str | None
    computed_at: datetime
    factors: list[dict[str, Any]]
    logic: str = SCORING_LOGIC


class HoldingExport(_Model):
    """Everything stored about one of the person's leads, in one connection."""

    connection: str
    lead_key: str
    source_id: str
    deleted_in_crm: bool
    objects_to_profiling: bool
    lead: dict[str, Any]
    activities: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    current_score: ScoreExplanation | None
    score_history: list[dict[str, Any]]
    written_values: dict[str, Any] | None
    dead_letters: list[dict[str, Any]]
    audit_entries: list[dict[str, Any]]


class PersonalDataExport(_Model):
    """The whole export: processing information, then the data, lead by lead."""

    request_id: str
    generated_at: datetime
    controller: str
    contact: str | None
    purposes: list[str]
    legal_basis: str
    recipients: list[dict[str, Any]]
    retention: dict[str, Any]
    automated_decision: str
    records: list[HoldingExport]


def _explain(result: ScoreResult) -> ScoreExplanation:
    return ScoreExplanation(
        score=result.score,
        tier=result.tier,
        action=result.action,
        summary=result.summary,
        fit=result.fit,
        intent=result.intent,
        config_version=result.config_version,
        model_version=result.model_version,
        computed_at=result.computed_at,
        factors=[r.model_dump(mode="json") for r in result.reasons],
    )


def _outcomes(store: StateStore, holding: Holding) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(outcomes.c.status, outcomes.c.at, outcomes.c.source, outcomes.c.detail).where(
                outcomes.c.connection == holding.connection,
                outcomes.c.lead_key == holding.lead_key,
            )
        ).all()
    return [
        {"status": r.status, "at": r.at.isoformat(), "source": r.source, "detail": r.detail}
        for r in rows
    ]


def _holding(
    store: StateStore,
    holding: Holding,
    audit: AuditLog | None,
    *,
    actor: str,
    needles: Sequence[str],
) -> HoldingExport:
    connection, key = holding.connection, holding.lead_key
    acts = store.load_activities(connection, [key]).get(key, [])
    history = store.score_history(connection, key)
    written = store.written_for(connection, [holding.source_id]).get(holding.source_id)
    lowered = [n.casefold() for n in needles]
    letters = [
        d.model_dump(mode="json")
        for d in store.dead_letters(connection, include_resolved=True)
        if d.record_id == holding.source_id
        or any(n in (d.payload + d.reason).casefold() for n in lowered)
    ]
    entries: list[dict[str, Any]] = []
    if audit is not None:
        found = audit.export_subject(key, actor=actor, reason="subject access export")
        entries = [e.model_dump(mode="json") for e in found.entries]
    return HoldingExport(
        connection=connection,
        lead_key=key,
        source_id=holding.source_id,
        deleted_in_crm=holding.deleted,
        objects_to_profiling=holding.lead.consent.objects_to_profiling,
        lead=holding.lead.model_dump(mode="json"),
        activities=[a.model_dump(mode="json") for a in acts],
        outcomes=_outcomes(store, holding),
        current_score=_explain(history[-1]) if history else None,
        score_history=[r.model_dump(mode="json", exclude={"reasons"}) for r in history],
        written_values=dict(written.values) if written is not None else None,
        dead_letters=letters,
        audit_entries=entries,
    )


def build_export(
    store: StateStore,
    holdings: Sequence[Holding],
    record: ProcessingRecord,
    *,
    audit: AuditLog | None,
    actor: str,
    request_id: str,
    needles: Sequence[str] = (),
    now: datetime,
) -> PersonalDataExport:
    """Gather the export (reading the audit log appends ``audit_read`` entries)."""
    used = {h.connection for h in holdings}
    return PersonalDataExport(
        request_id=request_id,
        generated_at=now,
        controller=record.controller,
        contact=record.contact,
        purposes=list(record.purposes),
        legal_basis=record.legal_basis,
        recipients=[
            {
                "connection": s.connection,
                "recipient": s.recipient,
                "country": s.country,
                "receives": list(s.written_back),
            }
            for s in record.sources
            if s.connection in used
        ],
        retention=dict(record.retention),
        automated_decision=record.profiling,
        records=[_holding(store, h, audit, actor=actor, needles=needles) for h in holdings],
    )


def to_json(export: PersonalDataExport) -> bytes:
    """The export as indented UTF-8 JSON."""
    return orjson.dumps(export.model_dump(mode="json"), option=orjson.OPT_INDENT_2)


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        if not value:
            yield prefix, "{}"
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list | tuple):
        if not value:
            yield prefix, "[]"
        for index, item in enumerate(value):
            yield from _flatten(item, f"{prefix}[{index}]")
    elif value is None:
        yield prefix, ""
    elif isinstance(value, bool):
        yield prefix, "true" if value else "false"
    else:
        yield prefix, str(value)


def _rows(export: PersonalDataExport) -> Iterator[tuple[str, ...]]:
    data = export.model_dump(mode="json")
    records = data.pop("records")
    for field, value in _flatten(data):
        yield ("processing", "", "", "", field, value)
    for record in records:
        connection, key = record["connection"], record["lead_key"]
        for section in (
            "lead",
            "activities",
            "outcomes",
            "current_score",
            "score_history",
            "written_values",
            "dead_letters",
            "audit_entries",
        ):
            content = record[section]
            if isinstance(content, list):
                for index, item in enumerate(content):
                    for field, value in _flatten(item):
                        yield (section, connection, key, str(index), field, value)
            else:
                for field, value in _flatten(content):
                    yield (section, connection, key, "", field, value)
        for field in ("source_id", "deleted_in_crm", "objects_to_profiling"):
            for name, value in _flatten(record[field], field):
                yield ("record", connection, key, "", name, value)


def to_csv(export: PersonalDataExport) -> str:
    """The export as one CSV row per value, safe to open in a spreadsheet."""
    return write_csv(CSV_HEADER, _rows(export))
