"""The sObjects the emulator knows: their fields, types, lengths and relationships.

A field's type drives three things the real platform does: how a value is rendered in
JSON (datetimes as ``2024-05-01T12:30:00.000+0000``), how a SOQL literal compares with
it, and how a written value is checked (length, precision, type) before it is stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

__all__ = [
    "FieldDef",
    "SObjectType",
    "base_schema",
    "format_date",
    "format_datetime",
    "parse_date",
    "parse_datetime",
]

TEXT_TYPES = frozenset({"string", "email", "phone", "picklist", "textarea", "url"})
NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})


@dataclass(frozen=True)
class FieldDef:
    """One field of an sObject, as describe() would report it."""

    name: str
    type: str
    label: str = ""
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    reference_to: tuple[str, ...] = ()
    updateable: bool = True
    createable: bool = True
    custom: bool = False
    needs_fls: bool = False
    """Created through the Tooling API: invisible to the API user until FLS is granted."""


@dataclass
class SObjectType:
    """An sObject: its key prefix and fields (looked up case-insensitively)."""

    name: str
    fields: dict[str, FieldDef] = field(default_factory=dict)
    _lower: dict[str, str] = field(default_factory=dict)

    def add(self, spec: FieldDef) -> None:
        self.fields[spec.name] = spec
        self._lower[spec.name.lower()] = spec.name

    def get(self, name: str) -> FieldDef | None:
        canonical = self._lower.get(name.lower())
        return self.fields[canonical] if canonical is not None else None

    def relationship(self, name: str) -> FieldDef | None:
        """The lookup field behind relationship `name` (``Account`` -> ``AccountId``)."""
        spec = self.get(name + "Id")
        if spec is not None and spec.type == "reference":
            return spec
        return None


def _f(name: str, type_: str, **extra: object) -> FieldDef:
    label = extra.pop("label", None) or name.replace("__c", "").replace("_", " ")
    return FieldDef(name=name, type=type_, label=str(label), **extra)  # type: ignore[arg-type]


def _audit() -> list[FieldDef]:
    ro = {"updateable": False, "createable": False}
    return [
        _f("Id", "id", **ro),
        _f("IsDeleted", "boolean", **ro),
        _f("CreatedDate", "datetime", **ro),
        _f("LastModifiedDate", "datetime", **ro),
        _f("SystemModstamp", "datetime", **ro),
    ]


def _person(mailing: bool) -> list[FieldDef]:
    place = (
        ("MailingCountry", "MailingState", "MailingCity")
        if mailing
        else (
            "Country",
            "State",
            "City",
        )
    )
    return [
        _f("FirstName", "string", length=40),
        _f("LastName", "string", length=80),
        _f("Name", "string", length=121, updateable=False, createable=False),
        _f("Title", "string", length=128),
        _f("Email", "email", length=80),
        _f("Phone", "phone", length=40),
        _f("MobilePhone", "phone", length=40),
        _f(place[0], "string", length=80),
        _f(place[1], "string", length=80),
        _f(place[2], "string", length=40),
        _f("LeadSource", "picklist", length=255),
        _f("HasOptedOutOfEmail", "boolean"),
        _f("DoNotCall", "boolean"),
        _f("OwnerId", "reference", reference_to=("User",)),
        _f("Language__c", "picklist", length=255, custom=True, label="Language"),
    ]


def base_schema() -> dict[str, SObjectType]:
    """Every sObject the emulator serves, with a standard org's fields."""
    defs: dict[str, list[FieldDef]] = {
        "Lead": [
            *_person(mailing=False),
            _f("Company", "string", length=255),
            _f("Industry", "picklist", length=255),
            _f("NumberOfEmployees", "int", precision=8, scale=0),
            _f("AnnualRevenue", "currency", precision=18, scale=0),
            _f("Status", "picklist", length=255),
            _f("Rating", "picklist", length=255),
            _f("IsConverted", "boolean", updateable=False),
            _f("ConvertedDate", "date", updateable=False),
            _f("ConvertedContactId", "reference", reference_to=("Contact",), updateable=False),
        ],
        "Contact": [
            *_person(mailing=True),
            _f("AccountId", "reference", reference_to=("Account",)),
            _f("Department", "string", length=80),
        ],
        "Account": [
            _f("Name", "string", length=255),
            _f("Industry", "picklist", length=255),
            _f("NumberOfEmployees", "int", precision=8, scale=0),
            _f("AnnualRevenue", "currency", precision=18, scale=0),
            _f("BillingCountry", "string", length=80),
            _f("BillingState", "string", length=80),
        ],
        "Task": [
            _f("WhoId", "reference", reference_to=("Contact", "Lead")),
            _f("WhatId", "reference", reference_to=("Account", "Campaign")),
            _f("Subject", "string", length=255),
            _f("TaskSubtype", "picklist", length=255, updateable=False),
            _f("Status", "picklist", length=255),
            _f("Priority", "picklist", length=255),
            _f("ActivityDate", "date"),
            _f("CompletedDateTime", "datetime", updateable=False, createable=False),
            _f("CallType", "picklist", length=255),
            _f("CallDisposition", "string", length=255),
            _f("CallDurationInSeconds", "int", precision=8, scale=0),
            _f("OwnerId", "reference", reference_to=("User",)),
        ],
        "Event": [
            _f("WhoId", "reference", reference_to=("Contact", "Lead")),
            _f("Subject", "string", length=255),
            _f("StartDateTime", "datetime"),
            _f("EndDateTime", "datetime"),
            _f("DurationInMinutes", "int", precision=8, scale=0),
            _f("EventSubtype", "picklist", length=255, updateable=False),
            _f("OwnerId", "reference", reference_to=("User",)),
        ],
        "Campaign": [
            _f("Name", "string", length=80),
            _f("Type", "picklist", length=255),
            _f("Status", "picklist", length=255),
            _f("StartDate", "date"),
            _f("IsActive", "boolean"),
        ],
        "CampaignMember": [
            _f("CampaignId", "reference", reference_to=("Campaign",), updateable=False),
            _f("LeadId", "reference", reference_to=("Lead",), updateable=False),
            _f("ContactId", "reference", reference_to=("Contact",), updateable=False),
            _f("Status", "picklist", length=255),
            _f("HasResponded", "boolean", updateable=False, createable=False),
            _f("FirstRespondedDate", "date", updateable=False, createable=False),
        ],
        "PermissionSet": [
            _f("Name", "string", length=80),
            _f("Label", "string", length=80),
            _f("IsOwnedByProfile", "boolean", updateable=False),
        ],
        "FieldPermissions": [
            _f("ParentId", "reference", reference_to=("PermissionSet",), updateable=False),
            _f("SobjectType", "string", length=255, updateable=False),
            _f("Field", "string", length=255, updateable=False),
            _f("PermissionsRead", "boolean"),
            _f("PermissionsEdit", "boolean"),
        ],
        "User": [
            _f("Username", "string", length=80),
            _f("Name", "string", length=121, updateable=False),
            _f("IsActive", "boolean"),
        ],
    }
    schema: dict[str, SObjectType] = {}
    for name, fields in defs.items():
        sobject = SObjectType(name)
        for spec in [*_audit(), *fields]:
            sobject.add(spec)
        schema[name] = sobject
    return schema


# -- value formats -----------------------------------------------------------------


def format_datetime(ms: int) -> str:
    """``2024-05-01T12:30:00.000+0000``: how the REST API renders a datetime."""
    seconds, millis = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}+0000"


def parse_datetime(text: str) -> int | None:
    """Epoch ms of an ISO 8601 datetime (``Z``, ``+0000`` or ``+00:00`` offsets); else None."""
    value = text.strip()
    if len(value) < 19 or value[10] not in "Tt":
        return None
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    elif len(value) >= 5 and value[-5] in "+-" and value[-4:].isdigit():
        value = value[:-2] + ":" + value[-2:]
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return int(parsed.timestamp() * 1000)


def format_date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date().isoformat()


def parse_date(text: str) -> str | None:
    """A ``YYYY-MM-DD`` date string, validated; else None."""
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return None
