"""Instants as CRMs spell them: epoch milliseconds and ISO 8601 strings.

Emulators keep every instant as integer epoch milliseconds (cheap to index and compare)
and only format at the HTTP boundary, so a filter value written either way compares the
same.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

__all__ = ["from_ms", "now_ms", "parse_instant", "to_iso_ms", "to_ms"]


def now_ms() -> int:
    """The wall clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def to_ms(value: datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive ones are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime of epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def to_iso_ms(ms: int) -> str:
    """`2024-05-01T12:30:00.123Z`: the shape HubSpot and most REST CRMs return."""
    seconds, millis = divmod(ms, 1000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{millis:03d}Z"


def parse_instant(value: object) -> int | None:
    """Epoch ms from an epoch-ms number/string or an ISO date/datetime; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return to_ms(parsed)
