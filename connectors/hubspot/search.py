"""Incremental CRM search past HubSpot's 10,000-results-per-query cap.

HubSpot's search endpoints page with an opaque ``after`` cursor, but one query never
yields more than 10,000 results: asking for a page beyond that answers HTTP 400
(https://developers.hubspot.com/docs/api-reference/search/guide#limitations). So a long
incremental read is cut into *windows*:

1. ``<cursor> GTE since`` sorted ascending, paged until the next page would cross the cap;
2. restart from the last timestamp seen (``GTE last``), skipping ids already seen at it;
3. if one whole window shares a single timestamp, restarting cannot make progress: pin it
   (``<cursor> EQ T``, sorted by ``hs_object_id``, windows of ``hs_object_id GT last``),
   then go on with ``<cursor> GT T``.

The same loop serves contacts (``lastmodifieddate``) and engagements
(``hs_lastmodifieddate``); the vendor call is a `SearchFetch` the caller provides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from leadbridge.core.paginators import BasePaginator, paginate

__all__ = [
    "AssociationCursor",
    "Hit",
    "IncrementalSearch",
    "SdkCursor",
    "SearchFetch",
    "SearchFilter",
    "parse_instant_ms",
]

SearchFilter = dict[str, str]
SearchFetch = Callable[[Sequence[SearchFilter], str, str | None], Any]
"""(filters ANDed, sort property ascending, after token) -> the SDK's search response."""

ID_PROPERTY = "hs_object_id"


def parse_instant_ms(value: object) -> int | None:
    """Epoch milliseconds from HubSpot's ISO strings, epoch-ms strings or datetimes."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class Hit:
    """One search result with its cursor value (epoch ms; None when unreadable)."""

    id: str
    at_ms: int | None
    record: Any


class _CappedCursor(BasePaginator[str]):
    """``paging.next.after`` from an SDK response, stopping before the result cap."""

    def __init__(self, page_size: int, max_results: int) -> None:
        super().__init__()
        self.page_size = page_size
        self.max_results = max_results
        self.fetched = 0
        self.capped = False

    def get_next(self, response: Any) -> str | None:
        self.fetched += len(getattr(response, "results", None) or [])
        paging = getattr(response, "paging", None)
        token = getattr(getattr(paging, "next", None), "after", None)
        if token in (None, ""):
            return None
        if self.fetched + self.page_size > self.max_results:
            # The next page would reach past the cap: HubSpot answers 400 there
            # (https://developers.hubspot.com/docs/api-reference/search/guide#limitations).
            self.capped = True
            return None
        return str(token)


class SdkCursor(BasePaginator[str]):
    """``paging.next.after`` read off an SDK response model."""

    def get_next(self, response: Any) -> str | None:
        paging = getattr(response, "paging", None)
        token = getattr(getattr(paging, "next", None), "after", None)
        return str(token) if token not in (None, "") else None


class AssociationCursor(BasePaginator[tuple[tuple[str, str], ...]]):
    """v4 batch reads page per input object: the next token is the (id, after) pairs left."""

    def get_next(self, response: Any) -> tuple[tuple[str, str], ...] | None:
        pending: list[tuple[str, str]] = []
        for result in getattr(response, "results", None) or []:
            paging = getattr(result, "paging", None)
            after = getattr(getattr(paging, "next", None), "after", None)
            source = getattr(getattr(result, "_from", None), "id", None)
            if after and source:
                pending.append((str(source), str(after)))
        return tuple(pending) or None


@dataclass
class IncrementalSearch:
    """Yields pages of `Hit`s changed at or after a point, oldest first, each id once."""

    fetch: SearchFetch
    cursor: str
    page_size: int = 200
    max_results: int = 10_000
    queries: int = field(default=0, init=False)
    """Search queries (windows) started; each is at least one call."""

    def pages(self, since_ms: int | None) -> Iterator[list[Hit]]:
        """Pages from `since_ms` (inclusive; None = everything) to the newest record."""
        lower, op = since_ms, "GTE"
        last_ts: int | None = None
        seen_at_last: set[str] = set()
        while True:
            filters = [] if lower is None else [self._filter(self.cursor, op, lower)]
            window_first: int | None = None
            window_all_same = True
            paginator = self._paginator()
            for records in self._window(filters, self.cursor, paginator):
                hits: list[Hit] = []
                for record in records:
                    hit = self._hit(record)
                    if hit.at_ms is not None:
                        if window_first is None:
                            window_first = hit.at_ms
                        elif hit.at_ms != window_first:
                            window_all_same = False
                        if hit.at_ms != last_ts:
                            last_ts, seen_at_last = hit.at_ms, set()
                        elif hit.id in seen_at_last:
                            continue  # already yielded by the previous window
                        seen_at_last.add(hit.id)
                    hits.append(hit)
                yield hits
            if not paginator.capped or last_ts is None:
                return
            if window_all_same and window_first == last_ts:
                # A whole window shares one timestamp (bulk imports, workflows): restarting
                # at GTE T would return the same window forever. Pin T and walk it by id
                # (estuary/connectors#2100, amp-labs/connectors#32).
                yield from self._pinned(last_ts, seen_at_last)
                lower, op, seen_at_last = last_ts, "GT", set()
            else:
                lower, op = last_ts, "GTE"

    def _pinned(self, at_ms: int, seen: set[str]) -> Iterator[list[Hit]]:
        last_id: str | None = None
        while True:
            filters = [self._filter(self.cursor, "EQ", at_ms)]
            if last_id is not None:
                filters.append({"propertyName": ID_PROPERTY, "operator": "GT", "value": last_id})
            paginator = self._paginator()
            for records in self._window(filters, ID_PROPERTY, paginator):
                hits: list[Hit] = []
                for record in records:
                    hit = self._hit(record)
                    last_id = hit.id
                    if hit.id in seen:
                        continue
                    seen.add(hit.id)
                    hits.append(hit)
                yield hits
            if not paginator.capped or last_id is None:
                return

    def _paginator(self) -> _CappedCursor:
        return _CappedCursor(self.page_size, self.max_results)

    def _window(
        self, filters: Sequence[SearchFilter], sort: str, paginator: _CappedCursor
    ) -> Iterator[list[Any]]:
        """One query's pages via the shared paging loop; `paginator.capped` tells the end."""
        self.queries += 1
        for response in paginate(lambda after: self.fetch(filters, sort, after), paginator):
            yield list(getattr(response, "results", None) or [])

    @staticmethod
    def _filter(prop: str, op: str, at_ms: int) -> SearchFilter:
        return {"propertyName": prop, "operator": op, "value": str(at_ms)}

    def _hit(self, record: Any) -> Hit:
        props = getattr(record, "properties", None) or {}
        raw = props.get(self.cursor) if isinstance(props, dict) else None
        at_ms = parse_instant_ms(raw)
        if at_ms is None:
            at_ms = parse_instant_ms(getattr(record, "updated_at", None))
        return Hit(id=str(getattr(record, "id", "") or ""), at_ms=at_ms, record=record)
