"""Contact property definitions: HubSpot's standard ones and the value rules they enforce.

Writes are checked against these definitions exactly as HubSpot does it: an unknown
property or a read-only one is refused, numbers must parse, enumerations must use an
option value. That is what forces a connector to bootstrap its custom fields first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from leadbridge.emulators.common.timefmt import parse_instant, to_iso_ms

__all__ = [
    "STANDARD_GROUPS",
    "PropertyDef",
    "PropertyGroupDef",
    "check_value",
    "standard_contact_properties",
]

FIELD_TYPES_BY_TYPE: dict[str, set[str]] = {
    "string": {"text", "textarea", "html", "file", "phonenumber", "calculation_equation"},
    "number": {"number", "calculation_equation"},
    "bool": {"booleancheckbox", "calculation_equation"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox", "calculation_equation"},
    "date": {"date"},
    "datetime": {"date"},
    "phone_number": {"phonenumber", "text"},
}


@dataclass
class PropertyGroupDef:
    """A property group (`contactinformation`, or one a connector creates)."""

    name: str
    label: str
    display_order: int = -1
    archived: bool = False

    def to_json(self) -> dict[str, Any]:
        """The spec's `PropertyGroup`."""
        return {
            "name": self.name,
            "label": self.label,
            "displayOrder": self.display_order,
            "archived": self.archived,
        }


@dataclass
class PropertyDef:
    """One property definition, standard or custom."""

    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    description: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    read_only: bool = False
    calculated: bool = False
    hubspot_defined: bool = True
    has_unique_value: bool = False
    display_order: int = -1
    form_field: bool = False
    hidden: bool = False
    created_ms: int = 1_262_304_000_000
    updated_ms: int = 1_262_304_000_000
    external_options: bool = False
    referenced_object_type: str | None = None

    def option_values(self) -> set[str]:
        """Accepted enumeration values."""
        return {str(o["value"]) for o in self.options}

    def to_json(self) -> dict[str, Any]:
        """The spec's `Property`."""
        body: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": self.group_name,
            "description": self.description,
            "options": [dict(o) for o in self.options],
            "displayOrder": self.display_order,
            "calculated": self.calculated,
            "externalOptions": self.external_options,
            "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden,
            "formField": self.form_field,
            "archived": False,
            "createdAt": to_iso_ms(self.created_ms),
            "updatedAt": to_iso_ms(self.updated_ms),
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only,
            },
            "dataSensitivity": "non_sensitive",
        }
        if self.hubspot_defined:
            body["hubspotDefined"] = True
        if self.referenced_object_type:
            body["referencedObjectType"] = self.referenced_object_type
        return body


def check_value(prop: PropertyDef, value: object) -> tuple[str | None, str | None]:
    """`(normalised value, None)` if `value` may be written to `prop`, else `(None, reason)`.

    `""` clears a value, as in HubSpot. Dates and datetimes are stored as ISO strings.
    """
    if prop.read_only:
        return None, f'Property "{prop.name}" is a read only property; its value cannot be set.'
    if value is None:
        return "", None
    text = value if isinstance(value, str) else _scalar_text(value)
    if text is None:
        return None, f'Property "{prop.name}" expects a scalar value.'
    if text == "":
        return "", None
    if prop.type == "number":
        try:
            float(text)
        except ValueError:
            return None, f'"{text}" is not a valid number for property "{prop.name}".'
        return text, None
    if prop.type == "bool":
        if text.lower() not in {"true", "false"}:
            return None, f'"{text}" is not a valid boolean for property "{prop.name}".'
        return text.lower(), None
    if prop.type == "enumeration":
        allowed = prop.option_values()
        chosen = text.split(";") if prop.field_type == "checkbox" else [text]
        if not prop.external_options and any(c not in allowed for c in chosen):
            return None, f'"{text}" was not one of the allowed options: {sorted(allowed)}'
        return text, None
    if prop.type in {"date", "datetime"}:
        ms = parse_instant(text)
        if ms is None:
            return None, f'"{text}" is not a valid {prop.type} for property "{prop.name}".'
        return to_iso_ms(ms), None
    return text, None


def _scalar_text(value: object) -> str | None:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    return None


def _options(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"label": label, "value": value, "displayOrder": i, "hidden": False}
        for i, (value, label) in enumerate(pairs)
    ]


