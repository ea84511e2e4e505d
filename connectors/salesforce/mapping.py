"""Salesforce records to the common schema: `Lead`, `Outcome` and `Activity`.

Leads and Contacts both become `Lead`s (key ``salesforce:<18-char id>``). A converted
Lead is a win (at ``ConvertedDate``), a Lead in a configured closed status a loss.
Tasks become e-mails and calls, Events meetings, and campaign memberships become
webinar, trade-show or e-mail kinds from the campaign's type and the member's status.
A value that cannot mean what its field promises makes the record a `RecordError`
reject, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from leadbridge.connectors.salesforce.config import SalesforceConfig
from leadbridge.core.errors import MappingError
from leadbridge.core.models import (
    Activity,
    Consent,
    Lead,
    Outcome,
    OutcomeStatus,
    RecordError,
)
from leadbridge.core.redaction import redact
from leadbridge.core.vocabulary import channel_of

__all__ = [
    "CONTACT_FIELDS",
    "LEAD_FIELDS",
    "SOURCE",
    "ActivityMapper",
    "MappedPerson",
    "PersonMapper",
    "lead_key",
    "parse_instant",
    "reject",
]

SOURCE = "salesforce"
LEAD_PREFIX, CONTACT_PREFIX = "00Q", "003"
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z]{2,}$")
_REPLY = re.compile(r"^\s*(re|aw|tr|r|sv|antw)\s*:", re.IGNORECASE)
_LANGUAGES = {
    "french": "fr",
    "français": "fr",
    "francais": "fr",
    "german": "de",
    "deutsch": "de",
    "italian": "it",
    "italiano": "it",
    "english": "en",
}
_PAYLOAD_LIMIT = 2000

LEAD_FIELDS: tuple[str, ...] = (
    "Id",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "MobilePhone",
    "Company",
    "Title",
    "Industry",
    "NumberOfEmployees",
    "AnnualRevenue",
    "Country",
    "State",
    "LeadSource",
    "Status",
    "IsConverted",
    "ConvertedDate",
    "HasOptedOutOfEmail",
    "DoNotCall",
    "OwnerId",
    "CreatedDate",
    "SystemModstamp",
)
CONTACT_FIELDS: tuple[str, ...] = (
    "Id",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "MobilePhone",
    "Title",
    "Department",
    "MailingCountry",
    "MailingState",
    "LeadSource",
    "HasOptedOutOfEmail",
    "DoNotCall",
    "OwnerId",
    "Account.Name",
    "Account.Industry",
    "Account.NumberOfEmployees",
    "Account.AnnualRevenue",
    "CreatedDate",
    "SystemModstamp",
)
TASK_FIELDS: tuple[str, ...] = (
    "Id",
    "WhoId",
    "Subject",
    "TaskSubtype",
    "Status",
    "ActivityDate",
    "CompletedDateTime",
    "CallDisposition",
    "CallDurationInSeconds",
    "CreatedDate",
    "SystemModstamp",
)
EVENT_FIELDS: tuple[str, ...] = (
    "Id",
    "WhoId",
    "Subject",
    "StartDateTime",
    "DurationInMinutes",
    "CreatedDate",
    "SystemModstamp",
)
MEMBER_FIELDS: tuple[str, ...] = (
    "Id",
    "LeadId",
    "ContactId",
    "Status",
    "HasResponded",
    "FirstRespondedDate",
    "Campaign.Name",
    "Campaign.Type",
    "CreatedDate",
    "SystemModstamp",
)


def lead_key(record_id: str) -> str:
    """The leadbridge key of a person first seen in Salesforce."""
    return f"{SOURCE}:{record_id}"


def parse_instant(value: object, field: str) -> datetime | None:
    """A Salesforce datetime (``…T…+0000``) or date as an aware datetime; None if unset."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MappingError(f"{field}: {_show(value)} is not a date")
    text = value.strip()
    if len(text) == 10:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise MappingError(f"{field}: {_show(value)} is not a date") from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit():
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise MappingError(f"{field}: {_show(value)} is not a date") from None
    if parsed.tzinfo is None:
        raise MappingError(f"{field}: {_show(value)} has no UTC offset")
    return parsed


