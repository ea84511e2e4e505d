"""The declarative REST profile: everything about one CRM's API, as data.

A profile (``mappings/<name>.toml``) says where the API lives, how it authenticates, which
endpoints hold leads, activity, outcomes and deletions, how each pages, which record
fields become which `Lead` fields and canonical activity kinds, and how a score is
written back. Any REST CRM can be added by writing one; no Python. Secrets never live in
a profile: they come from the connection settings or the environment.

Every model forbids unknown keys, so a typo is a `ConfigError` naming the file and key
(see `leadbridge.connectors.rest.loader`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from leadbridge.connectors.rest.records import (
    ActivityMap,
    ActivityTypeMap,
    ConsentMap,
    DeletedMap,
    DottedPath,
    FieldRef,
    FieldRule,
    LeadMap,
    OutcomeMap,
    Scalar,
    Strict,
    TimeFormat,
    ValueType,
    check_path,
    placeholders,
)

__all__ = [
    "CANONICAL_WRITE_FIELDS",
    "ActivityMap",
    "ActivityTypeMap",
    "ApiKeyAuth",
    "AuthSpec",
    "BatchSpec",
    "BearerAuth",
    "ConsentMap",
    "CrmSpec",
    "CursorPaging",
    "DeletedMap",
    "FieldRef",
    "FieldRule",
    "FieldsSpec",
    "LeadMap",
    "MessageFields",
    "MessagesSpec",
    "NextLinkPaging",
    "NoPaging",
    "OAuthClientCredentials",
    "OffsetPaging",
    "OutcomeMap",
    "PagePaging",
    "PagingSpec",
    "RateLimitSpec",
    "RestProfile",
    "StreamSpec",
    "TimeFormat",
    "ValueType",
    "WriteFieldMap",
    "WriteSpec",
]

CANONICAL_WRITE_FIELDS: tuple[str, ...] = (
    "leadbridge_score",
    "leadbridge_tier",
    "leadbridge_action",
    "leadbridge_reasons",
    "leadbridge_scored_at",
)
"""The field names the sync engine writes (sync/writeback.py `SCORE_FIELDS`)."""


# -- [crm] ---------------------------------------------------------------------------


class RateLimitSpec(Strict):
    """The vendor's request budget, and which response headers report what is left."""

    requests: int = Field(10, ge=1)
    interval_s: float = Field(1.0, gt=0.0)
    headers: Literal["ratelimit", "none"] = "ratelimit"
    """``ratelimit``: ``RateLimit-Limit``/``RateLimit-Remaining`` (or their ``X-`` forms)."""


