"""What each sender posts, turned into vendor-neutral events before they are queued.

An `InboundEvent` carries the sender's own id for it (the replay/duplicate key), what to
do (re-read records, drop records, analyse a message) and the record ids concerned:

- **HubSpot**: a JSON array (at most 100) of ``{eventId, subscriptionType, objectId,
  mergedObjectIds?, ...}``; ``contact.deletion``/``privacyDeletion`` drop the contact, a
  merge re-reads the winner and drops the merged ids, anything else re-reads.
- **Salesforce outbound messages**: SOAP ``notifications`` (at most 100) whose
  ``Notification/Id`` is the key and ``sObject/Id`` the record; the org id must match.
- **Salesforce change events** (relayed as JSON): ``ChangeEventHeader`` with
  ``changeType`` and ``recordIds``; the key is the transaction key and sequence number.
- **ActiveCampaign**: one form-encoded event with PHP-style keys (``contact[id]``); it
  sends no id, so the key is a hash of the body (an identical repost is a duplicate).
- **BOMA**: one inbound chat message ``{message_id, lead_id, lead_source, message_body,
  received_at}`` (seed 001) to analyse, post back analysed and score.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl
from xml.etree.ElementTree import Element

import orjson
from defusedxml import ElementTree as SafeXml
from defusedxml.common import DefusedXmlException
from pydantic import BaseModel, ConfigDict, Field

from leadbridge.sync.webhooks.signatures import WebhookRejected

__all__ = [
    "InboundEvent",
    "activecampaign_events",
    "boma_events",
    "hubspot_events",
    "salesforce_ack",
    "salesforce_cdc_events",
    "salesforce_outbound_events",
]

Action = Literal["refresh", "delete", "message"]

MAX_EVENTS = 100
_DROP = {"contact.deletion", "contact.privacyDeletion"}
_SOAP = "{http://schemas.xmlsoap.org/soap/envelope/}"
_OM = "{http://soap.sforce.com/2005/09/outbound}"
_SOBJECT = "urn:sobject.enterprise.soap.sforce.com"


class InboundEvent(BaseModel):
    """One event as the queue stores it."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(min_length=1, max_length=200, description="The sender's id: dedupe key.")
    action: Action
    object_ids: tuple[str, ...] = ()
    kind: str = Field("", description="The sender's event type, for logs and metrics.")
    occurred_at: datetime | None = None
    detail: dict[str, Any] = Field(default_factory=dict)


def _bad(message: str) -> WebhookRejected:
    return WebhookRejected(message, status=400, reason="malformed")


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _bad("body is not JSON") from None


def _ms(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value / 1000.0, UTC)
    return None


def hubspot_events(body: bytes) -> list[InboundEvent]:
    """HubSpot's event array (v3 subscriptions)."""
    data = _json(body)
    if not isinstance(data, list):
        raise _bad("HubSpot webhook body must be a JSON array")
    if len(data) > MAX_EVENTS:
        raise _bad(f"{len(data)} events in one request; HubSpot sends at most {MAX_EVENTS}")
    events: list[InboundEvent] = []
    for item in data:
        if not isinstance(item, Mapping) or item.get("eventId") is None:
            raise _bad("every HubSpot event needs an eventId")
        kind = str(item.get("subscriptionType") or "")
        object_id = str(item.get("objectId") or "")
        merged = [str(i) for i in item.get("mergedObjectIds") or [] if str(i) != object_id]
        detail = {
            k: item[k]
            for k in ("attemptNumber", "portalId", "propertyName", "changeSource")
            if k in item
        }
        common = {"kind": kind, "occurred_at": _ms(item.get("occurredAt")), "detail": detail}
        key = f"hubspot:{item['eventId']}"
        if kind in _DROP:
            events.append(InboundEvent(key=key, action="delete", object_ids=(object_id,), **common))
        elif kind.endswith(".merge") and merged:
            events.append(
                InboundEvent(key=key, action="refresh", object_ids=(object_id,), **common)
            )
            events.append(
                InboundEvent(
                    key=f"{key}:merged", action="delete", object_ids=tuple(merged), **common
                )
            )
        elif object_id:
            events.append(
                InboundEvent(key=key, action="refresh", object_ids=(object_id,), **common)
            )
    return events


def _text(node: Element | None) -> str:
    return (node.text or "").strip() if node is not None else ""


def _same_org(presented: str, expected: str) -> bool:
    """Salesforce ids come as 15 (case-sensitive) or 18 characters; compare the 15."""
    return presented[:15] == expected[:15] and len(presented) in (15, 18)


