"""How one raw record becomes `Lead`, `Activity`, `Outcome` or a deleted id, as data.

The record-mapping half of a REST profile (``[streams.<name>.lead]``, ``.outcome``,
``.activity``, ``.deleted``), plus the small shared vocabulary of every profile model:
dotted paths, value types and time formats.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leadbridge.core.models import Channel
from leadbridge.core.vocabulary import KINDS

__all__ = [
    "ActivityMap",
    "ActivityTypeMap",
    "ConsentMap",
    "DeletedMap",
    "DottedPath",
    "FieldRef",
    "FieldRule",
    "LeadMap",
    "OutcomeMap",
    "Scalar",
    "Strict",
    "TimeFormat",
    "ValueType",
    "check_path",
    "placeholders",
]

Scalar = str | int | float | bool
ValueType = Literal["string", "integer", "number", "boolean", "datetime"]
TimeFormat = Literal["iso", "epoch_ms", "epoch_s"]


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def placeholders(template: str) -> list[str]:
    """The ``{path}`` placeholders of a template, in order."""
    return _PLACEHOLDER.findall(template)


_PATH = re.compile(r"^[A-Za-z0-9_$@-]+(\.[A-Za-z0-9_$@-]+)*$")


def check_path(value: str) -> str:
    """`value` if it is a dotted field path; a ValueError naming it otherwise."""
    if value and not _PATH.match(value):
        raise ValueError(f"{value!r} is not a dotted field path (like 'data.lead_id')")
    return value


DottedPath = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    """Frozen, and unknown keys are errors: a typo in a profile must not pass silently."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# -- record mapping ------------------------------------------------------------------


class FieldRule(Strict):
    """How to read one value: a path or a constant, then an optional value map and type."""

    path: str | None = None
    const: Scalar | None = None
    values: dict[str, Scalar | None] = Field(default_factory=dict)
    on_unmapped: Literal["keep", "null", "reject"] = "keep"
    type: ValueType | None = None
    format: TimeFormat = "iso"
    """How a ``datetime`` value is written by the vendor."""

    @model_validator(mode="after")
    def _source(self) -> FieldRule:
        if (self.path is None) == (self.const is None):
            raise ValueError("give exactly one of 'path' or 'const'")
        if self.path is not None:
            check_path(self.path)
        return self


FieldRef = Annotated[str, Field(min_length=1)] | FieldRule
"""A dotted path (shorthand) or a `FieldRule`."""


class ConsentMap(Strict):
    """Record paths of the consent flags that travel with the lead."""

    marketing_email: FieldRef | None = None
    tracking: FieldRef | None = None
    objects_to_profiling: FieldRef | None = None
    do_not_call: FieldRef | None = None


class LeadMap(Strict):
    """Record field → `Lead` field. The lead id is the stream's `id` path."""

    email: FieldRef | None = None
    phone: FieldRef | None = None
    first_name: FieldRef | None = None
    last_name: FieldRef | None = None
    company: FieldRef | None = None
    job_title: FieldRef | None = None
    seniority: FieldRef | None = None
    industry: FieldRef | None = None
    company_size: FieldRef | None = None
    annual_revenue: FieldRef | None = None
    country: FieldRef | None = None
    region: FieldRef | None = None
    language: FieldRef | None = None
    lifecycle_stage: FieldRef | None = None
    owner: FieldRef | None = None
    source: FieldRef | None = None
    created_at: FieldRef | None = None
    updated_at: FieldRef | None = None
    consent: ConsentMap | None = None
    custom: dict[str, FieldRef] = Field(default_factory=dict)
    """``Lead.custom`` keys (what scoring presets read as ``custom.<key>``)."""


class OutcomeMap(Strict):
    """A vendor status → open/won/lost (``"Accord" = "won"``...)."""

    status: DottedPath
    values: dict[str, Literal["open", "won", "lost"]] = Field(min_length=1)
    at: str | None = None
    """Path of when the status was set (default: the record's cursor value)."""
    at_format: TimeFormat = "iso"
    detail: str | None = None
    on_unmapped: Literal["skip", "reject"] = "reject"


def _check_kind_template(template: str) -> str:
    if not _PLACEHOLDER.search(template) and template not in KINDS:
        raise ValueError(f"{template!r} is not a canonical activity kind (core/vocabulary.py)")
    for path in _PLACEHOLDER.findall(template):
        check_path(path)
    return template


class ActivityTypeMap(Strict):
    """One vendor activity type → a canonical kind, with its value and attributes.

    `kind` may hold ``{path}`` placeholders (``"page_view:{data.page}"``); a rendered kind
    that is not canonical falls back to `fallback_kind`, or the record is skipped.
    """

    kind: str = Field(min_length=1)
    fallback_kind: str | None = None
    channel: Channel | None = None
    value: FieldRef | None = None
    count: FieldRef | None = None
    attributes: dict[str, FieldRef] = Field(default_factory=dict)

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        return _check_kind_template(value)

    @field_validator("fallback_kind")
    @classmethod
    def _fallback(cls, value: str | None) -> str | None:
        if value is not None and value not in KINDS:
            raise ValueError(f"{value!r} is not a canonical activity kind (core/vocabulary.py)")
        return value


class ActivityMap(Strict):
    """Activity records: who, when, which vendor type, and the type table."""

    lead_id: DottedPath
    occurred_at: DottedPath
    occurred_format: TimeFormat = "iso"
    type: str | None = None
    """Path of the vendor type; without it every record uses the ``default`` entry."""
    types: dict[str, ActivityTypeMap] = Field(min_length=1)
    unknown_types: Literal["skip", "reject"] = "skip"
    orphans: Literal["skip", "reject"] = "reject"
    """A record without a lead id (an anonymous chat, say)."""


class DeletedMap(Strict):
    """A stream of deleted/archived record ids."""

    id: DottedPath
