"""One connection's settings: which profile, which account, and the secrets.

The profile describes the API and is shareable; the settings hold what is specific to one
connection. A secret missing from the settings is read from the environment as
``LEADBRIDGE_<CRM>_<KEY>`` (``LEADBRIDGE_BOMA_CLIENT_SECRET``), so config files can stay
free of credentials.

    >>> s = parse_settings({"profile": "boma", "client_id": "leadbridge"})
    >>> s.profile
    'boma'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from leadbridge.connectors.rest.auth import Credentials
from leadbridge.core.errors import ConfigError

__all__ = ["RestSettings", "env_name", "parse_settings"]


class RestSettings(BaseModel):
    """Everything one REST connection needs besides its profile; secrets stay `SecretStr`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    profile: str = Field(min_length=1, description="Bundled profile name or path to a .toml")
    base_url: str | None = Field(None, description="Overrides the profile's crm.base_url.")
    account: str | None = Field(
        None, description="Keys the shared rate limiter (else a hash of URL and credentials)."
    )
    token: SecretStr | None = None
    api_key: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    streams: tuple[str, ...] | None = Field(None, description="Read only these streams.")
    verify: bool | str = True
    timeout_s: float = Field(30.0, gt=0.0)
    max_attempts: int = Field(8, ge=1)
    retry_base_s: float = Field(0.5, ge=0.0)
    retry_cap_s: float = Field(30.0, ge=0.0)

    def credentials(self, crm: str) -> Credentials:
        """The secrets, from these settings or else the environment."""

        def pick(name: str, value: SecretStr | str | None) -> str | None:
            if isinstance(value, SecretStr):
                return value.get_secret_value() or None
            return value or os.environ.get(env_name(crm, name)) or None

        return Credentials(
            token=pick("token", self.token),
            api_key=pick("api_key", self.api_key),
            client_id=pick("client_id", self.client_id),
            client_secret=pick("client_secret", self.client_secret),
        )


def env_name(crm: str, key: str) -> str:
    """``LEADBRIDGE_BOMA_CLIENT_SECRET`` for (``boma``, ``client_secret``)."""
    return f"LEADBRIDGE_{crm}_{key}".upper()


def parse_settings(data: Mapping[str, Any], *, file: str | None = None) -> RestSettings:
    """Validate a settings mapping; the first problem becomes a `ConfigError` naming its key."""
    try:
        return RestSettings.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or None
        reason = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        # `from None`: pydantic's error text echoes input values, which may be secrets.
        raise ConfigError(reason, file=file, key=key) from None
