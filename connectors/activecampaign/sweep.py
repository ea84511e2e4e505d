"""Deletes: AC emits no event and keeps no tombstone, so ids are swept and diffed.

A sweep lists every contact id in id order (``orders[id]=ASC`` + ``id_greater``, 100 per
call) and reports the known ids that are missing. Page by page, a known id at or below
the page's last id (or anywhere above it on the last page) that was not listed is gone.
"Known" comes from a provider (the state store's live source ids, wired by the caller)
or, without one, from what this connector instance has seen (pulled contacts and the
previous sweep), which only helps a long-running daemon. Sweeps are costly, so the
stream's bookmark records when the last one finished and a run inside
`delete_sweep_interval_s` of it answers one empty page without calling the API.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from leadbridge.connectors.activecampaign.client import CONNECTOR, ActiveCampaignApi
from leadbridge.connectors.activecampaign.config import ActiveCampaignConfig
from leadbridge.connectors.activecampaign.mapping import parse_contacts
from leadbridge.connectors.activecampaign.paging import KeysetPaginator
from leadbridge.connectors.activecampaign.progress import Progress
from leadbridge.core.models import Bookmark, Page
from leadbridge.core.paginators import paginate

__all__ = ["DELETES", "DeleteSweep", "KnownIds"]

DELETES = "deletes"
KnownIds = Callable[[], Iterable[str]]


class DeleteSweep:
    """The ``deletes`` stream."""

    def __init__(
        self,
        api: ActiveCampaignApi,
        config: ActiveCampaignConfig,
        known_ids: KnownIds | None,
    ) -> None:
        self.api = api
        self.config = config
        self.known_ids = known_ids
        self.seen: set[int] = set()
        self.listed = 0
        self.sweeps = 0
        self.min_calls = 0
        self._lock = threading.Lock()

    def remember(self, contact_id: str) -> None:
        """A contact this instance has read (the fallback notion of "known")."""
        if contact_id.isdigit():
            with self._lock:
                self.seen.add(int(contact_id))

    def _known(self) -> list[int]:
        if self.known_ids is not None:
            return sorted({int(i) for i in self.known_ids() if str(i).isdigit()})
        with self._lock:
            return sorted(self.seen)

    def due(self, since: Bookmark | None, now: datetime) -> bool:
        """Whether a sweep should run (or continue) now."""
        if since is None or since.tiebreak_id:
            return True
        return now - since.value >= timedelta(seconds=self.config.delete_sweep_interval_s)

    def read(self, since: Bookmark | None) -> Iterator[Page]:
        now = datetime.now(UTC)
        if not self.due(since, now):
            yield Page(stream=DELETES, bookmark=since)
            return
        progress = Progress.start(DELETES, "sweep", since, now)
        known = [k for k in self._known() if k > progress.after_id]
        limit = self.config.page_size
        paginator = KeysetPaginator(limit, "contacts", total_path="meta.total", connector=CONNECTOR)
        listed: set[int] = set()
        low = progress.after_id

        def fetch(after: int | None) -> Any:
            params = {"orders[id]": "ASC", "id_greater": after or 0, "limit": limit}
            return self.api.get("contacts", params)

        self.sweeps += 1
        count = 0
        for response in paginate(fetch, paginator, first=progress.after_id):
            contacts, _ = parse_contacts(response)
            for wire in contacts:
                listed.add(int(wire.id))
                self.remember(wire.id)
            self.listed += len(contacts)
            count += len(contacts)
            last_page = paginator.peek(response) is None
            high = int(contacts[-1].id) if contacts else low
            gone = [k for k in known if k > low and (last_page or k <= high) and k not in listed]
            for contact_id in gone:
                with self._lock:
                    self.seen.discard(contact_id)
            low = max(low, high)
            yield Page(
                stream=DELETES,
                deleted=tuple(str(k) for k in gone),
                bookmark=progress.at(low),
            )
        with self._lock:
            self.min_calls += max(1, math.ceil(count / limit))
        yield Page(stream=DELETES, bookmark=progress.done(progress.started))
