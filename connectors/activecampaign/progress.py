"""Resumable id-ordered reads: where a read started, how far it got, and when it began.

Both streams read contacts in id order (``orders[id]=ASC`` + ``id_greater``), not in
``udate`` order, so a mid-read bookmark cannot be "the last udate seen". Instead it keeps
the read's *base* as its value (the previous cursor, so the staged bookmark never moves
back) and encodes the last id read plus the read's start instant as its tie-break,
``"<last id>@<start epoch ms>"``. Resuming continues above that id with the same filter;
the final bookmark of a finished read carries the new cursor and no tie-break.

Why keep the start instant: a contact at or below the last id that changes after the read
began is not seen again in this read, but its new ``udate`` is after the start, so the
final cursor is capped there and the next read picks it up; a resumed read must cap at
the *original* start, not its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from leadbridge.core.models import Bookmark

__all__ = ["EPOCH", "Progress"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Progress:
    """The state of one id-ordered read."""

    stream: str
    cursor_field: str
    base: datetime
    after_id: int
    started: datetime
    resumed: bool

    @classmethod
    def start(
        cls, stream: str, cursor_field: str, since: Bookmark | None, now: datetime
    ) -> Progress:
        """A fresh read from `since`, or the continuation of an interrupted one."""
        if since is None:
            return cls(stream, cursor_field, EPOCH, 0, now, False)
        marker = since.tiebreak_id or ""
        last, sep, started_ms = marker.partition("@")
        if sep and last.isdigit() and started_ms.isdigit():
            started = datetime.fromtimestamp(int(started_ms) / 1000, tz=UTC)
            return cls(stream, cursor_field, since.value, int(last), min(started, now), True)
        return cls(stream, cursor_field, since.value, 0, now, False)

    @property
    def fresh(self) -> bool:
        """No cursor yet: a first (full) read."""
        return self.base == EPOCH

    def at(self, last_id: int) -> Bookmark:
        """The bookmark after reading every id up to `last_id`."""
        started_ms = int(self.started.timestamp() * 1000)
        return Bookmark(
            stream=self.stream,
            cursor_field=self.cursor_field,
            value=self.base,
            tiebreak_id=f"{last_id}@{started_ms}",
        )

    def done(self, reached: datetime | None) -> Bookmark:
        """The bookmark of a finished read: `reached` capped at the start, never below base."""
        value = self.base if reached is None else max(self.base, min(reached, self.started))
        return Bookmark(stream=self.stream, cursor_field=self.cursor_field, value=value)
