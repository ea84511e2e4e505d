"""Keyset paging (``orders[id]=ASC`` + ``id_greater``): the next token is the last id.

ActiveCampaign recommends it over limit/offset for large accounts: an offset walks a list
that shifts under concurrent inserts and deletes, while "ids above the last one I saw"
reads every row exactly once. ``meta.total`` counts what is left *above* ``id_greater``,
so a page holding all of it is the last one and no empty page is fetched. Nothing here
is vendor-specific; it could live in `core.paginators`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from leadbridge.core.errors import MalformedResponse
from leadbridge.core.paginators import BasePaginator, dig

__all__ = ["KeysetPaginator"]


class KeysetPaginator(BasePaginator[int]):
    """Token = the integer key of the page's last record; stops on a short or final page."""

    def __init__(
        self,
        limit: int,
        records_path: str,
        *,
        key: str = "id",
        total_path: str | None = None,
        connector: str | None = None,
    ) -> None:
        super().__init__()
        self.connector = connector
        self.limit = limit
        self.records_path = records_path
        self.key = key
        self.total_path = total_path
        self.last_key: int | None = None

    def peek(self, response: Any) -> int | None:
        """The next token of `response` without advancing (None: this is the last page)."""
        records = dig(response, self.records_path)
        if not isinstance(records, list):
            raise MalformedResponse(
                f"'{self.records_path}' is not a list", connector=self.connector
            )
        if not records:
            return None
        last = records[-1]
        raw = last.get(self.key) if isinstance(last, Mapping) else None
        if not isinstance(raw, str | int) or isinstance(raw, bool) or not str(raw).isdigit():
            raise MalformedResponse(
                f"record without an integer '{self.key}' on a keyset page",
                connector=self.connector,
            )
        if len(records) < self.limit:
            return None
        total = dig(response, self.total_path) if self.total_path else None
        if total is not None and str(total).isdigit() and int(total) <= len(records):
            return None
        return int(raw)

    def get_next(self, response: Any) -> int | None:
        token = self.peek(response)
        if token is not None:
            if self.last_key is not None and token <= self.last_key:
                raise MalformedResponse(
                    f"keyset page went backwards ({token} after {self.last_key})",
                    connector=self.connector,
                )
            self.last_key = token
        return token
