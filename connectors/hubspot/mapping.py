"""HubSpot contacts to the common schema: `Lead`, `Outcome` and rollup `Activity`.

HubSpot sends every property value as a string (or null), so each field is parsed here
with its own rule; a value that cannot mean what the field promises (an email without
``@``, a head-count of ``"lots"``) makes the record a `RecordError` reject instead of a
guess, and the sync carries on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from leadbridge.connectors.hubspot.config import HubSpotConfig
from leadbridge.connectors.hubspot.search import parse_instant_ms
from leadbridge.core.errors import MappingError
from leadbridge.core.models import (
    Activity,
    Channel,
    Consent,
    Lead,
    Outcome,
    OutcomeStatus,
    RecordError,
)
from leadbridge.core.redaction import redact

__all__ = [
    "CONTACT_CURSOR",
    "ROLLUPS",
    "ContactMapper",
    "MappedContact",
    "lead_key",
    "reject",
    "to_datetime",
]

SOURCE = "hubspot"
CONTACT_CURSOR = "lastmodifieddate"
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z]{2,}$")
_RANGE = re.compile(r"^\s*(\d[\d,' ]*)\s*(?:[-–]\s*\d[\d,' ]*|\+)?\s*$")
_PHONE = re.compile(r"^\+?[\d\s().\-/]+$")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}
_PAYLOAD_LIMIT = 2000


@dataclass(frozen=True)
class Rollup:
    """A counter property on the contact and the 'last time' property that dates it."""

    count_property: str
    last_property: str | None
    kind: str
    channel: Channel


ROLLUPS: tuple[Rollup, ...] = (
    Rollup(
        "hs_analytics_num_page_views",
        "hs_analytics_last_visit_timestamp",
        "page_view:other",
        Channel.WEB,
    ),
    Rollup(
        "hs_analytics_num_visits", "hs_analytics_last_visit_timestamp", "site_visit", Channel.WEB
    ),
    Rollup("hs_email_open", "hs_email_last_open_date", "email_open", Channel.EMAIL),
    Rollup("hs_email_click", "hs_email_last_click_date", "email_click", Channel.EMAIL),
    Rollup("num_conversion_events", "recent_conversion_date", "form_submit", Channel.WEB),
)
"""The cheapest activity signal: counters HubSpot keeps on the contact itself."""

WON_STAGES = frozenset({"customer", "evangelist"})
STAGE_DATES: dict[str, str] = {
    "mql_at": "hs_lifecyclestage_marketingqualifiedlead_date",
    "sql_at": "hs_lifecyclestage_salesqualifiedlead_date",
}
"""`Lead.custom` key -> the HubSpot date a lead reached that stage (funnel velocity KPIs)."""
LOST_LEAD_STATUSES = frozenset({"UNQUALIFIED"})


def lead_key(contact_id: str) -> str:
    """The leadbridge key of a lead first seen in HubSpot."""
    return f"{SOURCE}:{contact_id}"


def to_datetime(value: object, prop: str) -> datetime | None:
    """A HubSpot instant as an aware datetime; None if unset; MappingError if garbage."""
    if value is None or value == "":
        return None
    ms = parse_instant_ms(value)
    if ms is None:
        raise MappingError(f"{prop}: {_show(value)} is not a date")
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def reject(stream: str, record_id: str | None, reason: str, record: Any) -> RecordError:
    """A dead-letter entry: the reason plus the raw record, redacted and truncated."""
    payload = _payload(record)
    return RecordError(
        stream=stream,
        record_id=record_id or None,
        reason=redact(" ".join(reason.split()))[:500],
        payload=payload,
    )


def _payload(record: Any) -> str:
    if hasattr(record, "to_dict"):
        try:
            record = record.to_dict()
        except (TypeError, ValueError, AttributeError):
            record = repr(record)
    text = orjson.dumps(record, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    text = redact(text)
    return text[:_PAYLOAD_LIMIT] + ("…" if len(text) > _PAYLOAD_LIMIT else "")


def _show(value: object) -> str:
    text = repr(value)
    return text[:60] + ("…" if len(text) > 60 else "")


def _text(props: Mapping[str, Any], name: str) -> str | None:
    value = props.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MappingError(f"{name}: expected text, got {type(value).__name__}")
    value = value.strip()
    return value or None


def _bool(props: Mapping[str, Any], name: str) -> bool | None:
    value = props.get(name)
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False if text else None
    raise MappingError(f"{name}: {_show(value)} is not a boolean")


def _email(props: Mapping[str, Any]) -> str | None:
    email = _text(props, "email")
    if email is None:
        return None
    if not _EMAIL.match(email):
        raise MappingError(f"email: {_show(email)} is not an email address")
    return email


def _company_size(props: Mapping[str, Any]) -> int | None:
    """``numemployees``: a number or HubSpot's band (``25-50``, ``1000+``) -> lower bound."""
    raw = _text(props, "numemployees")
    if raw is None:
        return None
    match = _RANGE.match(raw)
    if match is None:
        raise MappingError(f"numemployees: {_show(raw)} is not a head-count")
    return int(re.sub(r"[,' ]", "", match.group(1)))


