"""Typed configuration of one HubSpot connection.

Auth is a discriminated union, so the mode is stated rather than inferred from which
keys happen to be set. Limits default to a privately distributed app on a Free/Starter
portal (100 requests per 10 s, search 5 per second); Professional and Enterprise portals
raise the burst to 190 per 10 s through `budgets`.

    >>> cfg = HubSpotConfig.model_validate({"auth": {"kind": "private_app", "token": "pat-x"}})
    >>> cfg.overlap_s
    120.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from leadbridge.core.errors import ConfigError

__all__ = [
    "DEFAULT_BUDGETS",
    "DEFAULT_PROPERTIES",
    "HubSpotAuth",
    "HubSpotConfig",
    "OAuthConfig",
    "PrivateAppAuth",
    "parse_config",
]

DEFAULT_BUDGETS: dict[str, tuple[int, float]] = {"default": (100, 10.0), "search": (5, 1.0)}

DEFAULT_PROPERTIES: tuple[str, ...] = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "mobilephone",
    "company",
    "jobtitle",
    "hs_seniority",
    "industry",
    "numemployees",
    "annualrevenue",
    "country",
    "state",
    "hs_language",
    "lifecyclestage",
    "hs_lead_status",
    "hubspot_owner_id",
    "hs_analytics_source",
    "hs_email_optout",
    "hs_email_hard_bounce_reason_enum",
    "hs_lifecyclestage_customer_date",
    "createdate",
)
"""What the scorer needs about a person; ids and cursors are always added (data minimisation)."""


CallResult = Literal["completed", "refused"]

_DEFAULT_DISPOSITIONS: dict[str, CallResult] = {
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "completed",  # HubSpot's default "Connected"
}
_DEFAULT_DISPOSITION_LABELS: dict[str, CallResult] = {
    "connected": "completed",
    "not interested": "refused",
    "refused": "refused",
    "declined": "refused",
    "do not call": "refused",
}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PrivateAppAuth(_Strict):
    """A private-app access token (``pat-na1-…``), sent as ``Authorization: Bearer``."""

    kind: Literal["private_app"] = "private_app"
    token: SecretStr


class OAuthConfig(_Strict):
    """An OAuth 2.0 app: authorization code with PKCE, refreshed ahead of expiry."""

    kind: Literal["oauth"] = "oauth"
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    token_url: str = "https://api.hubapi.com/oauth/v1/token"
    authorize_url: str = "https://app.hubspot.com/oauth/authorize"
    scopes: tuple[str, ...] = (
        "oauth",
        "crm.objects.contacts.read",
        "crm.objects.contacts.write",
        "crm.schemas.contacts.write",
    )
    redirect_uri: str = "http://127.0.0.1:8765/oauth/callback"
    refresh_leeway_s: float = Field(300.0, ge=0.0)


HubSpotAuth = Annotated[PrivateAppAuth | OAuthConfig, Field(discriminator="kind")]


class HubSpotConfig(_Strict):
    """Everything one HubSpot connection needs; secrets stay `SecretStr`."""

    base_url: str = "https://api.hubapi.com"
    auth: HubSpotAuth
    account: str | None = Field(
        None, description="Portal id; keys the shared rate limiter (else a hash of the token)."
    )
    overlap_s: float = Field(
        120.0, ge=0.0, description="Re-read window: HubSpot search is eventually consistent."
    )
    properties: tuple[str, ...] = DEFAULT_PROPERTIES
    custom_properties: tuple[str, ...] = Field(
        (), description="Extra contact properties copied into Lead.custom."
    )
    objection_property: str | None = Field(
        None, description="A boolean contact property meaning 'objects to profiling'."
    )
    activity_source: Literal["events", "rollups", "auto"] = "auto"
    engagement_types: tuple[Literal["emails", "calls", "meetings", "notes"], ...] = (
        "emails",
        "calls",
        "meetings",
        "notes",
    )
    call_dispositions: Mapping[str, CallResult] = Field(
        default_factory=lambda: dict(_DEFAULT_DISPOSITIONS),
        description="Call outcome GUID -> canonical result (HubSpot's 'Connected' by default).",
    )
    call_disposition_labels: Mapping[str, CallResult] = Field(
        default_factory=lambda: dict(_DEFAULT_DISPOSITION_LABELS),
        description="Outcome label (lower case) -> result, for the portal's own outcomes.",
    )
    buy_url_patterns: tuple[str, ...] = (
        "/buy",
        "/checkout",
        "/acheter",
        "/kaufen",
        "/acquista",
        "/book-now",
        "/booking",
        "/order",
    )
    budgets: Mapping[str, tuple[int, float]] = Field(default_factory=lambda: dict(DEFAULT_BUDGETS))
    search_page_size: int = Field(200, ge=1, le=200)
    search_max_results: int = Field(
        10_000, ge=1, description="HubSpot's per-query cap; paging past it answers 400."
    )
    list_page_size: int = Field(100, ge=1, le=100)
    events_page_size: int = Field(100, ge=1, le=1000)
    association_batch_size: int = Field(100, ge=1, le=1000)
    verify: bool | str = True
    timeout_s: float = Field(30.0, gt=0.0)


def parse_config(data: Mapping[str, Any], *, file: str | None = None) -> HubSpotConfig:
    """Validate a config mapping; the first problem becomes a `ConfigError` naming its key."""
    try:
        return HubSpotConfig.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or None
        # `from None`: pydantic's error text echoes input values, which may be secrets.
        raise ConfigError(first["msg"], file=file, key=key) from None
