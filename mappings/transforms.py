"""Value transforms: each side's format to one canonical value and back.

A field mapping pairs two vendor fields that hold the same fact in different shapes
(``"Switzerland"`` and ``"CH"``; ``"+41 44 123 45 67"`` and ``"+41441234567"``;
``"1714521600000"`` and ``"2024-05-01"``). A `Codec` reads one side's raw value into a
*canonical* value (``parse``) and writes a canonical value in that side's format
(``render``). Sync compares canonical values, never raw text, so a reformatting on one
side is not a change, and a value written by leadbridge reads back as what was written.

``parse`` raises `MappingError` for a value that cannot mean what the field promises (a
phone number ``"n/a"``); callers report it instead of copying garbage across CRMs.

    >>> codec = make_codec("phone", "international", region="CH")
    >>> codec.parse("044 123 45 67"), codec.render("+41441234567")
    ('+41441234567', '+41 44 123 45 67')
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import phonenumbers

from leadbridge.core.errors import MappingError
from leadbridge.mappings.places import (
    NAME_LANGUAGES,
    canton_code,
    canton_name,
    country_code,
    country_name,
    currency_code,
    currency_name,
    language_code,
    language_name,
)

__all__ = ["FORMATS", "TRANSFORMS", "Canonical", "Codec", "make_codec"]

Canonical = str | int | float | bool | None
"""What codecs produce: JSON scalars, comparable across CRMs."""

_NAMES = tuple(f"name_{lang}" for lang in NAME_LANGUAGES)
FORMATS: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "email": ("text",),
    "enum": ("text",),
    "phone": ("e164", "international", "national"),
    "country": ("iso2", "iso3", "name", *_NAMES),
    "canton": ("code", "iso", "name", *_NAMES),
    "language": ("code", "name"),
    "currency": ("code", "name"),
    "number": ("number", "string"),
    "integer": ("number", "string"),
    "bool": ("bool", "string"),
    "date": ("iso", "epoch_ms", "swiss", "us", "iso_datetime"),
    "datetime": ("iso", "epoch_ms"),
}
"""Transform -> the side formats it accepts (the first is the default)."""

TRANSFORMS = tuple(FORMATS)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s().\-/]+$")
"""Digits and punctuation only: letters are typos, not vanity numbers, in CRM data."""


@dataclass(frozen=True)
class Codec:
    """One side's view of one field: raw vendor value <-> canonical value."""

    transform: str
    format: str
    _parse: Callable[[Any], Canonical]
    _render: Callable[[Canonical], Any]

    def parse(self, raw: Any) -> Canonical:
        """The canonical value of a raw vendor value; blank (``None``/``""``) is ``None``."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return self._parse(raw)

    def render(self, value: Canonical) -> Any:
        """A canonical value in this side's format (``None`` stays ``None``: clear it)."""
        if value is None:
            return None
        return self._render(value)

    def roundtrip(self, value: Canonical) -> Canonical:
        """What this side would hold, read back, after `value` was written to it."""
        return self.parse(self.render(value))


def _bad(transform: str, raw: Any) -> MappingError:
    text = repr(raw)
    return MappingError(f"{transform}: {text[:60]} is not valid")


def _text(raw: Any) -> str:
    if isinstance(raw, bool | int | float):
        return str(raw).lower() if isinstance(raw, bool) else str(raw)
    if not isinstance(raw, str):
        raise _bad("text", raw)
    return " ".join(raw.split())


def _email(raw: Any) -> str:
    text = _text(raw).lower()
    if not _EMAIL.match(text):
        raise _bad("email", raw)
    return text


def _phone_codec(fmt: str, region: str) -> tuple[Callable[[Any], Canonical], Callable[..., Any]]:
    styles = {
        "e164": phonenumbers.PhoneNumberFormat.E164,
        "international": phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        "national": phonenumbers.PhoneNumberFormat.NATIONAL,
    }

    def parse(raw: Any) -> Canonical:
        if not _PHONE.match(_text(raw)):
            raise _bad("phone", raw)
        try:
            number = phonenumbers.parse(_text(raw), region)
        except phonenumbers.NumberParseException:
            raise _bad("phone", raw) from None
        if not phonenumbers.is_possible_number(number):
            raise _bad("phone", raw)
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

    def render(value: Canonical) -> Any:
        number = phonenumbers.parse(str(value), region)
        return phonenumbers.format_number(number, styles[fmt])

    return parse, render


def _lookup(transform: str, find: Callable[[str], str | None]) -> Callable[[Any], Canonical]:
    def parse(raw: Any) -> Canonical:
        found = find(_text(raw))
        if found is None:
            raise _bad(transform, raw)
        return found

    return parse


def _number(raw: Any, *, integer: bool, scale: int | None) -> Canonical:
    if isinstance(raw, bool):
        raise _bad("number", raw)
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = _text(raw).replace("'", "").replace("’", "").replace(" ", "")
        if "," in text and "." not in text:
            text = text.replace(",", ".")
        text = text.replace(",", "")
        try:
            value = float(text)
        except ValueError:
            raise _bad("number", raw) from None
    if not math.isfinite(value):
        raise _bad("number", raw)
    if integer:
        return round(value)
    if scale is not None:
        value = round(value, scale)
    return int(value) if value.is_integer() else value


