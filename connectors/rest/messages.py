"""Inbound messages (seed 001): a chat or WhatsApp message, what was extracted, the routing.

The webhook posts an analysed message to the CRM and the sync reads messages back; the
profile's ``[messages.fields]`` names each field the vendor's way (BOMA: ``lead_source``,
``message_body``, ``extracted_data``, ``ai_score``, ``routing_action``).

    >>> msg = InboundMessage(source="Whatsapp_Business", body="Bonjour", score=75)
    >>> to_payload(msg, MessageFields())["ai_score"]
    75
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leadbridge.connectors.rest.profile import MessageFields, TimeFormat
from leadbridge.connectors.rest.values import JSONScalar, format_instant, parse_instant
from leadbridge.core.errors import MappingError
from leadbridge.core.models import AwareDatetime
from leadbridge.core.paginators import dig

__all__ = ["InboundMessage", "from_record", "to_payload"]


class InboundMessage(BaseModel):
    """One inbound message with its extraction result, vendor-neutral."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(min_length=1, description="Channel, e.g. Whatsapp_Business.")
    body: str
    extracted: Mapping[str, JSONScalar] = Field(default_factory=dict)
    score: int | None = Field(None, ge=0, le=100)
    routing: str | None = None
    lead_id: str | None = None
    id: str | None = None
    received_at: AwareDatetime | None = None


def to_payload(
    message: InboundMessage, fields: MessageFields, fmt: TimeFormat = "iso"
) -> dict[str, Any]:
    """The vendor's JSON for a message (server-assigned id and unset fields left out)."""
    payload: dict[str, Any] = {
        fields.source: message.source,
        fields.body: message.body,
        fields.extracted: dict(message.extracted),
    }
    if message.score is not None:
        payload[fields.score] = message.score
    if message.routing is not None:
        payload[fields.routing] = message.routing
    if message.lead_id is not None:
        payload[fields.lead_id] = message.lead_id
    if message.received_at is not None:
        payload[fields.received_at] = format_instant(message.received_at, fmt)
    return payload


def from_record(
    record: Mapping[str, Any], fields: MessageFields, fmt: TimeFormat = "iso"
) -> InboundMessage:
    """A message from a vendor record; a record that does not fit is a MappingError."""
    received = dig(record, fields.received_at)
    extracted = dig(record, fields.extracted)
    lead_id = dig(record, fields.lead_id)
    message_id = dig(record, fields.id)
    try:
        return InboundMessage(
            source=str(dig(record, fields.source) or ""),
            body=str(dig(record, fields.body) or ""),
            extracted=extracted if isinstance(extracted, Mapping) else {},
            score=dig(record, fields.score),
            routing=dig(record, fields.routing),
            lead_id=str(lead_id) if lead_id is not None else None,
            id=str(message_id) if message_id is not None else None,
            received_at=parse_instant(received, fmt) if received is not None else None,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise MappingError(f"message {where}: {first['msg']}") from None
