"""ActiveCampaign contacts to the common schema: `Lead` and `Outcome`.

AC stamps ``cdate``/``udate`` with the account zone's offset (``-05:00``); everything is
normalised to UTC here. The wire shape is checked strictly first: a contact whose id is
not a string of digits or whose e-mail is not a string means the *page* is not what the
API promises (`MalformedResponse`), while a well-formed contact with a value that cannot
mean what its field says (an e-mail without a domain, a company size of "beaucoup")
becomes a `RecordError` reject and the sync carries on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError

from leadbridge.connectors.activecampaign.config import ActiveCampaignConfig
from leadbridge.core.errors import MalformedResponse, MappingError
from leadbridge.core.models import Consent, Lead, Outcome, OutcomeStatus, RecordError
from leadbridge.core.redaction import redact

__all__ = [
    "SOURCE",
    "ContactWire",
    "lead_key",
    "map_contact",
    "parse_contacts",
    "parse_time",
    "reject",
]

SOURCE = "activecampaign"
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z]{2,}$")
_SIZE = re.compile(r"^\s*(\d[\d,' ]*)\s*(?:[-–]\s*\d[\d,' ]*|\+)?\s*$")
_TRUE = {"1", "true", "yes", "oui", "ja", "si", "sì", "x"}
_PAYLOAD_LIMIT = 2000


class ContactWire(BaseModel):
    """The fields of a listed contact the connector reads, with their promised types."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    id: str
    email: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    phone: str | None = None
    cdate: str | None = None
    udate: str | None = None


def parse_contacts(response: Any) -> tuple[list[ContactWire], list[dict[str, Any]]]:
    """The typed contacts of one ``GET /contacts`` page plus their raw dicts."""
    contacts = response.get("contacts") if isinstance(response, dict) else None
    if not isinstance(contacts, list):
        raise MalformedResponse("contacts page without a 'contacts' list", connector=SOURCE)
    typed: list[ContactWire] = []
    raws: list[dict[str, Any]] = []
    for index, raw in enumerate(contacts):
        try:
            wire = ContactWire.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"]) or "record"
            raise MalformedResponse(
                f"contacts page, record {index}: '{where}' {error['msg'].lower()}",
                connector=SOURCE,
            ) from None
        if not wire.id.isdigit():
            raise MalformedResponse(
                f"contacts page, record {index}: id {wire.id[:20]!r} is not numeric",
                connector=SOURCE,
            )
        typed.append(wire)
        raws.append(raw)
    return typed, raws


def parse_time(value: str | None, what: str) -> datetime | None:
    """An AC instant (``2024-05-01T07:30:00-05:00``) as an aware UTC datetime."""
    if value is None or value.strip() == "" or value.startswith("0000-00-00"):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"{what} {value[:40]!r} is not an ISO 8601 instant") from None
    if parsed.tzinfo is None:
        raise MappingError(f"{what} {value[:40]!r} carries no UTC offset")
    return parsed.astimezone(UTC)


def lead_key(contact_id: str) -> str:
    """The leadbridge key of a lead first seen in ActiveCampaign."""
    return f"{SOURCE}:{contact_id}"


def _text(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def _size(value: str | None) -> int | None:
    text = _text(value)
    if text is None:
        return None
    match = _SIZE.match(text)
    if match is None:
        raise MappingError(f"company size {text[:30]!r} is not a number or range")
    return int(re.sub(r"[^\d]", "", match.group(1)))


def map_contact(
    config: ActiveCampaignConfig, wire: ContactWire, values: Mapping[str, str]
) -> tuple[Lead, list[Outcome]]:
    """One contact (and its custom values keyed by perstag) as a `Lead` and outcomes."""
    email = _text(wire.email)
    if email is not None and not _EMAIL.match(email):
        raise MappingError(f"email {email[:40]!r} is not a valid address")
    created = parse_time(wire.cdate, "cdate")
    updated = parse_time(wire.udate, "udate")
    if updated is None:
        raise MappingError("contact without udate")
    fields = config.field_map

    def custom(attr: str) -> str | None:
        tag = fields.get(attr)
        return _text(values.get(tag)) if tag else None

    objection = False
    if config.objection_field:
        objection = (values.get(config.objection_field) or "").strip().lower() in _TRUE
    stage = custom("lifecycle_stage")
    try:
        lead = Lead(
            key=lead_key(wire.id),
            source_ids={SOURCE: wire.id},
            email=email.lower() if email else None,
            phone=_text(wire.phone),
            first_name=_text(wire.firstName),
            last_name=_text(wire.lastName),
            company=custom("company"),
            job_title=custom("job_title"),
            seniority=custom("seniority"),
            industry=custom("industry"),
            company_size=_size(values.get(fields["company_size"]))
            if "company_size" in fields
            else None,
            country=custom("country"),
            region=custom("region"),
            language=custom("language"),
            consent=Consent(objects_to_profiling=objection),
            lifecycle_stage=stage,
            owner=custom("owner"),
            source=custom("source"),
            created_at=created,
            updated_at=updated,
            custom={tag: values.get(tag) for tag in config.custom_fields},
        )
    except ValidationError as exc:
        raise MappingError(
            f"contact does not fit the lead schema: {exc.errors()[0]['msg']}"
        ) from None
    outcomes: list[Outcome] = []
    if stage is not None and stage.lower() in {s.lower() for s in config.won_stages}:
        outcomes.append(
            Outcome(lead_key=lead.key, status=OutcomeStatus.WON, at=updated, source=SOURCE)
        )
    return lead, outcomes


def reject(stream: str, record_id: str | None, reason: str, payload: Any) -> RecordError:
    """A dead-letter entry: one-line reason, payload redacted and truncated."""
    try:
        text = orjson.dumps(payload, default=str).decode()
    except TypeError:
        text = repr(payload)
    return RecordError(
        stream=stream,
        record_id=record_id,
        reason=redact(" ".join(reason.split()))[:300],
        payload=redact(text)[:_PAYLOAD_LIMIT],
    )


def field_values_by_tag(
    rows: Sequence[Mapping[str, Any]], perstag_of: Mapping[str, str]
) -> dict[str, str]:
    """``/contacts/{id}/fieldValues`` rows keyed by perstag (unknown fields are skipped)."""
    out: dict[str, str] = {}
    for row in rows:
        if not isinstance(row, Mapping):
            raise MalformedResponse("fieldValues entry is not an object", connector=SOURCE)
        tag = perstag_of.get(str(row.get("field")))
        value = row.get("value")
        if tag is not None and isinstance(value, str | int | float) and not isinstance(value, bool):
            out[tag] = str(value)
    return out
