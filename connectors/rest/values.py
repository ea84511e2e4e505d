"""Reading values out of raw records, and writing them into payloads, as a profile says.

Raw vendor dicts live only here and in the mappers: a `FieldRef` (a dotted path or a
rule with a constant, a value map and a type) turns into one typed scalar, or a
`MappingError` with a one-line reason that becomes the record's dead-letter entry.

    >>> read_value({"dossier": {"status": "Accord"}}, "dossier.status")
    'Accord'
    >>> parse_instant(1767225600000, "epoch_ms").isoformat()
    '2026-01-01T00:00:00+00:00'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

from leadbridge.connectors.rest.profile import FieldRef, FieldRule, TimeFormat, ValueType
from leadbridge.core.errors import MappingError
from leadbridge.core.paginators import dig

__all__ = [
    "JSONScalar",
    "coerce",
    "format_instant",
    "parse_instant",
    "put",
    "read_value",
    "render_template",
]

JSONScalar = str | int | float | bool | None

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def _show(value: object) -> str:
    text = repr(value)
    return text[:60] + ("…" if len(text) > 60 else "")


def parse_instant(value: object, fmt: TimeFormat = "iso") -> datetime:
    """An aware UTC datetime from an ISO string or epoch seconds/milliseconds.

    Naive ISO timestamps are read as UTC: most REST CRMs store UTC and omit the offset.
    """
    if isinstance(value, bool) or value is None or value == "":
        raise MappingError(f"expected a timestamp, got {_show(value)}")
    if fmt in ("epoch_ms", "epoch_s") or isinstance(value, int | float):
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise MappingError(f"expected an epoch timestamp, got {_show(value)}") from None
        if not math.isfinite(number):
            raise MappingError(f"expected an epoch timestamp, got {_show(value)}")
        seconds = number / 1000.0 if fmt == "epoch_ms" or number > 1e11 else number
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise MappingError(f"timestamp out of range: {_show(value)}") from None
    if not isinstance(value, str):
        raise MappingError(f"expected an ISO timestamp, got {_show(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise MappingError(f"expected an ISO timestamp, got {_show(value)}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_instant(value: datetime, fmt: TimeFormat = "iso") -> str:
    """A datetime as a query-string value in the vendor's format."""
    value = value.astimezone(UTC)
    if fmt == "epoch_ms":
        return str(int(value.timestamp() * 1000))
    if fmt == "epoch_s":
        return str(int(value.timestamp()))
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def coerce(value: Any, kind: ValueType | None, fmt: TimeFormat = "iso") -> JSONScalar:
    """`value` as the declared type; containers and unconvertible values are MappingErrors."""
    if value is None:
        return None
    if kind is None:
        if isinstance(value, str | int | float | bool):
            return value
        raise MappingError(f"expected a scalar, got {_show(value)}")
    if kind == "datetime":
        return parse_instant(value, fmt).isoformat()
    if kind == "string":
        if isinstance(value, dict | list):
            raise MappingError(f"expected text, got {_show(value)}")
        return str(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "oui", "ja", "si"):
            return True
        if text in ("false", "0", "no", "non", "nein"):
            return False
        raise MappingError(f"expected a boolean, got {_show(value)}")
    if isinstance(value, bool | dict | list):
        raise MappingError(f"expected a number, got {_show(value)}")
    try:
        number = float(str(value).strip().replace("'", "").replace("_", ""))
    except ValueError:
        raise MappingError(f"expected a number, got {_show(value)}") from None
    if not math.isfinite(number):
        raise MappingError(f"expected a finite number, got {_show(value)}")
    if kind == "integer":
        if not number.is_integer():
            raise MappingError(f"expected an integer, got {_show(value)}")
        return int(number)
    return number


def _lookup(values: Mapping[str, Any], raw: Any) -> tuple[bool, Any]:
    key = str(raw).lower() if isinstance(raw, bool) else str(raw)
    if key in values:
        return True, values[key]
    return False, None


def read_value(record: Mapping[str, Any], ref: FieldRef, *, what: str = "") -> JSONScalar:
    """Read and convert one value; `what` names the target field in error messages."""
    if isinstance(ref, str):
        return coerce(_read(record, ref, what), None)
    rule: FieldRule = ref
    raw = rule.const if rule.path is None else _read(record, rule.path, what)
    if raw is not None and rule.values:
        found, mapped = _lookup(rule.values, raw)
        if found:
            raw = mapped
        elif rule.on_unmapped == "null":
            raw = None
        elif rule.on_unmapped == "reject":
            raise MappingError(f"{what or rule.path}: unmapped value {_show(raw)}")
    try:
        return coerce(raw, rule.type, rule.format)
    except MappingError as exc:
        raise MappingError(f"{what or rule.path}: {exc}") from None


def _read(record: Mapping[str, Any], path: str, what: str) -> Any:
    value = dig(record, path)
    if isinstance(value, str) and not value.strip():
        return None
    if isinstance(value, dict | list) and what:
        raise MappingError(f"{what}: expected a scalar at '{path}', got {_show(value)}")
    return value


def render_template(template: str, record: Mapping[str, Any]) -> str | None:
    """Fill ``{path}`` placeholders from the record (lower-cased); None if one is missing."""
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = dig(record, match.group(1))
        if value is None or isinstance(value, dict | list) or str(value).strip() == "":
            missing = True
            return ""
        return str(value).strip().lower()

    rendered = _PLACEHOLDER.sub(fill, template)
    return None if missing else rendered


def put(document: MutableMapping[str, Any], path: str, value: Any) -> None:
    """Set a dotted path in a nested dict, creating the intermediate objects."""
    parts = path.split(".")
    node = document
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[parts[-1]] = value