class CrmSpec(Strict):
    """Who the CRM is and where its API lives."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = ""
    base_url: str
    check_path: str | None = None
    """A cheap authenticated GET for `check()` (default: the first stream's path)."""
    headers: dict[str, str] = Field(default_factory=dict)
    rate_limit: RateLimitSpec = RateLimitSpec()

    @field_validator("base_url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must be an absolute http(s) URL")
        return value.rstrip("/")


# -- [auth] --------------------------------------------------------------------------


class BearerAuth(Strict):
    """A static token sent as ``Authorization: Bearer`` (setting ``token``)."""

    type: Literal["bearer"]


class ApiKeyAuth(Strict):
    """A static key in a header (setting ``api_key``), optionally with a scheme."""

    type: Literal["api_key"]
    header: str = Field("X-Api-Key", min_length=1)
    scheme: str | None = None


class OAuthClientCredentials(Strict):
    """OAuth 2.0 client credentials (settings ``client_id``/``client_secret``)."""

    type: Literal["oauth_client_credentials"]
    token_url: str = Field(min_length=1)
    """Absolute, or relative to `crm.base_url`."""
    scope: str | None = None
    endpoint_auth: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    leeway_s: float = Field(60.0, ge=0.0)


AuthSpec = Annotated[BearerAuth | ApiKeyAuth | OAuthClientCredentials, Field(discriminator="type")]


# -- pagination ----------------------------------------------------------------------


class NoPaging(Strict):
    """One request returns everything."""

    style: Literal["none"]


class CursorPaging(Strict):
    """An opaque token in the body, sent back as a query parameter."""

    style: Literal["cursor"]
    token_path: DottedPath
    param: str = "cursor"
    limit_param: str | None = "limit"
    limit: int = Field(100, ge=1)


class PagePaging(Strict):
    """Page numbers (1-based by default), stopping on a short page or the page count."""

    style: Literal["page"]
    param: str = "page"
    size_param: str = "per_page"
    size: int = Field(100, ge=1)
    total_pages_path: str | None = None
    start: int = Field(1, ge=0)


class OffsetPaging(Strict):
    """limit/offset, stopping on a short page or the reported total."""

    style: Literal["offset"]
    param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(100, ge=1)
    total_path: str | None = None


class NextLinkPaging(Strict):
    """A URL to the next page in the body (absolute or relative to the base URL)."""

    style: Literal["next_link"]
    path: DottedPath
    limit_param: str | None = None
    limit: int | None = Field(None, ge=1)
    done_path: str | None = None


PagingSpec = Annotated[
    NoPaging | CursorPaging | PagePaging | OffsetPaging | NextLinkPaging,
    Field(discriminator="style"),
]


class StreamSpec(Strict):
    """One endpoint read incrementally, and what its records become."""

    path: str = Field(min_length=1)
    method: Literal["GET", "POST"] = "GET"
    params: dict[str, Scalar] = Field(default_factory=dict)
    records: str = ""
    """Dotted path of the record list in the body (empty: the body is the list)."""
    id: DottedPath = "id"
    cursor_field: str | None = None
    cursor_param: str | None = None
    cursor_format: TimeFormat = "iso"
    lookback_s: float = Field(0.0, ge=0.0)
    """Re-read window for eventually consistent APIs (disables the id tie-break)."""
    ordered: bool = True
    """The API returns records ascending by (cursor, id): page bookmarks are safe."""
    pagination: PagingSpec = NoPaging(style="none")
    lead: LeadMap | None = None
    outcome: OutcomeMap | None = None
    activity: ActivityMap | None = None
    deleted: DeletedMap | None = None

    @model_validator(mode="after")
    def _consistent(self) -> StreamSpec:
        if not any((self.lead, self.outcome, self.activity, self.deleted)):
            raise ValueError("a stream needs at least one of lead, outcome, activity, deleted")
        if self.cursor_param and not self.cursor_field:
            raise ValueError("'cursor_param' needs 'cursor_field' (the record's cursor value)")
        if self.records:
            check_path(self.records)
        if self.cursor_field:
            check_path(self.cursor_field)
        return self


# -- [write] -------------------------------------------------------------------------


class WriteFieldMap(Strict):
    """Where a canonical score field goes in the payload, and how its value is spelled."""

    target: DottedPath
    type: ValueType | None = None
    values: dict[str, Scalar] = Field(default_factory=dict)
    on_unmapped: Literal["keep", "reject"] = "reject"

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        return check_path(value)


class BatchSpec(Strict):
    """A batch endpoint: the records go in a list, results come back record by record."""

    method: Literal["PATCH", "PUT", "POST"] = "POST"
    path: str = Field(min_length=1)
    max_size: int = Field(ge=1)
    records_key: DottedPath = "records"
    results_path: DottedPath = "results"
    result_id: DottedPath = "id"
    success_path: DottedPath = "success"
    success_values: tuple[Scalar, ...] = (True,)
    error_path: str = "message"


class WriteSpec(Strict):
    """How a score is written: one record per call (`path`), or a batch endpoint."""

    method: Literal["PATCH", "PUT", "POST"] = "PATCH"
    path: str | None = None
    """One record per call, with one placeholder for its id: ``/leads/{lead_id}``."""
    id_target: str | None = None
    """Also put the id in the payload at this path (seed 000 sends ``lead_id``)."""
    fields: dict[str, WriteFieldMap] = Field(min_length=1)
    ignore: tuple[str, ...] = ()
    """Canonical fields this CRM does not hold (silently not sent)."""
    record_error_statuses: tuple[int, ...] = (400, 404, 409, 422)
    """Statuses that fail one record, not the run."""
    error_message: str = "message"
    """Path of the reason in an error body."""
    batch: BatchSpec | None = None
    echo_streams: tuple[str, ...] | None = None
    """Streams our writes reappear in (a PATCH bumps the record's modified time), which the
    engine reads back so a run ends quiescent. Unset: every stream that maps leads; ``[]``
    for a CRM whose writes leave the modified time alone."""

    @field_validator("path")
    @classmethod
    def _one_placeholder(cls, value: str | None) -> str | None:
        if value is not None and len(placeholders(value)) != 1:
            raise ValueError("the write path needs exactly one {id} placeholder")
        return value

    @model_validator(mode="after")
    def _canonical(self) -> WriteSpec:
        for name in (*self.fields, *self.ignore):
            if name not in CANONICAL_WRITE_FIELDS:
                raise ValueError(
                    f"{name!r} is not a canonical write field ({', '.join(CANONICAL_WRITE_FIELDS)})"
                )
        if self.id_target:
            check_path(self.id_target)
        if self.path is None and self.batch is None:
            raise ValueError("give 'path' (one record per call) or a [write.batch] endpoint")
        return self


# -- [fields] and [messages] ---------------------------------------------------------


class FieldsSpec(Strict):
    """How custom fields come to exist: pre-existing (none), checked (verify) or created."""

    mode: Literal["none", "verify", "create"] = "none"
    list_path: str | None = None
    records: str = "data"
    name_path: DottedPath = "key"
    create_path: str | None = None
    create_method: Literal["POST", "PUT"] = "POST"
    create_payload: dict[str, str] = Field(
        default_factory=lambda: {"name": "{name}", "label": "{label}", "type": "{type}"}
    )
    """Templates over ``{name}``, ``{label}``, ``{type}``, ``{description}``."""
    types: dict[str, str] = Field(default_factory=dict)
    """leadbridge field type (number, string, text, datetime, enumeration) → vendor type."""

    @field_validator("create_payload")
    @classmethod
    def _slots(cls, value: dict[str, str]) -> dict[str, str]:
        for template in value.values():
            unknown = set(placeholders(template)) - {"name", "label", "type", "description"}
            if unknown:
                raise ValueError(f"unknown placeholder(s) {sorted(unknown)} in {template!r}")
        return value

    @model_validator(mode="after")
    def _endpoints(self) -> FieldsSpec:
        if self.mode in ("verify", "create") and not self.list_path:
            raise ValueError(f"fields mode {self.mode!r} needs 'list_path'")
        if self.mode == "create" and not self.create_path:
            raise ValueError("fields mode 'create' needs 'create_path'")
        return self


class MessageFields(Strict):
    """Vendor names of an inbound message's fields (seed 001)."""

    id: str = "message_id"
    lead_id: str = "lead_id"
    source: str = "lead_source"
    body: str = "message_body"
    extracted: str = "extracted_data"
    score: str = "ai_score"
    routing: str = "routing_action"
    received_at: str = "received_at"


class MessagesSpec(Strict):
    """The inbound-message endpoint: where an analysed message is posted and listed."""

    path: str = Field("/messages", min_length=1)
    method: Literal["POST", "PUT"] = "POST"
    stream: str | None = None
    """The stream (in ``[streams]``) that lists messages, for `read_messages`."""
    received_format: TimeFormat = "iso"
    fields: MessageFields = MessageFields()


# -- the profile ---------------------------------------------------------------------


class RestProfile(Strict):
    """A whole CRM, declared."""

    crm: CrmSpec
    auth: AuthSpec
    streams: dict[str, StreamSpec] = Field(min_length=1)
    write: WriteSpec | None = None
    fields: FieldsSpec = FieldsSpec()
    messages: MessagesSpec | None = None

    @model_validator(mode="after")
    def _known_echo_streams(self) -> RestProfile:
        echo = self.write.echo_streams if self.write is not None else None
        unknown = [name for name in echo or () if name not in self.streams]
        if unknown:
            raise ValueError(f"write.echo_streams names unknown streams: {', '.join(unknown)}")
        return self

    @property
    def echo_streams(self) -> tuple[str, ...]:
        """The streams the engine reads back after writing (none without a [write])."""
        if self.write is None:
            return ()
        if self.write.echo_streams is not None:
            return self.write.echo_streams
        return tuple(name for name, spec in self.streams.items() if spec.lead is not None)
