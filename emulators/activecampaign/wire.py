"""The JSON shapes ActiveCampaign v3 answers with, built from the account's records.

Numbers travel as strings (``"id": "113"``, ``"meta": {"total": "6"}``), instants carry
the account zone's offset, and every object has a ``links`` block, as in the reference.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leadbridge.emulators.activecampaign.account import (
    Account,
    ActivityRecord,
    Contact,
    CustomField,
    FieldOption,
    FieldRel,
    FieldValue,
    TrackingLog,
)

__all__ = [
    "activity_json",
    "contact_json",
    "field_json",
    "field_option_json",
    "field_rel_json",
    "field_value_json",
    "tracking_json",
]

_CONTACT_LINKS = (
    "bounceLogs",
    "contactAutomations",
    "contactData",
    "contactGoals",
    "contactLists",
    "contactLogs",
    "contactTags",
    "contactDeals",
    "deals",
    "fieldValues",
    "geoIps",
    "notes",
    "organization",
    "plusAppend",
    "trackingLogs",
    "scoreValues",
)


def _utc_plain(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%d %H:%M:%S")


def contact_json(account: Account, contact: Contact, base: str) -> dict[str, Any]:
    """A contact as ``GET /contacts`` lists it."""
    email_local, _, email_domain = contact.email.partition("@")
    cid = str(contact.id)
    return {
        "cdate": account.fmt(contact.cdate),
        "email": contact.email,
        "phone": contact.phone,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "orgid": "0",
        "orgname": "",
        "segmentio_id": "",
        "bounced_hard": "1" if contact.bounced_hard else "0",
        "bounced_soft": "1" if contact.bounced_soft else "0",
        "bounced_date": None,
        "ip": "0",
        "ua": None,
        "hash": f"{contact.id:032x}",
        "socialdata_lastcheck": None,
        "email_local": email_local,
        "email_domain": email_domain,
        "sentcnt": str(contact.sentcnt),
        "rating_tstamp": None,
        "gravatar": "0",
        "deleted": "0",
        "anonymized": "0",
        "adate": None,
        "udate": account.fmt(contact.udate),
        "edate": None,
        "deleted_at": None,
        "created_utc_timestamp": _utc_plain(contact.cdate),
        "updated_utc_timestamp": _utc_plain(contact.udate),
        "created_timestamp": _utc_plain(contact.cdate),
        "updated_timestamp": _utc_plain(contact.udate),
        "created_by": None,
        "updated_by": None,
        "email_empty": not contact.email,
        "mpp_tracking": "0",
        "scoreValues": [],
        "accountContacts": [],
        "links": {name: f"{base}/contacts/{cid}/{name}" for name in _CONTACT_LINKS},
        "id": cid,
        "organization": None,
    }


def field_json(
    account: Account, spec: CustomField, base: str, options: list[str]
) -> dict[str, Any]:
    """A custom field as ``/fields`` shows it."""
    fid = str(spec.id)
    return {
        "title": spec.title,
        "descript": spec.descript,
        "type": spec.type,
        "isrequired": "0",
        "perstag": spec.perstag,
        "defval": spec.defval,
        "show_in_list": "0",
        "rows": "0",
        "cols": "0",
        "visible": "1" if spec.visible else "0",
        "service": "",
        "ordernum": fid,
        "cdate": account.fmt(spec.cdate),
        "udate": account.fmt(spec.udate),
        "options": options,
        "relations": [],
        "links": {
            "options": f"{base}/fields/{fid}/options",
            "relations": f"{base}/fields/{fid}/relations",
        },
        "id": fid,
    }


def field_rel_json(account: Account, rel: FieldRel) -> dict[str, Any]:
    return {
        "field": str(rel.field),
        "relid": str(rel.relid),
        "dorder": "0",
        "cdate": account.fmt(rel.cdate),
        "links": [],
        "id": str(rel.id),
    }


def field_option_json(option: FieldOption) -> dict[str, Any]:
    return {
        "field": str(option.field),
        "orderid": str(option.orderid),
        "value": option.value,
        "label": option.label,
        "isdefault": "0",
        "links": [],
        "id": str(option.id),
    }


def field_value_json(account: Account, value: FieldValue, base: str) -> dict[str, Any]:
    vid = str(value.id)
    return {
        "contact": str(value.contact),
        "field": str(value.field),
        "value": value.value,
        "cdate": account.fmt(value.cdate),
        "udate": account.fmt(value.udate),
        "created_by": None,
        "updated_by": None,
        "links": {
            "owner": f"{base}/fieldValues/{vid}/owner",
            "field": f"{base}/fieldValues/{vid}/field",
        },
        "id": vid,
        "owner": str(value.contact),
    }


def activity_json(account: Account, record: ActivityRecord) -> dict[str, Any]:
    return {
        "tstamp": account.fmt(record.tstamp),
        "subscriberid": str(record.contact),
        "reference_type": record.reference_type,
        "reference_id": str(record.reference_id),
        "reference_action": record.reference_action,
        "jsonData": None,
        "userid": "1",
        "permission": "",
        "referenceModelName": record.model,
        "notes": [],
        "recipients": [],
        "reference": {"type": record.model, "id": str(record.reference_id)},
        "user": "1",
        "id": str(record.id),
    }


def tracking_json(account: Account, log: TrackingLog, base: str) -> dict[str, Any]:
    return {
        "subscriberid": str(log.contact),
        "type": log.type,
        "value": log.value,
        "tstamp": account.fmt(log.tstamp),
        "hash": f"{log.id:040x}",
        "links": {"contact": f"{base}/trackingLogs/{log.id}/contact"},
        "id": str(log.id),
        "contact": str(log.contact),
    }
