"""Reusable paging: connectors say *how* a vendor pages, never write the loop.

A paginator reads the next token out of a parsed response; `paginate` is the single loop.
It stops on an empty token and refuses a token it has already seen, since a server that
hands back the same cursor twice would otherwise keep us reading forever.

    >>> pages = iter([{"results": [1], "paging": {"next": {"after": "2"}}}, {"results": [2]}])
    >>> paginator = JSONCursorPaginator("paging.next.after")
    >>> [p["results"] for p in paginate(lambda token: next(pages), paginator)]
    [[1], [2]]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar

from leadbridge.core.errors import MalformedResponse

__all__ = [
    "BasePaginator",
    "JSONCursorPaginator",
    "NextURLPaginator",
    "OffsetPaginator",
    "PageNumberPaginator",
    "dig",
    "paginate",
]

T = TypeVar("T")


def dig(data: Any, path: str) -> Any:
    """Follow a dotted path through nested dicts (``"paging.next.after"``); None if absent."""
    current = data
    for part in path.split(".") if path else ():
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


class BasePaginator(ABC, Generic[T]):
    """Extracts the next page token from a response; `advance` guards against loops."""

    def __init__(self) -> None:
        self._seen: set[T] = set()
        self.pages = 0

    @abstractmethod
    def get_next(self, response: Any) -> T | None:
        """The token for the next page, or None when this was the last one."""

    def advance(self, response: Any) -> T | None:
        """Count the page and return the next token, refusing a repeated one."""
        self.pages += 1
        token = self.get_next(response)
        if token is None or token == "":
            return None
        if token in self._seen:
            raise MalformedResponse(f"the server repeated page token {token!r}: refusing to loop")
        self._seen.add(token)
        return token


class JSONCursorPaginator(BasePaginator[str]):
    """An opaque cursor at a path in the body (HubSpot ``paging.next.after``)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def get_next(self, response: Any) -> str | None:
        value = dig(response, self.path)
        return str(value) if value not in (None, "") else None


class NextURLPaginator(BasePaginator[str]):
    """A URL to the next page (Salesforce ``nextRecordsUrl``, a ``links.next``)."""

    def __init__(self, path: str, done_path: str | None = None) -> None:
        super().__init__()
        self.path = path
        self.done_path = done_path

    def get_next(self, response: Any) -> str | None:
        if self.done_path and dig(response, self.done_path) is True:
            return None
        value = dig(response, self.path)
        return str(value) if value else None


class OffsetPaginator(BasePaginator[int]):
    """limit/offset paging; stops on a short page or when the reported total is reached."""

    def __init__(
        self, limit: int, records_path: str, total_path: str | None = None, start: int = 0
    ) -> None:
        super().__init__()
        self.limit = limit
        self.records_path = records_path
        self.total_path = total_path
        self.offset = start

    def get_next(self, response: Any) -> int | None:
        records = dig(response, self.records_path) or []
        self.offset += len(records)
        total = dig(response, self.total_path) if self.total_path else None
        if len(records) < self.limit:
            return None
        if total is not None and self.offset >= int(total):
            return None
        return self.offset


class PageNumberPaginator(BasePaginator[int]):
    """1-based page numbers; stops on a short page or past the reported page count."""

    def __init__(
        self, limit: int, records_path: str, pages_path: str | None = None, start: int = 1
    ) -> None:
        super().__init__()
        self.limit = limit
        self.records_path = records_path
        self.pages_path = pages_path
        self.page = start

    def get_next(self, response: Any) -> int | None:
        records = dig(response, self.records_path) or []
        pages = dig(response, self.pages_path) if self.pages_path else None
        if len(records) < self.limit or (pages is not None and self.page >= int(pages)):
            return None
        self.page += 1
        return self.page


def paginate(
    fetch: Callable[[T | None], Any], paginator: BasePaginator[T], first: T | None = None
) -> Iterator[Any]:
    """Yield each parsed page, calling `fetch(token)` until the paginator says stop."""
    token = first
    while True:
        response = fetch(token)
        yield response
        token = paginator.advance(response)
        if token is None:
            return
