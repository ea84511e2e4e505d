"""Raw records → `Lead`, `Activity`, `Outcome` and deleted ids, driven by a stream's spec.

One `StreamMapper` per stream. A record that cannot be mapped becomes a `RecordError`
(redacted, truncated payload, one-line reason) and the page goes on; an outcome that
cannot be mapped rejects only the outcome, the lead is kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError

from leadbridge.connectors.rest.profile import (
    ActivityMap,
    FieldRef,
    FieldRule,
    LeadMap,
    OutcomeMap,
    StreamSpec,
)
from leadbridge.connectors.rest.values import coerce, parse_instant, read_value, render_template
from leadbridge.core.errors import MappingError
from leadbridge.core.models import (
    Activity,
    Consent,
    Lead,
    Outcome,
    OutcomeStatus,
    RecordError,
)
from leadbridge.core.paginators import dig
from leadbridge.core.redaction import redact
from leadbridge.core.vocabulary import KINDS, channel_of

__all__ = ["Mapped", "StreamMapper", "reject"]

_PAYLOAD_LIMIT = 2000
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LEAD_TEXT_FIELDS = (
    "phone",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "seniority",
    "industry",
    "company_size",
    "annual_revenue",
    "country",
    "region",
    "language",
    "lifecycle_stage",
    "owner",
    "source",
)


def reject(stream: str, record_id: str | None, reason: str, record: Any) -> RecordError:
    """A dead-letter entry: the reason plus the raw record, redacted and truncated."""
    text = redact(orjson.dumps(record, default=str, option=orjson.OPT_NON_STR_KEYS).decode())
    return RecordError(
        stream=stream,
        record_id=record_id or None,
        reason=redact(" ".join(reason.split()))[:500],
        payload=text[:_PAYLOAD_LIMIT] + ("…" if len(text) > _PAYLOAD_LIMIT else ""),
    )


@dataclass
class Mapped:
    """What one page's records became."""

    leads: list[Lead] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    rejects: list[RecordError] = field(default_factory=list)
    skipped: int = 0


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else str(first["msg"])


