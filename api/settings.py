"""The ``[api]`` section of `leadbridge.toml`: who may issue tokens and how to check them.

    [api]
    issuer = "https://idp.example.ch/realms/leadbridge"
    audience = "leadbridge-api"
    jwks_url = "https://idp.example.ch/realms/leadbridge/protocol/openid-connect/certs"
    # or jwks_file = "jwks.json"
    algorithms = ["RS256", "ES256", "EdDSA"]
    host = "127.0.0.1"
    port = 8080

Only asymmetric algorithms are accepted: a shared HMAC secret would let every service
that verifies tokens also mint them. The JWKS URL must be https, except on a loopback
host (local identity providers, tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from leadbridge.core.errors import ConfigError

__all__ = ["Algorithm", "ApiSettings", "parse_api_settings"]

Algorithm = Literal[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
    "Ed25519",
]  # fmt: skip
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class ApiSettings(BaseModel):
    """How the HTTP API authenticates callers and where it listens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    issuer: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    jwks_url: str | None = None
    jwks_file: str | None = None
    algorithms: tuple[Algorithm, ...] = ("RS256", "ES256", "EdDSA")
    leeway_s: int = Field(30, ge=0, le=300)
    jwks_cache_s: float = Field(300.0, gt=0)
    jwks_refresh_min_s: float = Field(30.0, ge=0)
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    page_max: int = Field(1000, ge=1)
    actor_claim: str = "sub"

    @model_validator(mode="after")
    def _jwks(self) -> ApiSettings:
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("set exactly one of 'jwks_url' or 'jwks_file'")
        if self.jwks_url is not None:
            parsed = urlparse(self.jwks_url)
            if parsed.scheme != "https" and not (
                parsed.scheme == "http" and parsed.hostname in _LOOPBACK
            ):
                raise ValueError("jwks_url must be https (http only on a loopback host)")
        if not self.algorithms:
            raise ValueError("list at least one algorithm")
        return self


def parse_api_settings(
    data: Mapping[str, Any], *, file: str | None = None, base: Path | None = None
) -> ApiSettings:
    """Validate the section; a relative `jwks_file` resolves against `base`."""
    if not data:
        raise ConfigError(
            "no [api] section: set issuer, audience and jwks_url", file=file, key="api"
        )
    try:
        settings = ApiSettings.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(["api", *(str(p) for p in first["loc"])])
        reason = (
            "unknown key (check the spelling)"
            if first["type"] == "extra_forbidden"
            else first["msg"]
        )
        raise ConfigError(reason, file=file, key=key) from None
    if settings.jwks_file is not None and base is not None:
        path = Path(settings.jwks_file).expanduser()
        if not path.is_absolute():
            settings = settings.model_copy(update={"jwks_file": str(base / path)})
    return settings
