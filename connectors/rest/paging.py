"""Pagination styles by name: a profile says ``style = "cursor"``, the registry does the rest.

Each style pairs one of core's paginators (which reads the next token and refuses a
repeated one) with how the token goes back into the next request: a query parameter, a
page number, an offset, or a whole URL. The loop itself is `core.paginators.paginate`.

    >>> pager = PAGINATORS["page"](PagePaging(style="page", size=50), "items")
    >>> pager.first().params
    {'page': 1, 'per_page': 50}
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from leadbridge.connectors.rest.profile import (
    CursorPaging,
    NextLinkPaging,
    NoPaging,
    OffsetPaging,
    PagePaging,
    PagingSpec,
)
from leadbridge.core.errors import MalformedResponse
from leadbridge.core.paginators import (
    BasePaginator,
    JSONCursorPaginator,
    NextURLPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    dig,
)

__all__ = [
    "PAGINATORS",
    "PageRequest",
    "Pager",
    "SinglePagePaginator",
    "TypedCursorPaginator",
    "TypedNextURLPaginator",
    "pager_for",
]


@dataclass(frozen=True)
class PageRequest:
    """What changes between page requests: extra query parameters, or a whole next URL."""

    params: dict[str, Any] = field(default_factory=dict)
    url: str | None = None


class SinglePagePaginator(BasePaginator[str]):
    """An endpoint that answers everything at once: there is never a next page."""

    def get_next(self, response: Any) -> str | None:
        return None


def _scalar_token(response: Any, path: str) -> None:
    """A token must be text or a number: `str()` of a list would be sent back as garbage."""
    value = dig(response, path)
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
        raise MalformedResponse(f"page token at '{path}' is a {type(value).__name__}, not a string")


class TypedCursorPaginator(JSONCursorPaginator):
    """`JSONCursorPaginator` that refuses a token of the wrong JSON type."""

    def get_next(self, response: Any) -> str | None:
        _scalar_token(response, self.path)
        return super().get_next(response)


class TypedNextURLPaginator(NextURLPaginator):
    """`NextURLPaginator` that refuses a link of the wrong JSON type."""

    def get_next(self, response: Any) -> str | None:
        _scalar_token(response, self.path)
        return super().get_next(response)


class Pager(ABC):
    """A paginator plus the way its token is sent back."""

    paginator: BasePaginator[Any]
    page_size: int | None = None

    @abstractmethod
    def first(self) -> PageRequest:
        """The first request's paging parameters."""

    @abstractmethod
    def next(self, token: Any) -> PageRequest:
        """The request for the page `token` points at."""

    def request(self, token: Any) -> PageRequest:
        """`first()` for no token, else `next(token)`."""
        return self.first() if token is None else self.next(token)


def _size(name: str | None, value: int | None) -> dict[str, Any]:
    return {name: value} if name and value is not None else {}


class _NonePager(Pager):
    def __init__(self, spec: NoPaging, records: str) -> None:
        self.paginator = SinglePagePaginator()

    def first(self) -> PageRequest:
        return PageRequest()

    def next(self, token: Any) -> PageRequest:
        return PageRequest()


class _CursorPager(Pager):
    def __init__(self, spec: CursorPaging, records: str) -> None:
        self.spec = spec
        self.paginator = TypedCursorPaginator(spec.token_path)
        self.page_size = spec.limit if spec.limit_param else None

    def first(self) -> PageRequest:
        return PageRequest(_size(self.spec.limit_param, self.spec.limit))

    def next(self, token: Any) -> PageRequest:
        return PageRequest(
            {self.spec.param: token, **_size(self.spec.limit_param, self.spec.limit)}
        )


class _PagePager(Pager):
    def __init__(self, spec: PagePaging, records: str) -> None:
        self.spec = spec
        self.paginator = PageNumberPaginator(
            spec.size, records, pages_path=spec.total_pages_path, start=spec.start
        )
        self.page_size = spec.size

    def first(self) -> PageRequest:
        return self.next(self.spec.start)

    def next(self, token: Any) -> PageRequest:
        return PageRequest({self.spec.param: token, self.spec.size_param: self.spec.size})


class _OffsetPager(Pager):
    def __init__(self, spec: OffsetPaging, records: str) -> None:
        self.spec = spec
        self.paginator = OffsetPaginator(spec.limit, records, total_path=spec.total_path)
        self.page_size = spec.limit

    def first(self) -> PageRequest:
        return self.next(0)

    def next(self, token: Any) -> PageRequest:
        return PageRequest({self.spec.param: token, self.spec.limit_param: self.spec.limit})


class _NextLinkPager(Pager):
    def __init__(self, spec: NextLinkPaging, records: str) -> None:
        self.spec = spec
        self.paginator = TypedNextURLPaginator(spec.path, done_path=spec.done_path)
        self.page_size = spec.limit

    def first(self) -> PageRequest:
        return PageRequest(_size(self.spec.limit_param, self.spec.limit))

    def next(self, token: Any) -> PageRequest:
        # The link already carries every parameter (filters, cursor, limit).
        return PageRequest(url=str(token))


PagerFactory = Callable[[Any, str], Pager]

PAGINATORS: dict[str, PagerFactory] = {
    "none": _NonePager,
    "cursor": _CursorPager,
    "page": _PagePager,
    "offset": _OffsetPager,
    "next_link": _NextLinkPager,
}
"""Style name (a profile's ``pagination.style``) → pager factory ``(spec, records_path)``."""


def pager_for(spec: PagingSpec, records: str) -> Pager:
    """A fresh pager (paginators keep state) for one read of one stream."""
    return PAGINATORS[spec.style](spec, records)