class StreamMapper:
    """Maps one stream's records as its spec says."""

    def __init__(self, crm: str, stream: str, spec: StreamSpec) -> None:
        self.crm = crm
        self.stream = stream
        self.spec = spec

    # -- identity and cursor --------------------------------------------------------

    def record_id(self, record: Mapping[str, Any]) -> str:
        """The record's id as text; a missing or structured id is a MappingError."""
        value = dig(record, self.spec.id)
        if value is None or isinstance(value, dict | list | bool) or str(value).strip() == "":
            raise MappingError(f"missing record id at '{self.spec.id}'")
        return str(value).strip()

    def cursor(self, record: Mapping[str, Any]) -> datetime | None:
        """The record's cursor value (None for a stream without a cursor)."""
        if not self.spec.cursor_field:
            return None
        try:
            return parse_instant(dig(record, self.spec.cursor_field), self.spec.cursor_format)
        except MappingError as exc:
            raise MappingError(f"{self.spec.cursor_field}: {exc}") from None

    def key(self, record_id: str) -> str:
        """Leadbridge's lead key for a record id of this CRM."""
        return f"{self.crm}:{record_id}"

    # -- one record -----------------------------------------------------------------

    def map(self, record: Any, into: Mapped) -> tuple[datetime | None, str] | None:
        """Map one record into `into`; its (cursor, id) position, or None if rejected."""
        if not isinstance(record, Mapping):
            into.rejects.append(reject(self.stream, None, "record is not a JSON object", record))
            return None
        record_id: str | None = None
        try:
            record_id = self.record_id(record)
            at = self.cursor(record)
            lead = self._lead(record, record_id) if self.spec.lead else None
            activity = (
                self._activity(record, record_id, self.spec.activity)
                if self.spec.activity
                else None
            )
        except MappingError as exc:
            into.rejects.append(reject(self.stream, record_id, str(exc), record))
            return None
        if lead is not None:
            into.leads.append(lead)
        if activity is not None:
            into.activities.append(activity)
        elif self.spec.activity is not None:
            into.skipped += 1
        if self.spec.deleted is not None:
            deleted_id = dig(record, self.spec.deleted.id)
            into.deleted.append(str(deleted_id if deleted_id is not None else record_id))
        if self.spec.outcome is not None:
            try:
                outcome = self._outcome(record, record_id, at, self.spec.outcome)
            except MappingError as exc:
                into.rejects.append(reject(self.stream, record_id, f"outcome: {exc}", record))
            else:
                if outcome is not None:
                    into.outcomes.append(outcome)
        return at, record_id

    # -- leads ----------------------------------------------------------------------

    def _lead(self, record: Mapping[str, Any], record_id: str) -> Lead:
        spec: LeadMap | None = self.spec.lead
        assert spec is not None
        values: dict[str, Any] = {
            "key": self.key(record_id),
            "source_ids": {self.crm: record_id},
        }
        for name in _LEAD_TEXT_FIELDS:
            ref = getattr(spec, name)
            if ref is not None:
                values[name] = read_value(record, ref, what=name)
        if spec.email is not None:
            email = read_value(record, spec.email, what="email")
            if email is not None and not _EMAIL.match(str(email)):
                raise MappingError(f"email: {str(email)[:60]!r} is not an e-mail address")
            values["email"] = email
        for name in ("created_at", "updated_at"):
            ref = getattr(spec, name)
            if ref is not None:
                values[name] = _instant(record, ref, name)
        if spec.consent is not None:
            flags = {
                name: coerce(read_value(record, ref, what=f"consent.{name}"), "boolean")
                for name in ("marketing_email", "tracking", "objects_to_profiling", "do_not_call")
                if (ref := getattr(spec.consent, name)) is not None
            }
            values["consent"] = Consent.model_validate(
                {k: v for k, v in flags.items() if v is not None}
            )
        values["custom"] = {
            name: read_value(record, ref, what=f"custom.{name}")
            for name, ref in spec.custom.items()
        }
        try:
            return Lead.model_validate(values)
        except ValidationError as exc:
            raise MappingError(_first_error(exc)) from None

    # -- outcomes -------------------------------------------------------------------

    def _outcome(
        self,
        record: Mapping[str, Any],
        record_id: str,
        cursor: datetime | None,
        spec: OutcomeMap,
    ) -> Outcome | None:
        raw = dig(record, spec.status)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        status = spec.values.get(str(raw).strip())
        if status is None:
            if spec.on_unmapped == "skip":
                return None
            raise MappingError(f"unmapped status {str(raw)[:60]!r}")
        at = parse_instant(dig(record, spec.at), spec.at_format) if spec.at else cursor
        if at is None:
            raise MappingError("no timestamp for the outcome ('at' or the stream cursor)")
        detail = dig(record, spec.detail) if spec.detail else None
        return Outcome(
            lead_key=self.key(record_id),
            status=OutcomeStatus(status),
            at=at,
            source=self.crm,
            detail=str(detail) if detail is not None else None,
        )

    # -- activities -----------------------------------------------------------------

    def _activity(
        self, record: Mapping[str, Any], record_id: str, spec: ActivityMap
    ) -> Activity | None:
        lead_id = dig(record, spec.lead_id)
        if lead_id is None or isinstance(lead_id, dict | list) or str(lead_id).strip() == "":
            if spec.orphans == "skip":
                return None
            raise MappingError(f"missing lead id at '{spec.lead_id}'")
        vendor_type = "default"
        if spec.type is not None:
            vendor_type = str(dig(record, spec.type) or "")
        type_map = spec.types.get(vendor_type)
        if type_map is None:
            if spec.unknown_types == "skip":
                return None
            raise MappingError(f"unknown activity type {vendor_type[:60]!r}")
        kind = render_template(type_map.kind, record)
        if kind is None or kind not in KINDS:
            if type_map.fallback_kind is None:
                return None
            kind = type_map.fallback_kind
        channel = type_map.channel or channel_of(kind)
        if channel is None:  # pragma: no cover - kinds are checked against KINDS above
            raise MappingError(f"no channel for kind {kind!r}")
        occurred = parse_instant(dig(record, spec.occurred_at), spec.occurred_format)
        value = (
            coerce(read_value(record, type_map.value, what="value"), "number")
            if type_map.value is not None
            else None
        )
        count = (
            coerce(read_value(record, type_map.count, what="count"), "integer")
            if type_map.count is not None
            else None
        )
        attributes = {
            name: read_value(record, ref, what=f"attributes.{name}")
            for name, ref in type_map.attributes.items()
        }
        try:
            return Activity(
                lead_key=self.key(str(lead_id).strip()),
                channel=channel,
                kind=kind,
                occurred_at=occurred,
                source=self.crm,
                source_id=record_id,
                value=float(value) if isinstance(value, int | float) else None,
                count=int(count) if isinstance(count, int) else 1,
                attributes={k: v for k, v in attributes.items() if v is not None},
            )
        except ValidationError as exc:
            raise MappingError(_first_error(exc)) from None


def _instant(record: Mapping[str, Any], ref: FieldRef, what: str) -> datetime | None:
    if isinstance(ref, FieldRule):
        if ref.path is None:
            raise MappingError(f"{what}: a timestamp cannot be a constant")
        raw = dig(record, ref.path)
        fmt = ref.format
    else:
        raw = dig(record, ref)
        fmt = "iso"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return parse_instant(raw, fmt)
    except MappingError as exc:
        raise MappingError(f"{what}: {exc}") from None
