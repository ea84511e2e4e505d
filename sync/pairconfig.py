"""The config file of a CRM pair, shared by ``leadbridge bisync`` and ``leadbridge migrate``.

    state = "pair.db"                  # a SQLite path or a SQLAlchemy URL
    mapping = "hubspot-salesforce"     # a bundled mapping or a TOML path (default: <a>-<b>)
    sample_fraction = 0.1              # migrate: share of records in a sample apply
    overlap_s = 2.0                    # bisync: re-read window below each cursor

    [owners]                           # side-a owner id -> side-b owner id
    "71000001" = "0058d000000AbCdEAF"

    [crm.hubspot]                      # connection settings per CRM name
    auth = { kind = "private_app", token_env = "HUBSPOT_TOKEN" }

    [crm.salesforce]
    instance_url = "https://acme.my.salesforce.com"
    ...

Settings ending in ``_env`` are read from the environment (`sync.config.resolve_env`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leadbridge.core.errors import ConfigError
from leadbridge.sync.config import resolve_env

__all__ = ["PairConfig", "load_pair_config"]


class PairConfig(BaseModel):
    """The whole file, with relative paths resolved against its folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: str = ".leadbridge/pair.db"
    mapping: str | None = None
    sample_fraction: float = Field(0.1, gt=0.0, le=1.0)
    overlap_s: float = Field(2.0, ge=0.0)
    owners: dict[str, str] = Field(default_factory=dict)
    crm: dict[str, dict[str, Any]] = Field(default_factory=dict)
    file: str = ""

    def settings(self, crm: str) -> dict[str, Any]:
        """The connection settings of `crm`, secrets resolved from the environment."""
        if crm not in self.crm:
            known = ", ".join(sorted(self.crm)) or "none"
            raise ConfigError(f"no [crm.{crm}] table (configured: {known})", file=self.file)
        return resolve_env(self.crm[crm], file=self.file, prefix=f"crm.{crm}")

    def mapping_for(self, a: str, b: str) -> str:
        """The mapping to load: the configured one, else the bundled ``<a>-<b>``."""
        return self.mapping or f"{a}-{b}"


def load_pair_config(path: str | Path) -> PairConfig:
    """Read and validate a pair config; every error names the file and the key."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(file)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(file)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(file)) from None
    try:
        config = PairConfig.model_validate({**raw, "file": str(file)})
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or None
        reason = "unknown key (check the spelling)" if first["type"] == "extra_forbidden" else None
        raise ConfigError(reason or first["msg"], file=str(file), key=key) from None
    base = file.resolve().parent
    update: dict[str, Any] = {}
    if "://" not in config.state and not Path(config.state).is_absolute():
        update["state"] = str(base / config.state)
    if (
        config.mapping
        and config.mapping.endswith(".toml")
        and not Path(config.mapping).is_absolute()
    ):
        update["mapping"] = str(base / config.mapping)
    return config.model_copy(update=update)