def _render_number(fmt: str) -> Callable[[Canonical], Any]:
    def render(value: Canonical) -> Any:
        return str(value) if fmt == "string" else value

    return render


def _bool(raw: Any) -> Canonical:
    if isinstance(raw, bool):
        return raw
    text = _text(raw).lower()
    if text in ("true", "1", "yes", "y", "on"):
        return True
    if text in ("false", "0", "no", "n", "off"):
        return False
    raise _bad("bool", raw)


def _instant(raw: Any, transform: str) -> datetime:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return datetime.fromtimestamp(raw / 1000, tz=UTC)
    text = _text(raw)
    if text.removeprefix("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    for pattern in ("%d.%m.%Y", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    iso = text.replace("Z", "+00:00").replace("z", "+00:00")
    if re.search(r"[+-]\d{4}$", iso):
        iso = iso[:-2] + ":" + iso[-2:]
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise _bad(transform, raw) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _date_parse(raw: Any) -> Canonical:
    return _instant(raw, "date").astimezone(UTC).date().isoformat()


def _date_render(fmt: str) -> Callable[[Canonical], Any]:
    def render(value: Canonical) -> Any:
        day = date.fromisoformat(str(value))
        if fmt == "epoch_ms":
            return str(int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000))
        if fmt == "swiss":
            return day.strftime("%d.%m.%Y")
        if fmt == "us":
            return day.strftime("%m/%d/%Y")
        if fmt == "iso_datetime":
            return f"{day.isoformat()}T00:00:00.000Z"
        return day.isoformat()

    return render


def _datetime_parse(raw: Any) -> Canonical:
    moment = _instant(raw, "datetime").astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _datetime_render(fmt: str) -> Callable[[Canonical], Any]:
    def render(value: Canonical) -> Any:
        if fmt == "epoch_ms":
            return str(int(_instant(value, "datetime").timestamp() * 1000))
        return str(value)

    return render


def _enum_codec(
    values: Mapping[str, str], side: str
) -> tuple[Callable[[Any], Canonical], Callable[[Canonical], Any]]:
    """Canonical values are side A's; side B reads and writes through the table."""
    if side == "a":
        known = {v.lower(): v for v in values}
        forward: dict[str, str] = {k: k for k in values}
    else:
        known = {b.lower(): a for a, b in values.items()}
        forward = dict(values)

    def parse(raw: Any) -> Canonical:
        found = known.get(_text(raw).lower())
        if found is None:
            raise _bad("enum", raw)
        return found

    def render(value: Canonical) -> Any:
        return forward[str(value)]

    return parse, render


def make_codec(
    transform: str,
    fmt: str | None = None,
    *,
    side: str = "a",
    region: str = "CH",
    values: Mapping[str, str] | None = None,
    scale: int | None = None,
) -> Codec:
    """The codec of one side of a field; unknown transforms or formats raise ValueError."""
    formats = FORMATS.get(transform)
    if formats is None:
        raise ValueError(f"unknown transform {transform!r} (known: {', '.join(TRANSFORMS)})")
    chosen = fmt or formats[0]
    if chosen not in formats:
        raise ValueError(f"transform {transform!r} has no format {chosen!r} ({', '.join(formats)})")
    parse: Callable[[Any], Canonical]
    render: Callable[[Canonical], Any]
    if transform == "text":
        parse, render = _text, str
    elif transform == "email":
        parse, render = _email, str
    elif transform == "enum":
        if not values:
            raise ValueError("an enum transform needs a 'values' table")
        parse, render = _enum_codec(values, side)
    elif transform == "phone":
        parse, render = _phone_codec(chosen, region)
    elif transform == "country":
        parse = _lookup("country", country_code)
        render = lambda v: country_name(str(v), chosen)  # noqa: E731
    elif transform == "canton":
        parse = _lookup("canton", canton_code)
        render = lambda v: canton_name(str(v), chosen)  # noqa: E731
    elif transform == "language":
        parse = _lookup("language", language_code)
        render = (lambda v: language_name(str(v))) if chosen == "name" else str
    elif transform == "currency":
        parse = _lookup("currency", currency_code)
        render = (lambda v: currency_name(str(v))) if chosen == "name" else str
    elif transform in ("number", "integer"):
        integer = transform == "integer"
        parse = lambda raw: _number(raw, integer=integer, scale=scale)  # noqa: E731
        render = _render_number(chosen)
    elif transform == "bool":
        parse = _bool
        render = (lambda v: "true" if v else "false") if chosen == "string" else bool
    elif transform == "date":
        parse, render = _date_parse, _date_render(chosen)
    else:
        parse, render = _datetime_parse, _datetime_render(chosen)
    return Codec(transform, chosen, parse, render)