def _number(props: Mapping[str, Any], name: str) -> float | None:
    raw = _text(props, name)
    if raw is None:
        return None
    try:
        value = float(raw.replace(",", "").replace("'", ""))
    except ValueError:
        raise MappingError(f"{name}: {_show(raw)} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise MappingError(f"{name}: {_show(raw)} is not a finite number")
    return value


def _count(props: Mapping[str, Any], name: str) -> int:
    value = _number(props, name)
    if value is None:
        return 0
    if value < 0 or value != int(value):
        raise MappingError(f"{name}: {_show(props.get(name))} is not a count")
    return int(value)


@dataclass(frozen=True)
class MappedContact:
    """What one contact record contributes to a page."""

    lead: Lead
    outcomes: tuple[Outcome, ...] = ()
    activities: tuple[Activity, ...] = field(default=())


class ContactMapper:
    """Maps SDK contact records (``SimplePublicObject``) with the connection's settings."""

    def __init__(self, config: HubSpotConfig) -> None:
        self.config = config

    def properties(self, *, rollups: bool) -> list[str]:
        """Contact properties to request: the scorer's needs, ids, cursor and counters."""
        wanted = [*self.config.properties, *self.config.custom_properties]
        if self.config.objection_property:
            wanted.append(self.config.objection_property)
        wanted += ["hs_object_id", CONTACT_CURSOR, "createdate", *STAGE_DATES.values()]
        if rollups:
            for rollup in ROLLUPS:
                wanted.append(rollup.count_property)
                if rollup.last_property:
                    wanted.append(rollup.last_property)
        return list(dict.fromkeys(wanted))

    def map(self, record: Any, *, rollups: bool) -> MappedContact:
        """One contact; raises `MappingError` with a one-line reason when it cannot map."""
        contact_id = str(getattr(record, "id", "") or "").strip()
        if not contact_id.isdigit():
            raise MappingError(f"id: {_show(getattr(record, 'id', None))} is not a HubSpot id")
        props = getattr(record, "properties", None)
        if not isinstance(props, dict):
            raise MappingError("properties: missing or not an object")
        updated = to_datetime(props.get(CONTACT_CURSOR), CONTACT_CURSOR) or _aware(
            getattr(record, "updated_at", None)
        )
        created = to_datetime(props.get("createdate"), "createdate") or _aware(
            getattr(record, "created_at", None)
        )
        key = lead_key(contact_id)
        try:
            lead = Lead(
                key=key,
                source_ids={SOURCE: contact_id},
                email=_email(props),
                phone=_phone(_text(props, "phone")) or _phone(_text(props, "mobilephone")),
                first_name=_text(props, "firstname"),
                last_name=_text(props, "lastname"),
                company=_text(props, "company"),
                job_title=_text(props, "jobtitle"),
                seniority=_text(props, "hs_seniority"),
                industry=_text(props, "industry"),
                company_size=_company_size(props),
                annual_revenue=_number(props, "annualrevenue"),
                country=_text(props, "country"),
                region=_text(props, "state"),
                language=_language(_text(props, "hs_language")),
                consent=self._consent(props),
                lifecycle_stage=_text(props, "lifecyclestage"),
                owner=_text(props, "hubspot_owner_id"),
                source=_text(props, "hs_analytics_source"),
                created_at=created,
                updated_at=updated,
                custom=self._custom(props),
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise MappingError(f"{where}: {first['msg']}") from None
        outcomes = self._outcomes(key, props, updated)
        activities = self._rollups(key, contact_id, props, updated) if rollups else ()
        return MappedContact(lead, outcomes, activities)

    def _custom(self, props: Mapping[str, Any]) -> dict[str, str | None]:
        """Configured custom properties, plus the funnel stage dates HubSpot stamped."""
        custom = {name: _text(props, name) for name in self.config.custom_properties}
        for key, prop in STAGE_DATES.items():
            when = to_datetime(props.get(prop), prop)
            if when is not None:
                custom[key] = when.isoformat().replace("+00:00", "Z")
        return custom

    def _consent(self, props: Mapping[str, Any]) -> Consent:
        optout = _bool(props, "hs_email_optout")
        objects = (
            _bool(props, self.config.objection_property) if self.config.objection_property else None
        )
        return Consent(
            marketing_email=False if optout else None,
            objects_to_profiling=bool(objects),
        )

    def _outcomes(
        self, key: str, props: Mapping[str, Any], updated: datetime | None
    ) -> tuple[Outcome, ...]:
        stage = (_text(props, "lifecyclestage") or "").lower()
        status = (_text(props, "hs_lead_status") or "").upper()
        if stage in WON_STAGES:
            at = to_datetime(props.get("hs_lifecyclestage_customer_date"), "customer date")
            when = at or updated
            if when is None:
                return ()
            return (
                Outcome(
                    lead_key=key, status=OutcomeStatus.WON, at=when, source=SOURCE, detail=stage
                ),
            )
        if status in LOST_LEAD_STATUSES and updated is not None:
            return (
                Outcome(
                    lead_key=key,
                    status=OutcomeStatus.LOST,
                    at=updated,
                    source=SOURCE,
                    detail=status,
                ),
            )
        return ()

    def _rollups(
        self, key: str, contact_id: str, props: Mapping[str, Any], updated: datetime | None
    ) -> tuple[Activity, ...]:
        """Counters as activities; `source_id` is stable so a re-read replaces, not adds."""
        out: list[Activity] = []
        for rollup in ROLLUPS:
            count = _count(props, rollup.count_property)
            if count <= 0:
                continue
            last = (
                to_datetime(props.get(rollup.last_property), rollup.last_property)
                if rollup.last_property
                else None
            )
            when = last or updated
            if when is None:
                continue
            out.append(
                Activity(
                    lead_key=key,
                    channel=rollup.channel,
                    kind=rollup.kind,
                    occurred_at=when,
                    source=SOURCE,
                    source_id=f"rollup:{contact_id}:{rollup.count_property}",
                    count=count,
                    attributes={"rollup": rollup.count_property},
                )
            )
        return tuple(out)


def _phone(value: str | None) -> str | None:
    """A dialable number or None: junk such as ``n/a`` is dropped, not worth a reject."""
    if value is None or not _PHONE.match(value):
        return None
    return value if sum(c.isdigit() for c in value) >= 6 else None


def _language(value: str | None) -> str | None:
    if value is None:
        return None
    return value.replace("_", "-").split("-")[0].lower() or None


def _aware(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return None