def salesforce_outbound_events(body: bytes, *, organization_id: str | None) -> list[InboundEvent]:
    """A SOAP outbound message: notification ids and the records they carry."""
    try:
        root = SafeXml.fromstring(body)
    except (SafeXml.ParseError, DefusedXmlException, ValueError):
        raise _bad("body is not a valid SOAP message") from None
    notifications = root.find(f"{_SOAP}Body/{_OM}notifications")
    if notifications is None:
        raise _bad("no notifications element in the SOAP body")
    org = _text(notifications.find(f"{_OM}OrganizationId"))
    if organization_id is not None and not _same_org(org, organization_id):
        raise WebhookRejected("outbound message from another organization", reason="signature")
    items = notifications.findall(f"{_OM}Notification")
    if len(items) > MAX_EVENTS:
        raise _bad(f"{len(items)} notifications; Salesforce sends at most {MAX_EVENTS}")
    events: list[InboundEvent] = []
    for item in items:
        notification_id = _text(item.find(f"{_OM}Id"))
        sobject = item.find(f"{_OM}sObject")
        record_id = _text(sobject.find(f"{{{_SOBJECT}}}Id")) if sobject is not None else ""
        if not notification_id or not record_id:
            raise _bad("every notification needs an Id and an sObject Id")
        kind = ""
        if sobject is not None:
            kind = sobject.get("{http://www.w3.org/2001/XMLSchema-instance}type", "")
        events.append(
            InboundEvent(
                key=f"salesforce:{notification_id}",
                action="refresh",
                object_ids=(record_id,),
                kind=kind.split(":")[-1] or "sObject",
            )
        )
    return events


def salesforce_ack(ok: bool = True) -> bytes:
    """The SOAP acknowledgement Salesforce waits for (false makes it retry)."""
    flag = "true" if ok else "false"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soapenv:Body>"
        '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<Ack>{flag}</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"
    ).encode()


def salesforce_cdc_events(body: bytes) -> list[InboundEvent]:
    """Change events (one object or an array) as a Pub/Sub relay posts them."""
    data = _json(body)
    items = data if isinstance(data, list) else [data]
    if len(items) > MAX_EVENTS:
        raise _bad(f"{len(items)} change events in one request (at most {MAX_EVENTS})")
    events: list[InboundEvent] = []
    for item in items:
        header = item.get("ChangeEventHeader") if isinstance(item, Mapping) else None
        if not isinstance(header, Mapping):
            raise _bad("every change event needs a ChangeEventHeader")
        change = str(header.get("changeType") or "")
        ids = tuple(str(i) for i in header.get("recordIds") or [])
        transaction = header.get("transactionKey")
        sequence = header.get("sequenceNumber")
        replay = item.get("replayId") if isinstance(item, Mapping) else None
        if transaction is None and replay is None:
            raise _bad("a change event needs a transactionKey or a replayId")
        key = (
            f"salesforce-cdc:{transaction}:{sequence}"
            if transaction is not None
            else f"salesforce-cdc:replay:{replay}"
        )
        common = {"kind": change, "occurred_at": _ms(header.get("commitTimestamp"))}
        if change.startswith("GAP_"):
            # The bus lost the details: re-read everything changed since the cursor.
            events.append(InboundEvent(key=key, action="refresh", **common))
        elif change == "DELETE":
            events.append(InboundEvent(key=key, action="delete", object_ids=ids, **common))
        else:
            events.append(InboundEvent(key=key, action="refresh", object_ids=ids, **common))
    return events


def php_form(body: bytes) -> dict[str, Any]:
    """PHP-style form keys (``contact[fields][0][value]``) as nested dicts."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise _bad("form body is not UTF-8") from None
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        head, _, rest = raw_key.partition("[")
        parts = [head] + ([p.rstrip("]") for p in ("[" + rest).split("[")[1:]] if rest else [])
        node = root
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                child = node[part] = {"": child}
            node = child
        node[parts[-1]] = value
    return root


def activecampaign_events(body: bytes) -> list[InboundEvent]:
    """One ActiveCampaign webhook (form-encoded, one event per request)."""
    form = php_form(body)
    kind = str(form.get("type") or "")
    if not kind:
        raise _bad("ActiveCampaign webhook without a 'type'")
    contact = form.get("contact")
    contact_id = str(contact.get("id") or "") if isinstance(contact, Mapping) else ""
    key = "activecampaign:" + hashlib.sha256(body).hexdigest()
    detail = {"type": kind, "date_time": form.get("date_time"), "source": form.get("initiated_by")}
    if not contact_id:
        return []  # deal/account events say nothing about a lead
    return [
        InboundEvent(key=key, action="refresh", object_ids=(contact_id,), kind=kind, detail=detail)
    ]


def boma_events(body: bytes) -> list[InboundEvent]:
    """One inbound BOMA message to analyse (seed 001)."""
    data = _json(body)
    if not isinstance(data, Mapping):
        raise _bad("BOMA message body must be a JSON object")
    text = data.get("message_body")
    source = data.get("lead_source")
    if not isinstance(text, str) or not text.strip():
        raise _bad("message_body is required text")
    if not isinstance(source, str) or not source.strip():
        raise _bad("lead_source is required text")
    lead_id = data.get("lead_id")
    message_id = data.get("message_id")
    received = data.get("received_at")
    key = (
        f"boma:{message_id}"
        if message_id is not None
        else "boma:" + hashlib.sha256(body).hexdigest()
    )
    detail = {
        "lead_source": source,
        "message_body": text,
        "received_at": received if isinstance(received, str) else None,
    }
    return [
        InboundEvent(
            key=key,
            action="message",
            object_ids=(str(lead_id),) if lead_id is not None else (),
            kind="message",
            detail=detail,
        )
    ]
