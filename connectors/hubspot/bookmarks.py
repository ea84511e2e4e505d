"""Bookmarks for HubSpot streams: where a resumed read may safely start.

Cursors are inclusive, so a bookmark may repeat records but must never skip one: it
never goes backwards, never passes a record not yet read, and for multi-object reads
never passes the moment the read began (a change made meanwhile is stamped later).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from leadbridge.connectors.hubspot.activity import ENGAGEMENT_CURSOR
from leadbridge.connectors.hubspot.search import Hit
from leadbridge.core.models import Bookmark

__all__ = ["BookmarkTracker", "bookmark_at", "engagement_bookmark", "from_ms", "to_ms"]


def to_ms(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime."""
    return int(moment.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime of epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class BookmarkTracker:
    """The page bookmark of an ascending read: last record's time and id, never regressing."""

    def __init__(self, stream: str, cursor_field: str, since: Bookmark | None) -> None:
        self.stream = stream
        self.cursor_field = cursor_field
        self.bookmark: Bookmark | None = (
            Bookmark(
                stream=stream,
                cursor_field=cursor_field,
                value=since.value,
                tiebreak_id=since.tiebreak_id,
            )
            if since is not None
            else None
        )

    def advance(self, hit: Hit) -> None:
        """Move to `hit` unless that would go backwards (overlap re-reads are older)."""
        if hit.at_ms is None:
            return
        value = from_ms(hit.at_ms)
        if self.bookmark is None or value >= self.bookmark.value:
            self.bookmark = Bookmark(
                stream=self.stream, cursor_field=self.cursor_field, value=value, tiebreak_id=hit.id
            )


def bookmark_at(stream: str, cursor_field: str, value: datetime | None) -> Bookmark | None:
    if value is None:
        return None
    return Bookmark(stream=stream, cursor_field=cursor_field, value=value)


def engagement_bookmark(
    progress: Mapping[str, int | None], floor: int | None, signpost_ms: int
) -> Bookmark | None:
    """The safest resume point: the least advanced type still to read, capped at the start.

    Types are read one after the other, so a type not reached yet still needs everything
    from `floor`; and a record changed while we read gets a timestamp after the read's
    start (`signpost_ms`), so the bookmark never passes it.
    """
    if any(v is None for v in progress.values()):
        return bookmark_at(
            "engagements", ENGAGEMENT_CURSOR, from_ms(floor) if floor is not None else None
        )
    values = [v for v in progress.values() if v is not None]
    if not values:
        return bookmark_at(
            "engagements", ENGAGEMENT_CURSOR, from_ms(floor) if floor is not None else None
        )
    lowest = min(min(values), signpost_ms)
    if floor is not None:
        lowest = max(lowest, floor)
    return bookmark_at("engagements", ENGAGEMENT_CURSOR, from_ms(lowest))
