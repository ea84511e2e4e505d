"""Typed configuration of one Salesforce connection.

Auth is a discriminated union: the OAuth 2.0 web-server flow (authorization code with
PKCE, then refresh) or the JWT bearer flow (a connected app with an uploaded
certificate; no refresh token, a fresh assertion is minted instead). Salesforce's token
reply carries no lifetime, so expiry is learnt from ``401 INVALID_SESSION_ID``.

    >>> cfg = SalesforceConfig.model_validate({
    ...     "instance_url": "https://acme.my.salesforce.com",
    ...     "auth": {"kind": "jwt_bearer", "client_id": "3MVG9…", "username": "api@acme.ch",
    ...              "private_key_file": "/etc/leadbridge/sf.key"}})
    >>> cfg.api_version
    '60.0'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from leadbridge.core.errors import ConfigError

__all__ = [
    "DEFAULT_CAMPAIGN_KINDS",
    "JWTBearer",
    "OAuthWebServer",
    "SalesforceAuth",
    "SalesforceConfig",
    "parse_config",
]

DEFAULT_CAMPAIGN_KINDS: dict[str, str] = {
    "webinar/registered": "webinar_registered",
    "webinar/attended": "webinar_attended",
    "webinar/no show": "webinar_registered",
    "trade show/visited booth": "tradeshow_visit",
    "trade show/attended": "tradeshow_visit",
    "trade show/scanned": "qr_scan",
    "conference/attended": "tradeshow_visit",
    "email/sent": "email_sent",
    "email/opened": "email_open",
    "email/clicked": "email_click",
    "email/responded": "email_click",
    "email/unsubscribed": "email_unsubscribe",
}
"""``"<campaign type>/<member status>"`` (lower case) -> canonical kind; any other member
who `HasResponded` counts as a ``form_submit``."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OAuthWebServer(_Strict):
    """A connected app using the web-server flow (PKCE S256) and refresh tokens."""

    kind: Literal["oauth"] = "oauth"
    client_id: str = Field(min_length=1)
    client_secret: SecretStr | None = None
    token_url: str = "https://login.salesforce.com/services/oauth2/token"
    authorize_url: str = "https://login.salesforce.com/services/oauth2/authorize"
    redirect_uri: str = "http://127.0.0.1:8765/oauth/callback"
    scopes: tuple[str, ...] = ("api", "refresh_token")


class JWTBearer(_Strict):
    """A pre-authorised connected app signing RS256 assertions for an integration user."""

    kind: Literal["jwt_bearer"] = "jwt_bearer"
    client_id: str = Field(min_length=1)
    username: str = Field(min_length=1)
    private_key_pem: SecretStr | None = None
    private_key_file: Path | None = None
    audience: str = "https://login.salesforce.com"
    token_url: str = "https://login.salesforce.com/services/oauth2/token"
    assertion_lifetime_s: int = Field(180, ge=30, le=300)

    @model_validator(mode="after")
    def _one_key(self) -> JWTBearer:
        if (self.private_key_pem is None) == (self.private_key_file is None):
            raise ValueError("give exactly one of private_key_pem or private_key_file")
        return self


SalesforceAuth = Annotated[OAuthWebServer | JWTBearer, Field(discriminator="kind")]


class SalesforceConfig(_Strict):
    """Everything one Salesforce connection needs; secrets stay `SecretStr`."""

    instance_url: str
    auth: SalesforceAuth
    api_version: str = "60.0"
    verify: bool | str = Field(
        True, description="TLS verification: True, or the path of a CA bundle to trust."
    )
    account: str | None = Field(
        None, description="Org id; keys the shared rate limiter (else the instance URL)."
    )
    overlap_s: float = Field(
        0.0,
        ge=0.0,
        description="Re-read window below the bookmark for transactions that commit late.",
    )
    query_batch_size: int | None = Field(
        None, ge=200, le=2000, description="Sforce-Query-Options batchSize (a hint)."
    )
    language_field: str | None = "Language__c"
    custom_fields: tuple[str, ...] = Field((), description="Extra fields copied to Lead.custom.")
    lost_statuses: tuple[str, ...] = ("Closed - Not Converted",)
    refused_call_dispositions: tuple[str, ...] = ("not interested", "refused", "do not call")
    campaign_kinds: Mapping[str, str] = Field(default_factory=lambda: dict(DEFAULT_CAMPAIGN_KINDS))
    permission_set: str = Field(
        "Leadbridge_Integration",
        description="Name or 0PS id of a permission set assigned to the API user; FLS "
        "for the score fields is granted on it.",
    )
    write_mode: Literal["collections", "auto"] = Field(
        "collections",
        description="'auto' accepts large batches and sends those above bulk_threshold "
        "through Bulk API 2.0.",
    )
    bulk_threshold: int = Field(2000, ge=201)
    bulk_batch_size: int = Field(10_000, ge=201, le=150_000_000)
    bulk_poll_s: float = Field(2.0, gt=0.0)
    daily_reserve: int = Field(
        1000, ge=0, description="Never start a call when fewer daily API calls remain."
    )
    allocation_retry_s: float = Field(
        3600.0,
        gt=0.0,
        description="Estimated wait for the rolling 24 h allocation to free up "
        "(Salesforce does not say).",
    )
    concurrency_retry_s: float = Field(
        5.0, gt=0.0, description="Wait after a concurrent-request REQUEST_LIMIT_EXCEEDED."
    )
    budgets: Mapping[str, tuple[int, float]] = Field(
        default_factory=lambda: {"default": (100, 1.0)},
        description="Client-side pacing (Salesforce has no short window; this is courtesy).",
    )
    timeout_s: float = Field(120.0, gt=0.0)

    @field_validator("instance_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not re.match(r"^https://[^/\s]+$", value.rstrip("/")):
            raise ValueError("must be https://<host>[:port] (simple-salesforce only speaks https)")
        return value.rstrip("/")

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"\d{2}\.0", value):
            raise ValueError("must look like '60.0'")
        return value


def parse_config(data: Mapping[str, Any], *, file: str | None = None) -> SalesforceConfig:
    """Validate a config mapping; the first problem becomes a `ConfigError` naming its key."""
    try:
        return SalesforceConfig.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or None
        # `from None`: pydantic's error text echoes input values, which may be secrets.
        raise ConfigError(first["msg"], file=file, key=key) from None