def reject(stream: str, record_id: str | None, reason: str, record: Any) -> RecordError:
    """A dead-letter entry: the reason plus the raw record, redacted and truncated."""
    text = redact(orjson.dumps(record, default=str).decode())
    payload = text[:_PAYLOAD_LIMIT] + ("…" if len(text) > _PAYLOAD_LIMIT else "")
    return RecordError(
        stream=stream,
        record_id=record_id or None,
        reason=redact(" ".join(reason.split()))[:500],
        payload=payload,
    )


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "…"


def _text(record: Mapping[str, Any], field: str) -> str | None:
    value = record.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MappingError(f"{field}: {_show(value)} is not text")
    return value.strip() or None


def _number(record: Mapping[str, Any], field: str) -> float | None:
    value = record.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MappingError(f"{field}: {_show(value)} is not a number")
    return float(value)


def _flag(record: Mapping[str, Any], field: str) -> bool | None:
    value = record.get(field)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise MappingError(f"{field}: {_show(value)} is not a boolean")
    return value


@dataclass(frozen=True)
class MappedPerson:
    """A lead and, for Leads, the outcome its status implies."""

    lead: Lead
    outcome: Outcome | None
    converted: bool


class PersonMapper:
    """Lead and Contact records to `Lead` (+ `Outcome`)."""

    def __init__(self, config: SalesforceConfig) -> None:
        self.config = config
        self.lost = {s.lower() for s in config.lost_statuses}

    def fields(self, sobject: str) -> list[str]:
        base = list(LEAD_FIELDS if sobject == "Lead" else CONTACT_FIELDS)
        extra = [self.config.language_field] if self.config.language_field else []
        for name in [*extra, *self.config.custom_fields]:
            if name not in base:
                base.append(name)
        return base

    def map(self, sobject: str, record: Mapping[str, Any]) -> MappedPerson:
        record_id = _text(record, "Id")
        if not record_id:
            raise MappingError("record without Id")
        email = _text(record, "Email")
        if email is not None and not _EMAIL.match(email):
            raise MappingError(f"Email: {_show(email)} is not an e-mail address")
        if sobject == "Lead":
            company, industry = _text(record, "Company"), _text(record, "Industry")
            size, revenue = _number(record, "NumberOfEmployees"), _number(record, "AnnualRevenue")
            country, region = _text(record, "Country"), _text(record, "State")
            stage = _text(record, "Status")
        else:
            account = record.get("Account")
            account = account if isinstance(account, Mapping) else {}
            company, industry = _text(account, "Name"), _text(account, "Industry")
            size, revenue = _number(account, "NumberOfEmployees"), _number(account, "AnnualRevenue")
            country, region = _text(record, "MailingCountry"), _text(record, "MailingState")
            stage = "contact"
        opted_out = _flag(record, "HasOptedOutOfEmail")
        custom = {name: _scalar(record.get(name)) for name in self.config.custom_fields}
        try:
            lead = Lead(
                key=lead_key(record_id),
                source_ids={SOURCE: record_id},
                email=email,
                phone=_text(record, "Phone") or _text(record, "MobilePhone"),
                first_name=_text(record, "FirstName"),
                last_name=_text(record, "LastName"),
                company=company,
                job_title=_text(record, "Title"),
                industry=industry,
                company_size=int(size) if size is not None else None,
                annual_revenue=revenue,
                country=country,
                region=region,
                language=self._language(record),
                consent=Consent(
                    marketing_email=None if opted_out is None else not opted_out,
                    do_not_call=bool(_flag(record, "DoNotCall")),
                ),
                lifecycle_stage=stage,
                owner=_text(record, "OwnerId"),
                source=_text(record, "LeadSource"),
                created_at=parse_instant(record.get("CreatedDate"), "CreatedDate"),
                updated_at=parse_instant(record.get("SystemModstamp"), "SystemModstamp"),
                custom=custom,
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise MappingError(f"{where}: {first['msg']}") from None
        converted = sobject == "Lead" and bool(_flag(record, "IsConverted"))
        if converted:  # Salesforce rejects updates on converted Leads
            lead = lead.model_copy(update={"read_only": True})
        return MappedPerson(lead, self._outcome(lead, record, converted), converted)

    def _language(self, record: Mapping[str, Any]) -> str | None:
        if not self.config.language_field:
            return None
        value = _text(record, self.config.language_field)
        if value is None:
            return None
        lowered = value.lower()
        return _LANGUAGES.get(lowered, lowered[:2] if len(lowered) >= 2 else None)

    def _outcome(self, lead: Lead, record: Mapping[str, Any], converted: bool) -> Outcome | None:
        if converted:
            at = parse_instant(record.get("ConvertedDate"), "ConvertedDate") or lead.updated_at
            if at is None:
                raise MappingError("converted lead without ConvertedDate")
            return Outcome(
                lead_key=lead.key,
                status=OutcomeStatus.WON,
                at=at,
                source=SOURCE,
                detail="converted",
            )
        status = (lead.lifecycle_stage or "").lower()
        if status in self.lost and lead.updated_at is not None:
            return Outcome(
                lead_key=lead.key,
                status=OutcomeStatus.LOST,
                at=lead.updated_at,
                source=SOURCE,
                detail=lead.lifecycle_stage,
            )
        return None


def _scalar(value: Any) -> str | int | float | bool | None:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class ActivityMapper:
    """Task, Event and CampaignMember records to canonical `Activity`s."""

    def __init__(self, config: SalesforceConfig) -> None:
        self.refused = {d.lower() for d in config.refused_call_dispositions}
        self.campaign_kinds = {k.lower(): v for k, v in config.campaign_kinds.items()}

    @staticmethod
    def _who(record: Mapping[str, Any], *fields: str) -> str | None:
        for field in fields:
            value = record.get(field)
            if isinstance(value, str) and value[:3] in (LEAD_PREFIX, CONTACT_PREFIX):
                return value
        return None

    def _activity(
        self, who: str, kind: str, at: datetime, source_id: str, **extra: Any
    ) -> Activity:
        channel = channel_of(kind)
        if channel is None:
            raise MappingError(f"unknown activity kind {kind!r}")
        return Activity(
            lead_key=lead_key(who),
            channel=channel,
            kind=kind,
            occurred_at=at,
            source=SOURCE,
            source_id=source_id,
            **extra,
        )

    def task(self, record: Mapping[str, Any]) -> Activity | None:
        who = self._who(record, "WhoId")
        if who is None or _text(record, "Status") != "Completed":
            return None  # about an account/opportunity only, or not done yet
        subtype = (_text(record, "TaskSubtype") or "Task").lower()
        subject = _text(record, "Subject") or ""
        value: float | None = None
        if subtype == "email":
            kind = "email_reply" if _REPLY.match(subject) else "email_sent"
        elif subtype == "listemail":
            kind = "email_sent"
        elif subtype == "call":
            disposition = (_text(record, "CallDisposition") or "").lower()
            kind = "call_refused" if disposition in self.refused else "call_completed"
            value = _number(record, "CallDurationInSeconds")
        else:
            kind = "note"
        at = (
            parse_instant(record.get("CompletedDateTime"), "CompletedDateTime")
            or parse_instant(record.get("ActivityDate"), "ActivityDate")
            or parse_instant(record.get("CreatedDate"), "CreatedDate")
        )
        if at is None:
            raise MappingError("task without any date")
        return self._activity(who, kind, at, str(record["Id"]), value=value)

    def event(self, record: Mapping[str, Any], now: datetime) -> Activity | None:
        who = self._who(record, "WhoId")
        if who is None:
            return None
        start = parse_instant(record.get("StartDateTime"), "StartDateTime")
        if start is None:
            raise MappingError("event without StartDateTime")
        kind = "meeting_held" if start <= now else "meeting_request"
        at = (
            start
            if start <= now
            else (parse_instant(record.get("CreatedDate"), "CreatedDate") or now)
        )
        minutes = _number(record, "DurationInMinutes")
        return self._activity(who, kind, at, f"{record['Id']}:{kind}", value=minutes)

    def member(self, record: Mapping[str, Any]) -> Activity | None:
        who = self._who(record, "LeadId", "ContactId")
        if who is None:
            return None
        campaign = record.get("Campaign")
        campaign = campaign if isinstance(campaign, Mapping) else {}
        ctype = (_text(campaign, "Type") or "").lower()
        status = (_text(record, "Status") or "").lower()
        kind = self.campaign_kinds.get(f"{ctype}/{status}")
        if kind is None and _flag(record, "HasResponded"):
            kind = "form_submit"
        if kind is None:
            return None
        at = parse_instant(record.get("FirstRespondedDate"), "FirstRespondedDate") or (
            parse_instant(record.get("CreatedDate"), "CreatedDate")
        )
        if at is None:
            raise MappingError("campaign member without any date")
        name = _text(campaign, "Name")
        return self._activity(
            who,
            kind,
            at,
            f"{record['Id']}:{kind}",
            attributes={"campaign": name} if name else {},
        )
