"""Typed configuration of one ActiveCampaign connection.

The account URL comes from Settings → Developer (``https://<account>.api-us1.com``); the
API key is a user's, sent as ``Api-Token`` and never expiring. Limits default to AC's 5
requests per second per account (shared by every key) and 100 bulk imports per minute.
Because the URL is configurable it is held to an https host allowlist (SSRF); emulators
on 127.0.0.1 need `allow_any_base_url`.

    >>> cfg = ActiveCampaignConfig.model_validate({"account": "acme", "api_key": "k" * 12})
    >>> cfg.api_url
    'https://acme.api-us1.com/api/3'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from leadbridge.core.errors import ConfigError
from leadbridge.core.vocabulary import channel_of

__all__ = [
    "DEFAULT_ACTIVITY_KINDS",
    "DEFAULT_BUDGETS",
    "DEFAULT_EVENT_KINDS",
    "DEFAULT_FIELD_MAP",
    "DEFAULT_PAGE_KINDS",
    "ActiveCampaignConfig",
    "Enrichment",
    "parse_config",
]

DEFAULT_BUDGETS: dict[str, tuple[int, float]] = {"default": (5, 1.0), "import": (100, 60.0)}

DEFAULT_FIELD_MAP: dict[str, str] = {
    "company": "COMPANY",
    "job_title": "JOB_TITLE",
    "industry": "INDUSTRY",
    "company_size": "COMPANY_SIZE",
    "country": "COUNTRY",
    "region": "STATE",
    "language": "LANGUAGE",
    "lifecycle_stage": "LIFECYCLE_STAGE",
    "source": "LEAD_SOURCE",
}
"""Lead attribute -> personalisation tag of the custom field that holds it."""

DEFAULT_ACTIVITY_KINDS: dict[str, str] = {
    "Log": "email_sent",
    "Open": "email_open",
    "LinkData": "email_click",
    "SubscriberEmail:reply": "email_reply",
    "SubscriberEmail": "email_sent",
    "Unsubscribe": "email_unsubscribe",
    "Abuse": "email_spam_report",
    "Bounce": "email_bounce",
    "Form": "form_submit",
    "SubscriberNote": "note",
}
"""``reference_type[:reference_action]`` of the activity feed -> canonical kind (verify)."""

DEFAULT_EVENT_KINDS: dict[str, str] = {
    "webinar_registered": "webinar_registered",
    "webinar_attended": "webinar_attended",
    "downloaded whitepaper": "content_download",
    "used simulator": "simulator_use",
    "form submitted": "form_submit",
}
"""Tracked event name (lower case) -> canonical kind."""

DEFAULT_PAGE_KINDS: dict[str, tuple[str, ...]] = {
    "cta_click:buy": ("/buy", "/checkout", "/acheter", "/kaufen", "/acquista", "/order"),
    "page_view:pricing": ("/pricing", "/tarifs", "/prix", "/preise", "/prezzi"),
    "page_view:demo": ("/demo",),
    "page_view:case_study": ("/case-studies", "/case-study", "/references"),
    "page_view:blog": ("/blog",),
}
"""Site-visit URL path segments -> canonical kind, first match wins (home is built in)."""

Enrichment = Literal["field_values", "activities", "tracking_logs"]

_ALLOWED_HOSTS = re.compile(r"^[a-z0-9-]+\.(api-us\d+\.com|activehosted\.com)$")


class ActiveCampaignConfig(BaseModel):
    """Everything one ActiveCampaign connection needs; the key stays a `SecretStr`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_key: SecretStr = Field(min_length=8)
    allow_any_base_url: bool = Field(
        False, description="Skip the https/host allowlist (local emulators and tests only)."
    )
    account: str | None = Field(
        None, pattern=r"^[a-z0-9-]+$", description="Account name: https://<account>.api-us1.com"
    )
    base_url: str | None = Field(None, description="The API root, overriding `account`.")
    overlap_s: float = Field(120.0, ge=1.0, description="Re-read window below the cursor.")
    page_size: int = Field(100, ge=1, le=100)
    enrich: tuple[Enrichment, ...] = ("field_values", "activities", "tracking_logs")
    """Per changed contact: custom field values, the activity feed, tracking logs."""
    activity_lookback_days: float | None = Field(
        None, gt=0, description="On a first pull, ignore activity older than this."
    )
    field_map: Mapping[str, str] = Field(default_factory=lambda: dict(DEFAULT_FIELD_MAP))
    custom_fields: tuple[str, ...] = Field((), description="Extra perstags copied to Lead.custom.")
    objection_field: str | None = Field(
        None, description="Perstag of a field meaning 'objects to profiling' (1/yes/true)."
    )
    won_stages: tuple[str, ...] = ("customer",)
    activity_kinds: Mapping[str, str] = Field(default_factory=lambda: dict(DEFAULT_ACTIVITY_KINDS))
    event_kinds: Mapping[str, str] = Field(default_factory=lambda: dict(DEFAULT_EVENT_KINDS))
    visit_types: tuple[str, ...] = ("visit", "page visit", "site visit")
    page_kinds: Mapping[str, tuple[str, ...]] = Field(
        default_factory=lambda: dict(DEFAULT_PAGE_KINDS)
    )
    home_paths: tuple[str, ...] = ("/", "/fr", "/de", "/it", "/en")
    delete_sweep_interval_s: float = Field(
        86_400.0, ge=0.0, description="Sweep ids for deletes at most this often (0: every run)."
    )
    sync_below: int = Field(
        10, ge=0, le=250, description="Batches smaller than this use contact/sync (AC's advice)."
    )
    import_poll_interval_s: float = Field(2.0, gt=0.0)
    import_poll_max: int = Field(150, ge=1)
    budgets: Mapping[str, tuple[int, float]] = Field(default_factory=lambda: dict(DEFAULT_BUDGETS))
    verify: bool | str = True
    timeout_s: float = Field(30.0, gt=0.0)

    @field_validator("base_url")
    @classmethod
    def _allowed_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or info.data.get("allow_any_base_url"):
            return value
        parts = urlsplit(value)
        if parts.scheme != "https" or not _ALLOWED_HOSTS.match(parts.hostname or ""):
            raise ValueError("must be https://<account>.api-us1.com/api/3 (or .activehosted.com)")
        return value

    @field_validator("activity_kinds", "event_kinds")
    @classmethod
    def _canonical_values(cls, value: Mapping[str, str]) -> Mapping[str, str]:
        _require_canonical(value.values())
        return value

    @field_validator("page_kinds")
    @classmethod
    def _canonical_keys(cls, value: Mapping[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
        _require_canonical(value.keys())
        return value

    @model_validator(mode="after")
    def _located(self) -> ActiveCampaignConfig:
        if self.base_url is None and self.account is None:
            raise ValueError("set `account` (or `base_url`)")
        return self

    @property
    def api_url(self) -> str:
        """The API root without a trailing slash."""
        if self.base_url is not None:
            return self.base_url.rstrip("/")
        return f"https://{self.account}.api-us1.com/api/3"

    @property
    def limiter_key(self) -> str:
        """The limit is per account, shared by every key: key the limiter by host."""
        parts = urlsplit(self.api_url)
        return f"activecampaign:{parts.hostname}:{parts.port or ''}"


def _require_canonical(kinds: Iterable[str]) -> None:
    unknown = sorted(k for k in kinds if channel_of(k) is None)
    if unknown:
        raise ValueError(f"not canonical activity kinds: {', '.join(unknown)}")


def parse_config(data: Mapping[str, Any], *, file: str | None = None) -> ActiveCampaignConfig:
    """Validate a config mapping; the first problem becomes a `ConfigError` naming its key."""
    try:
        return ActiveCampaignConfig.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "account"
        message = str(first["msg"]).removeprefix("Value error, ")
        # `from None`: pydantic's error text echoes input values, which may be secrets.
        raise ConfigError(message, file=file, key=key) from None
