"""`leadbridge.toml`: which CRMs to sync, how to score, where to keep state.

    state = ".leadbridge/state.db"            # a SQLite path or a SQLAlchemy URL

    [scoring]
    preset = "omnichannel"                    # or config = "my-scoring.toml"

    [predictive]                              # optional: blend a model of the CRM's outcomes
    enabled = true
    retrain_cron = "0 3 * * *"                # the daemon's feedback cycle (UTC)
    blend = { mode = "rules_floor" }          # model probability x 100, rules tier as floor

    [[connection]]
    name = "hubspot-main"
    crm = "hubspot"
    every_minutes = 15                        # or cron = "*/15 * * * *"
    [connection.settings]
    base_url = "https://api.hubapi.com"
    auth = { kind = "private_app", token_env = "HUBSPOT_TOKEN" }  # secrets: from the environment

Any setting ending in ``_env`` is replaced by the environment variable it names (the key
without the suffix), so secrets never live in the file. Every error names the file and
the key, and says what is wrong.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from apscheduler.triggers.cron import CronTrigger
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from leadbridge.core.errors import ConfigError
from leadbridge.scoring.predictive.blend import BlendConfig
from leadbridge.sync.webhooks.config import ServiceSettings, WebhookSettings

__all__ = [
    "ConnectionConfig",
    "CronText",
    "LeadbridgeConfig",
    "PredictiveSettings",
    "ScoringChoice",
    "load_config",
    "resolve_env",
]


def _valid_cron(value: str) -> str:
    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"invalid cron expression: {exc}") from None
    return value


CronText = Annotated[str, AfterValidator(_valid_cron)]
"""A five-field crontab (UTC), checked when the file loads."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoringChoice(_Strict):
    """A bundled preset by name, or a scoring TOML file."""

    preset: str | None = None
    config: str | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ScoringChoice:
        if (self.preset is None) == (self.config is None):
            raise ValueError("set exactly one of 'preset' or 'config'")
        return self

    @property
    def source(self) -> str:
        return self.preset or self.config or ""


class PredictiveSettings(_Strict):
    """`[predictive]`: a model trained on each connection's outcomes, blended into the score.

    Models live in the state store's registry under the connection's name (or `model`).
    Until a connection has `min_outcomes` decided outcomes (and `min_per_class` of each),
    or while no model is champion, the rules score stands alone.
    """

    enabled: bool = False
    model: str | None = Field(default=None, min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    blend: BlendConfig = Field(default_factory=BlendConfig)
    min_outcomes: int = Field(default=200, ge=2)
    min_per_class: int = Field(default=20, ge=1)
    retrain_cron: CronText | None = "0 3 * * *"
    min_gain: float = Field(default=0.0, ge=0.0, le=1.0)
    top_factors: int = Field(default=3, ge=1, le=10)


class ConnectionConfig(_Strict):
    """One CRM account to sync on a schedule."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    crm: str = Field(min_length=1)
    every_minutes: float | None = Field(default=None, gt=0)
    cron: str | None = None
    jitter_s: int = Field(default=30, ge=0)
    misfire_grace_s: int = Field(default=300, ge=0)
    settings: dict[str, Any] = Field(default_factory=dict)
    webhook: WebhookSettings | None = None

    @model_validator(mode="after")
    def _schedule(self) -> ConnectionConfig:
        if self.every_minutes is not None and self.cron is not None:
            raise ValueError("set 'every_minutes' or 'cron', not both")
        return self


class LeadbridgeConfig(_Strict):
    """The whole file."""

    state: str = ".leadbridge/state.db"
    scoring: ScoringChoice = Field(default_factory=lambda: ScoringChoice(preset="omnichannel"))
    connection: list[ConnectionConfig] = Field(default_factory=list)
    predictive: PredictiveSettings = Field(default_factory=PredictiveSettings)
    daemon: ServiceSettings = Field(default_factory=ServiceSettings)
    # Validated by their own packages (privacy.config): kept here so one file holds all.
    privacy: dict[str, Any] = Field(default_factory=dict)
    audit: dict[str, Any] = Field(default_factory=dict)
    api: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_names(self) -> LeadbridgeConfig:
        names = [c.name for c in self.connection]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"connection names must be unique; repeated: {', '.join(dupes)}")
        return self


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(item)
    return ".".join(parts)


def load_config(path: str | Path) -> LeadbridgeConfig:
    """Read and validate a leadbridge.toml; relative paths resolve against its folder."""
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
        config = LeadbridgeConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = _location(first["loc"]) or None
        reason = first["msg"]
        if first["type"] == "extra_forbidden":
            reason = "unknown key (check the spelling)"
        raise ConfigError(reason, file=str(file), key=key) from None
    base = file.resolve().parent
    state = config.state
    if "://" not in state and not Path(state).is_absolute():
        state = str(base / state)
    scoring = config.scoring
    if scoring.config is not None and not Path(scoring.config).is_absolute():
        scoring = ScoringChoice(config=str(base / scoring.config))
    return config.model_copy(update={"state": state, "scoring": scoring})


def resolve_env(
    settings: Mapping[str, Any], *, file: str, prefix: str, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Replace every ``<key>_env`` setting by the environment variable it names."""
    env = os.environ if environ is None else environ
    resolved: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, Mapping):
            resolved[key] = resolve_env(value, file=file, prefix=f"{prefix}.{key}", environ=env)
        elif key.endswith("_env"):
            if not isinstance(value, str) or value not in env:
                raise ConfigError(
                    f"environment variable {value!r} is not set", file=file, key=f"{prefix}.{key}"
                )
            resolved[key.removesuffix("_env")] = env[value]
        else:
            resolved[key] = value
    return resolved
