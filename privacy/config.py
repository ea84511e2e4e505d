"""The privacy, audit and API sections of `leadbridge.toml`, next to the sync config.

    [privacy]
    controller = "Example SA, Lausanne"
    contact = "dpo@example.ch"
    data_dir = ".leadbridge/privacy"       # exports and certificates (0700)
    key_dir = ".leadbridge/keys"           # privacy.key: keys the suppression list
    salesforce_permanent = true            # erasure skips the recycle bin (Bulk hardDelete)
    [privacy.retention]
    dead_letters_days = 90
    schedule = "30 2 * * *"                # the daemon enforces it nightly (UTC)
    [privacy.connections.hubspot-main]
    country = "DE"                         # where this CRM account stores data

    [audit]
    db = ".leadbridge/audit.db"

    [api]                                   # see leadbridge.api.settings
    issuer = "https://idp.example.ch/"

The sync's own loader refuses unknown top-level keys, so this module reads the file once,
takes its three sections out and validates the rest as the sync config, resolving every
relative path against the file's folder.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from leadbridge.core.errors import ConfigError
from leadbridge.sync.config import CronText, LeadbridgeConfig, ScoringChoice

__all__ = [
    "AuditSettings",
    "ConnectionPrivacy",
    "PrivacyConfig",
    "RetentionPolicy",
    "Settings",
    "load_settings",
    "parse_settings",
]

M = TypeVar("M", bound=BaseModel)

DEFAULT_PURPOSE = (
    "Lead scoring: rank prospects by fit and engagement to prioritise sales follow-up "
    "(profiling, GDPR Art. 4(4); nFADP Art. 5(f))"
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetentionPolicy(_Strict):
    """How long each kind of local data is kept (GDPR Art. 5(1)(e)); None keeps it."""

    inactive_leads_days: float | None = Field(730.0, gt=0)
    deleted_leads_days: float | None = Field(30.0, gt=0)
    activities_days: float | None = Field(730.0, gt=0)
    score_history_days: float | None = Field(365.0, gt=0)
    dead_letters_days: float | None = Field(90.0, gt=0)
    runs_days: float | None = Field(180.0, gt=0)
    exports_days: float | None = Field(30.0, gt=0)
    cache_days: float | None = Field(30.0, gt=0)
    cache_dirs: tuple[str, ...] = ()
    schedule: CronText | None = "30 2 * * *"
    """When `leadbridge daemon` enforces this policy (UTC crontab); None: only by command."""


class ConnectionPrivacy(_Strict):
    """What the record of processing says about one connection, beyond what config implies."""

    country: str | None = Field(None, min_length=2, max_length=2)
    recipient: str | None = None
    purposes: tuple[str, ...] | None = None


class PrivacyConfig(_Strict):
    """The ``[privacy]`` section."""

    controller: str = "the operator of this leadbridge installation"
    contact: str | None = None
    purposes: tuple[str, ...] = (DEFAULT_PURPOSE,)
    legal_basis: str = (
        "legitimate interest (GDPR Art. 6(1)(f)); explicit consent where high-risk "
        "profiling requires it (nFADP Art. 6(7))"
    )
    data_subjects: tuple[str, ...] = ("prospects", "contact persons of customers")
    data_dir: str = ".leadbridge/privacy"
    key_dir: str = ".leadbridge/keys"
    default_region: str = Field("CH", min_length=2, max_length=2)
    salesforce_permanent: bool = True
    retention: RetentionPolicy = RetentionPolicy()
    connections: dict[str, ConnectionPrivacy] = Field(default_factory=dict)


class AuditSettings(_Strict):
    """The ``[audit]`` section: where the audit log, its keys and its anchors live."""

    db: str = ".leadbridge/audit.db"
    key_dir: str = ".leadbridge/keys"
    checkpoints: str | None = None


@dataclass(frozen=True)
class Settings:
    """The whole file: the sync config plus the privacy, audit and API sections."""

    file: Path
    base: LeadbridgeConfig
    privacy: PrivacyConfig
    audit: AuditSettings
    api: Mapping[str, Any]


def _first_error(exc: ValidationError, prefix: str) -> tuple[str, str | None]:
    first = exc.errors()[0]
    parts = [prefix, *(str(p) for p in first["loc"])]
    reason = (
        "unknown key (check the spelling)" if first["type"] == "extra_forbidden" else first["msg"]
    )
    return reason, ".".join(p for p in parts if p) or None


def _resolve(base: Path, value: str) -> str:
    if "://" in value or Path(value).expanduser().is_absolute():
        return str(Path(value).expanduser()) if "://" not in value else value
    return str(base / value)


def _section(model: type[M], data: Mapping[str, Any], name: str, file: Path) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        reason, key = _first_error(exc, name)
        raise ConfigError(reason, file=str(file), key=key) from None


def parse_settings(raw: Mapping[str, Any], *, file: Path) -> Settings:
    """Validate an already parsed file; relative paths resolve against `file`'s folder."""
    data = dict(raw)
    sections: dict[str, Any] = {}
    for name in ("privacy", "audit", "api"):
        value = data.pop(name, {})
        if not isinstance(value, Mapping):
            raise ConfigError("must be a table", file=str(file), key=name)
        sections[name] = dict(value)
    try:
        base = LeadbridgeConfig.model_validate(data)
    except ValidationError as exc:
        reason, key = _first_error(exc, "")
        raise ConfigError(reason, file=str(file), key=key) from None
    privacy = _section(PrivacyConfig, sections["privacy"], "privacy", file)
    audit = _section(AuditSettings, sections["audit"], "audit", file)
    folder = file.resolve().parent
    scoring = base.scoring
    if scoring.config is not None:
        scoring = ScoringChoice(config=_resolve(folder, scoring.config))
    base = base.model_copy(update={"state": _resolve(folder, base.state), "scoring": scoring})
    retention = privacy.retention.model_copy(
        update={"cache_dirs": tuple(_resolve(folder, d) for d in privacy.retention.cache_dirs)}
    )
    privacy = privacy.model_copy(
        update={
            "data_dir": _resolve(folder, privacy.data_dir),
            "key_dir": _resolve(folder, privacy.key_dir),
            "retention": retention,
        }
    )
    audit = audit.model_copy(
        update={
            "db": _resolve(folder, audit.db),
            "key_dir": _resolve(folder, audit.key_dir),
            "checkpoints": _resolve(folder, audit.checkpoints) if audit.checkpoints else None,
        }
    )
    return Settings(file=file, base=base, privacy=privacy, audit=audit, api=sections["api"])


def load_settings(path: str | Path) -> Settings:
    """Read `leadbridge.toml`; every mistake is a `ConfigError` naming the file and key."""
    file = Path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("file not found", file=str(file)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(file)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(file)) from None
    return parse_settings(raw, file=file)
