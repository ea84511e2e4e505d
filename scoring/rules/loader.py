"""Load a scoring config from a TOML file or a shipped preset, with located errors.

A user who mistypes ``max_per_dya`` must read one line naming the file, the key and
what is wrong (with a suggestion), never a pydantic dump or a traceback.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from leadbridge.core.errors import ConfigError
from leadbridge.scoring.rules import config as cfg

__all__ = ["PRESETS", "load_config", "parse_config", "preset_path"]

PRESETS: tuple[str, ...] = ("omnichannel", "b2b_saas", "swiss_b2b", "mortgage_broker")
"""The presets shipped under ``mappings/scoring/``."""

_MODELS: tuple[type[BaseModel], ...] = (
    cfg.ScoringConfig,
    cfg.IntentConfig,
    cfg.IntentRule,
    cfg.Group,
    cfg.FitConfig,
    cfg.FitCriterion,
    cfg.ActivityFact,
    cfg.DecayConfig,
    cfg.Tier,
    cfg.Stage,
    cfg.Grid,
)
_KNOWN_KEYS = sorted({(f.alias or n) for m in _MODELS for n, f in m.model_fields.items()})


def preset_path(name: str) -> Path:
    """Where a shipped preset lives; `ConfigError` for an unknown name."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset (known: {', '.join(PRESETS)})", key=name)
    ref = resources.files("leadbridge.mappings").joinpath("scoring", f"{name}.toml")
    return Path(str(ref))


def load_config(path_or_preset: str | Path) -> cfg.ScoringConfig:
    """Read a preset name (``omnichannel``) or a TOML file into a validated config."""
    if isinstance(path_or_preset, str) and path_or_preset in PRESETS:
        path = preset_path(path_or_preset)
    else:
        path = Path(path_or_preset)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", file=str(path)) from exc
    return parse_config(text, file=str(path))


def parse_config(text: str, *, file: str = "<config>") -> cfg.ScoringConfig:
    """Parse TOML text; every failure is a `ConfigError` naming `file` and the key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=file) from exc
    try:
        return cfg.ScoringConfig.model_validate(raw)
    except ConfigError as exc:
        raise ConfigError(exc.reason, file=file, key=exc.key) from exc
    except ValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        key = _key_path(first["loc"], raw)
        reason = _reason(first, key)
        loc = tuple(first["loc"])
        # a bad item also makes its container fail ("too short"): not a separate mistake
        others = [e for e in errors[1:] if tuple(e["loc"]) != loc[: len(e["loc"])]]
        if others:
            reason += f" (and {len(others)} more)"
        raise ConfigError(reason, file=file, key=key or None) from exc


def _reason(error: Mapping[str, Any], key: str) -> str:
    if error["type"] == "extra_forbidden":
        leaf = key.rsplit(".", 1)[-1]
        close = difflib.get_close_matches(leaf, _KNOWN_KEYS, n=1, cutoff=0.7)
        return "unknown key" + (f"; did you mean '{close[0]}'?" if close else "")
    if error["type"] == "missing":
        return "required key is missing"
    message = str(error["msg"])
    return message[0].lower() + message[1:] if message else "invalid value"


def _key_path(loc: Sequence[int | str], raw: Any) -> str:
    """``('intent', 'rules', 3, 'points')`` -> ``intent.rules[pricing].points``."""
    parts: list[str] = []
    node: Any = raw
    for item in loc:
        if isinstance(item, int):
            name = None
            if isinstance(node, list) and 0 <= item < len(node):
                node = node[item]
                if isinstance(node, dict) and isinstance(node.get("name"), str):
                    name = node["name"]
            else:
                node = None
            label = name if name is not None else str(item)
            if parts:
                parts[-1] += f"[{label}]"
            else:
                parts.append(f"[{label}]")
        else:
            parts.append(str(item))
            node = node.get(item) if isinstance(node, dict) else None
    return ".".join(parts)
