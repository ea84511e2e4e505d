"""The common lead schema: every connector maps to these models, every scorer reads them.

All models are frozen pydantic v2 models and every datetime is timezone-aware, so a
record means the same thing whichever CRM it came from and whenever it is replayed.

    >>> lead = Lead(key="hubspot:42", source_ids={"hubspot": "42"}, email="ana@example.ch")
    >>> lead.source_ids["hubspot"]
    '42'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "Activity",
    "AuditEvent",
    "AuditKind",
    "AwareDatetime",
    "Bookmark",
    "Channel",
    "Consent",
    "DeadLetter",
    "FieldSpec",
    "Lead",
    "Outcome",
    "OutcomeStatus",
    "Page",
    "Reason",
    "RecordError",
    "ScoreResult",
    "ScoreWrite",
    "WriteResult",
]


def _require_tz(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_require_tz)]
"""A datetime that must carry a UTC offset; naive datetimes are rejected at the boundary."""

JSONScalar = str | int | float | bool | None


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Channel(StrEnum):
    """Where an activity happened; the scorer's point tables are keyed by it."""

    WEB = "web"
    EMAIL = "email"
    SOCIAL = "social"
    EVENT = "event"
    OFFLINE = "offline"
    CHAT = "chat"
    PHONE = "phone"


class Consent(_Frozen):
    """Consent and objection flags that travel with the lead (GDPR Art. 21, nFADP Art. 30)."""

    marketing_email: bool | None = None
    tracking: bool | None = None
    objects_to_profiling: bool = False
    do_not_call: bool = False


class Lead(_Frozen):
    """One person as leadbridge sees them, whichever CRM they live in.

    `key` is leadbridge's stable id (``"<crm>:<id>"`` for a lead first seen in that CRM);
    `source_ids` maps each CRM name to that CRM's record id.
    """

    key: str = Field(min_length=1)
    source_ids: Mapping[str, str] = Field(default_factory=dict)
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    job_title: str | None = None
    seniority: str | None = None
    industry: str | None = None
    company_size: int | None = Field(default=None, ge=0)
    annual_revenue: float | None = Field(default=None, ge=0)
    country: str | None = None
    region: str | None = None
    language: str | None = None
    consent: Consent = Field(default_factory=Consent)
    lifecycle_stage: str | None = None
    owner: str | None = None
    source: str | None = None
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    custom: Mapping[str, JSONScalar] = Field(default_factory=dict)
    read_only: bool = Field(
        default=False,
        description="The CRM refuses writes on this record (a converted Salesforce Lead): "
        "it is scored, but no write is attempted.",
    )


class Activity(_Frozen):
    """One thing a lead did (or had done to them), on one channel, at one time.

    `kind` is the channel-specific action (``"page_view:pricing"``, ``"email_click"``,
    ``"webinar_attended"``...). `count` lets rollup sources report several identical
    actions at once; `value` carries a numeric payload (an amount, a duration).
    """

    lead_key: str = Field(min_length=1)
    channel: Channel
    kind: str = Field(min_length=1)
    occurred_at: AwareDatetime
    source: str = Field(min_length=1)
    source_id: str | None = None
    value: float | None = None
    count: int = Field(default=1, ge=1)
    attributes: Mapping[str, JSONScalar] = Field(default_factory=dict)


class OutcomeStatus(StrEnum):
    """How a lead ended up, as told by the CRM."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Outcome(_Frozen):
    """A lead's commercial outcome at a point in time (training label, KPI input)."""

    lead_key: str = Field(min_length=1)
    status: OutcomeStatus
    at: AwareDatetime
    source: str = Field(min_length=1)
    detail: str | None = None


class Reason(_Frozen):
    """One rule that fired, with what it contributed; the unit of every explanation."""

    rule: str
    points: float
    group: str | None = None
    count: int = 1
    decay_factor: float = Field(default=1.0, ge=0.0, le=1.0)
    label: str | None = None


class ScoreResult(_Frozen):
    """A lead's score, the tier and action it leads to, and why."""

    lead_key: str
    score: int = Field(ge=0, le=100)
    tier: str
    action: str
    reasons: tuple[Reason, ...] = ()
    fit: float | None = None
    intent: float | None = None
    stage: str | None = None
    routing: str | None = None
    summary: str = Field(default="", max_length=250)
    config_version: str
    model_version: str | None = None
    computed_at: AwareDatetime


class Bookmark(_Frozen):
    """Where an incremental read stopped: cursor value plus an id tie-break.

    The cursor is inclusive; the tie-break lets a reader skip rows with the same cursor
    value that were already processed (many CRMs stamp thousands of rows alike).
    """

    stream: str
    cursor_field: str
    value: AwareDatetime
    tiebreak_id: str | None = None


class RecordError(_Frozen):
    """A record a connector could not turn into a model: kept for the dead-letter table."""

    stream: str
    record_id: str | None
    reason: str
    payload: str = Field(description="The raw record, secrets redacted, truncated.")


class Page(_Frozen):
    """One page of a stream, already mapped to the common schema."""

    stream: str
    leads: tuple[Lead, ...] = ()
    activities: tuple[Activity, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    deleted: tuple[str, ...] = Field(default=(), description="Source ids archived/deleted.")
    rejects: tuple[RecordError, ...] = ()
    bookmark: Bookmark | None = None


class FieldSpec(_Frozen):
    """A custom field leadbridge writes, to be created on the CRM if missing."""

    name: str
    label: str
    type: Literal["number", "string", "datetime", "enumeration", "text"]
    description: str = ""
    options: tuple[str, ...] = ()


class ScoreWrite(_Frozen):
    """The values to write on one CRM record."""

    source_id: str
    lead_key: str
    values: Mapping[str, JSONScalar]


class WriteResult(_Frozen):
    """What a batch write achieved, record by record."""

    succeeded: tuple[str, ...] = ()
    failed: Mapping[str, str] = Field(default_factory=dict, description="source id -> reason")
    calls: int = 0


class DeadLetter(_Frozen):
    """A record the sync could not process, with where and why; nothing is dropped."""

    connection: str
    stream: str
    record_id: str | None
    reason: str
    payload: str
    at: AwareDatetime
    attempts: int = 1
    extra: Mapping[str, Any] = Field(default_factory=dict)


AuditKind = Literal[
    "crm_write",
    "score_change",
    "config_change",
    "model_promotion",
    "migration_step",
    "auth_event",
    "privacy_action",
    "audit_read",
]


class AuditEvent(_Frozen):
    """One change leadbridge made or one access it served, before it enters the audit log.

    `subject` is the natural id of the person concerned (a lead key); the audit log stores
    only a keyed pseudonym of it. `details` must hold no personal data (field names,
    versions, counts); personal values (old and new field values, CRM record ids) go in
    `personal`, which the log encrypts under the subject's own key.
    """

    kind: AuditKind
    actor: str = Field(min_length=1)
    at: AwareDatetime
    reason: str = ""
    connection: str | None = None
    subject: str | None = None
    request_id: str | None = None
    details: Mapping[str, Any] = Field(default_factory=dict)
    personal: Mapping[str, Any] = Field(default_factory=dict)
