"""Webhook and daemon-service settings: who may post, how they prove it, where we listen.

A connection opts into webhooks with a ``[connection.webhook]`` table; secrets come from
the environment (``secret_env``), never from the file:

    [connection.webhook]
    secret_env = "HUBSPOT_CLIENT_SECRET"    # HubSpot: the app's client secret
    public_url = "https://hooks.example.com/webhooks/hubspot-main"   # what HubSpot signs

What the secret is depends on the sender: HubSpot's app client secret (v3 signature),
Salesforce's organization id plus a shared token for relayed change events,
ActiveCampaign's unguessable ``?token=`` (its webhooks are unsigned), and for BOMA the
HMAC key of the ``X-Leadbridge-Signature`` header.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from leadbridge.core.errors import ConfigError
from leadbridge.core.redaction import register_secret

__all__ = ["SENDERS", "Sender", "ServiceSettings", "WebhookSettings", "sender_for"]

Sender = Literal["hubspot", "salesforce", "activecampaign", "boma"]
SENDERS: tuple[Sender, ...] = ("hubspot", "salesforce", "activecampaign", "boma")


class WebhookSettings(BaseModel):
    """One connection's inbound endpoint: ``POST /webhooks/<connection name>``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sender: Sender | None = Field(
        None, description="Payload format; defaults to the connection's CRM."
    )
    secret_env: str | None = Field(
        None, description="Environment variable holding the secret (see the module doc)."
    )
    secret: str | None = Field(None, description="The secret itself (tests; prefer secret_env).")
    public_url: str | None = Field(
        None, description="The exact URL the sender posts to (HubSpot signs it)."
    )
    organization_id: str | None = Field(
        None, description="Salesforce: only outbound messages from this org are accepted."
    )
    max_age_s: int = Field(300, ge=1, description="Oldest signed timestamp accepted.")
    max_attempts: int = Field(8, ge=1, description="Processing attempts before dead-lettering.")

    def resolve_secret(
        self, *, connection: str, environ: Mapping[str, str] | None = None
    ) -> str | None:
        """The secret from the environment (or inline); registered for log redaction."""
        env = os.environ if environ is None else environ
        value = self.secret
        if self.secret_env is not None:
            value = env.get(self.secret_env)
            if not value:
                raise ConfigError(
                    f"environment variable {self.secret_env!r} is not set",
                    key=f"connection.{connection}.webhook.secret_env",
                )
        if value:
            register_secret(value)
        return value or None


class ServiceSettings(BaseModel):
    """The daemon's HTTP service: health, metrics and the webhook endpoints."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field("127.0.0.1", description="Listen address (loopback by default).")
    port: int = Field(9464, ge=0, le=65535, description="0 picks a free port.")
    stale_after_s: float | None = Field(
        None,
        gt=0,
        description="Unhealthy when the last good run is older; default 3 schedule periods.",
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Larger webhook bodies: 413.")
    retention_s: float = Field(
        172_800.0, gt=0, description="How long processed event ids are kept to refuse replays."
    )


_CRM_SENDERS: dict[str, Sender] = {
    "hubspot": "hubspot",
    "salesforce": "salesforce",
    "activecampaign": "activecampaign",
    "boma": "boma",
}


def sender_for(crm: str, settings: WebhookSettings) -> Sender:
    """The payload format of a connection's webhooks."""
    if settings.sender is not None:
        return settings.sender
    sender = _CRM_SENDERS.get(crm)
    if sender is None:
        raise ConfigError(
            f"no webhook format known for CRM {crm!r}; set 'sender' to one of {', '.join(SENDERS)}",
            key="webhook.sender",
        )
    return sender
