"""Find, parse and validate a REST profile; every mistake is one located `ConfigError`.

A profile is named (``"boma"`` → the bundled ``mappings/boma.toml``) or given as a path
to any ``.toml`` file. The first problem found is reported with the file and the dotted
key, e.g. ``mappings/boma.toml, key 'streams.leads.pagination.style': unknown
pagination style 'pages' (known: cursor, next_link, none, offset, page)``.

    >>> profile = load_profile("boma")
    >>> profile.crm.name
    'boma'
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from leadbridge.connectors.rest.profile import RestProfile
from leadbridge.core.errors import ConfigError

__all__ = ["available_profiles", "load_profile", "parse_profile"]

_BUNDLE = "leadbridge.mappings"


def available_profiles() -> list[str]:
    """Names of the REST profiles shipped in ``mappings/`` (scoring presets excluded)."""
    names = []
    for entry in resources.files(_BUNDLE).iterdir():
        if entry.name.endswith(".toml") and entry.is_file():
            try:
                data = tomllib.loads(entry.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError):
                continue
            if isinstance(data.get("crm"), dict):
                names.append(entry.name.removesuffix(".toml"))
    return sorted(names)


def load_profile(ref: str | Path) -> RestProfile:
    """A profile by bundled name (``"boma"``) or by path to a ``.toml`` file."""
    text, origin = _read(ref)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", file=origin) from None
    return parse_profile(data, file=origin)


def parse_profile(data: dict[str, Any], *, file: str | None = None) -> RestProfile:
    """Validate an already parsed profile mapping."""
    try:
        profile = RestProfile.model_validate(data)
    except ValidationError as exc:
        first = _most_telling(exc.errors())
        # `from None`: pydantic echoes input values; keep the message to the located reason.
        raise ConfigError(_reason(first), file=file, key=_key(first)) from None
    messages = profile.messages
    if messages is not None and messages.stream and messages.stream not in profile.streams:
        raise ConfigError(
            f"{messages.stream!r} is not a declared stream", file=file, key="messages.stream"
        )
    return profile


def _read(ref: str | Path) -> tuple[str, str]:
    text_ref = str(ref)
    if isinstance(ref, Path) or text_ref.endswith(".toml") or "/" in text_ref:
        path = Path(text_ref).expanduser()
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except FileNotFoundError:
            raise ConfigError("profile file not found", file=str(path), key="profile") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read profile: {exc}", file=str(path)) from None
    if not text_ref.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"invalid profile name {text_ref!r}", key="profile")
    entry = resources.files(_BUNDLE) / f"{text_ref}.toml"
    if not entry.is_file():
        known = ", ".join(available_profiles()) or "none"
        raise ConfigError(f"no bundled REST profile {text_ref!r} (known: {known})", key="profile")
    return entry.read_text(encoding="utf-8"), f"mappings/{text_ref}.toml"


_TYPE_ONLY = {"string_type", "model_type", "dict_type", "model_attributes_type"}


def _most_telling(errors: list[ErrorDetails]) -> ErrorDetails:
    """A `str | FieldRule` union fails once per branch: prefer the branch that says why."""
    return min(errors, key=lambda e: (e["type"] in _TYPE_ONLY, -len(e["loc"])))


def _key(error: ErrorDetails) -> str | None:
    parts = [str(p) for p in error["loc"]]
    # Discriminated unions add the tag as a path element (`pagination.cursor.limit`):
    # drop it, the user never wrote it.
    ctx = error.get("ctx") or {}
    if error["type"] == "union_tag_invalid" and "discriminator" in ctx:
        parts.append(str(ctx["discriminator"]).strip("'"))
    elif error["type"] == "union_tag_not_found":
        parts.append(str(ctx.get("discriminator", "")).strip("'"))
    cleaned = [p for i, p in enumerate(parts) if not _is_tag(parts, i)]
    # `str | FieldRule` unions report the branch (`str`, `FieldRule`): not a user key.
    cleaned = [p for p in cleaned if p not in _BRANCHES and "[" not in p]
    return ".".join(cleaned) or None


_BRANCHES = {"str", "constrained-str", "FieldRule", "int", "float", "bool"}
_TAGS = {"none", "cursor", "page", "offset", "next_link"} | {
    "bearer",
    "api_key",
    "oauth_client_credentials",
}


def _is_tag(parts: list[str], index: int) -> bool:
    return index > 0 and parts[index - 1] in ("pagination", "auth") and parts[index] in _TAGS


def _reason(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key (not part of the REST profile schema)"
    if kind == "missing":
        return "required key is missing"
    if kind == "union_tag_invalid":
        tag = ctx.get("tag")
        expected = ctx.get("expected_tags", "")
        return f"unknown value {tag!r} (known: {expected})"
    if kind == "union_tag_not_found":
        return f"missing {ctx.get('discriminator', 'type')!s} (which kind of entry this is)"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