STANDARD_GROUPS: tuple[tuple[str, str, int], ...] = (
    ("contactinformation", "Contact information", 0),
    ("emailinformation", "Email information", 1),
    ("analyticsinformation", "Web analytics history", 2),
    ("conversioninformation", "Conversion information", 3),
    ("sales_properties", "Sales properties", 4),
    ("salesforceinformation", "Salesforce information", 5),
)

LIFECYCLE = _options(
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
)
LEAD_STATUS = _options(
    ("NEW", "New"),
    ("OPEN", "Open"),
    ("IN_PROGRESS", "In Progress"),
    ("OPEN_DEAL", "Open Deal"),
    ("UNQUALIFIED", "Unqualified"),
    ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
    ("CONNECTED", "Connected"),
    ("BAD_TIMING", "Bad Timing"),
)
NUM_EMPLOYEES = _options(
    *((v, v) for v in ("1-5", "5-25", "25-50", "50-100", "100-500", "500-1000", "1000+"))
)
LANGUAGES = _options(("fr", "French"), ("de", "German"), ("it", "Italian"), ("en", "English"))
SOURCES = _options(
    ("ORGANIC_SEARCH", "Organic Search"),
    ("PAID_SEARCH", "Paid Search"),
    ("EMAIL_MARKETING", "Email Marketing"),
    ("SOCIAL_MEDIA", "Organic Social"),
    ("REFERRALS", "Referrals"),
    ("OTHER_CAMPAIGNS", "Other Campaigns"),
    ("DIRECT_TRAFFIC", "Direct Traffic"),
    ("OFFLINE", "Offline Sources"),
    ("PAID_SOCIAL", "Paid Social"),
)
BOOL_OPTIONS = _options(("true", "Yes"), ("false", "No"))

# name, label, type, fieldType, group, read-only, extra
_STANDARD: tuple[tuple[str, str, str, str, str, bool, dict[str, Any]], ...] = (
    ("email", "Email", "string", "text", "contactinformation", False, {"form_field": True}),
    ("firstname", "First Name", "string", "text", "contactinformation", False, {}),
    ("lastname", "Last Name", "string", "text", "contactinformation", False, {}),
    ("phone", "Phone Number", "string", "phonenumber", "contactinformation", False, {}),
    (
        "mobilephone",
        "Mobile Phone Number",
        "string",
        "phonenumber",
        "contactinformation",
        False,
        {},
    ),
    ("company", "Company Name", "string", "text", "contactinformation", False, {}),
    ("jobtitle", "Job Title", "string", "text", "contactinformation", False, {}),
    ("industry", "Industry", "string", "text", "contactinformation", False, {}),
    (
        "numemployees",
        "Number of Employees",
        "enumeration",
        "select",
        "contactinformation",
        False,
        {"options": NUM_EMPLOYEES},
    ),
    ("website", "Website URL", "string", "text", "contactinformation", False, {}),
    ("address", "Street Address", "string", "text", "contactinformation", False, {}),
    ("city", "City", "string", "text", "contactinformation", False, {}),
    ("state", "State/Region", "string", "text", "contactinformation", False, {}),
    ("zip", "Postal Code", "string", "text", "contactinformation", False, {}),
    ("country", "Country/Region", "string", "text", "contactinformation", False, {}),
    (
        "hs_language",
        "Preferred language",
        "enumeration",
        "select",
        "contactinformation",
        False,
        {"options": LANGUAGES},
    ),
    (
        "lifecyclestage",
        "Lifecycle Stage",
        "enumeration",
        "radio",
        "contactinformation",
        False,
        {"options": LIFECYCLE},
    ),
    (
        "hs_lead_status",
        "Lead Status",
        "enumeration",
        "radio",
        "sales_properties",
        False,
        {"options": LEAD_STATUS},
    ),
    (
        "hubspot_owner_id",
        "Contact owner",
        "enumeration",
        "select",
        "sales_properties",
        False,
        {"external_options": True, "referenced_object_type": "OWNER"},
    ),
    ("createdate", "Create Date", "datetime", "date", "contactinformation", False, {}),
    (
        "lastmodifieddate",
        "Last Modified Date",
        "datetime",
        "date",
        "contactinformation",
        True,
        {"calculated": False},
    ),
    (
        "hs_lastmodifieddate",
        "Object last modified date/time",
        "datetime",
        "date",
        "contactinformation",
        True,
        {},
    ),
    ("hs_object_id", "Record ID", "number", "number", "contactinformation", True, {}),
    (
        "hs_email_open",
        "Marketing emails opened",
        "number",
        "number",
        "emailinformation",
        True,
        {"calculated": True},
    ),
    (
        "hs_email_click",
        "Marketing emails clicked",
        "number",
        "number",
        "emailinformation",
        True,
        {"calculated": True},
    ),
    (
        "hs_email_delivered",
        "Marketing emails delivered",
        "number",
        "number",
        "emailinformation",
        True,
        {"calculated": True},
    ),
    (
        "hs_email_bounce",
        "Marketing emails bounced",
        "number",
        "number",
        "emailinformation",
        True,
        {"calculated": True},
    ),
    (
        "hs_email_optout",
        "Unsubscribed from all email",
        "bool",
        "booleancheckbox",
        "emailinformation",
        True,
        {"options": BOOL_OPTIONS},
    ),
    (
        "hs_email_last_open_date",
        "Last marketing email open date",
        "datetime",
        "date",
        "emailinformation",
        True,
        {},
    ),
    (
        "hs_email_last_click_date",
        "Last marketing email click date",
        "datetime",
        "date",
        "emailinformation",
        True,
        {},
    ),
    (
        "hs_sales_email_last_replied",
        "Recent Sales Email Replied Date",
        "datetime",
        "date",
        "emailinformation",
        True,
        {},
    ),
    (
        "hs_analytics_num_page_views",
        "Number of Pageviews",
        "number",
        "number",
        "analyticsinformation",
        True,
        {"calculated": True},
    ),
    (
        "hs_analytics_num_visits",
        "Number of Sessions",
        "number",
        "number",
        "analyticsinformation",
        True,
        {"calculated": True},
    ),
    (
        "hs_analytics_first_timestamp",
        "Time First Seen",
        "datetime",
        "date",
        "analyticsinformation",
        True,
        {},
    ),
    (
        "hs_analytics_last_visit_timestamp",
        "Time of Last Session",
        "datetime",
        "date",
        "analyticsinformation",
        True,
        {},
    ),
    (
        "hs_analytics_source",
        "Original Traffic Source",
        "enumeration",
        "select",
        "analyticsinformation",
        True,
        {"options": SOURCES},
    ),
    (
        "num_conversion_events",
        "Number of Form Submissions",
        "number",
        "number",
        "conversioninformation",
        True,
        {"calculated": True},
    ),
    (
        "first_conversion_date",
        "First Conversion Date",
        "datetime",
        "date",
        "conversioninformation",
        True,
        {},
    ),
    (
        "recent_conversion_date",
        "Recent Conversion Date",
        "datetime",
        "date",
        "conversioninformation",
        True,
        {},
    ),
    (
        "hs_lifecyclestage_lead_date",
        "Became a Lead Date",
        "datetime",
        "date",
        "contactinformation",
        True,
        {"calculated": True},
    ),
    (
        "hs_lifecyclestage_marketingqualifiedlead_date",
        "Became a Marketing Qualified Lead Date",
        "datetime",
        "date",
        "contactinformation",
        True,
        {"calculated": True},
    ),
    (
        "hs_lifecyclestage_salesqualifiedlead_date",
        "Became a Sales Qualified Lead Date",
        "datetime",
        "date",
        "contactinformation",
        True,
        {"calculated": True},
    ),
    (
        "hs_lifecyclestage_customer_date",
        "Became a Customer Date",
        "datetime",
        "date",
        "contactinformation",
        True,
        {"calculated": True},
    ),
    ("notes_last_contacted", "Last Contacted", "datetime", "date", "sales_properties", True, {}),
    (
        "num_contacted_notes",
        "Number of times contacted",
        "number",
        "number",
        "sales_properties",
        True,
        {"calculated": True},
    ),
)


def standard_contact_properties() -> dict[str, PropertyDef]:
    """A fresh copy of HubSpot's standard contact properties the generator fills."""
    props: dict[str, PropertyDef] = {}
    for order, (name, label, type_, field_type, group, read_only, extra) in enumerate(_STANDARD):
        props[name] = PropertyDef(
            name=name,
            label=label,
            type=type_,
            field_type=field_type,
            group_name=group,
            read_only=read_only,
            display_order=order,
            **extra,
        )
    return props
