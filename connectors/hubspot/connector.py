"""`HubSpotConnector`: leads, activity, outcomes and deletions in, scores out.

Streams, in the order a sync pulls them:

- ``contacts``: CRM search on ``lastmodifieddate`` from the bookmark minus an overlap
  (search is eventually consistent), windowed past the 10,000-result cap
  (`search.IncrementalSearch`). In rollup mode each page also carries the contact's
  counter properties as activities.
- ``events``: the Events API (Enterprise) from ``occurredAfter``; with
  ``activity_source="auto"`` a 403 switches the connection to rollups instead.
- ``engagements``: emails, calls, meetings and notes searched on ``hs_lastmodifieddate``
  the same way, with their contacts from v4 association batch reads.
- ``archived``: the archived-contacts list, filtered on ``archivedAt`` client side.

Every call goes through the SDK and `HubSpotApi`'s one `HttpClient`; nothing here
retries, sleeps or builds an auth header.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from hubspot.crm import contacts as sdk_contacts
from hubspot.crm import objects as sdk_objects
from hubspot.crm.associations import v4 as sdk_assoc

from leadbridge.connectors.hubspot.activity import (
    ENGAGEMENT_CURSOR,
    ENGAGEMENT_PROPERTIES,
    ActivityMapper,
)
from leadbridge.connectors.hubspot.bookmarks import (
    BookmarkTracker,
    bookmark_at,
    engagement_bookmark,
    from_ms,
    to_ms,
)
from leadbridge.connectors.hubspot.client import CONNECTOR, HubSpotApi
from leadbridge.connectors.hubspot.config import HubSpotConfig, parse_config
from leadbridge.connectors.hubspot.erasure import gdpr_delete
from leadbridge.connectors.hubspot.mapping import CONTACT_CURSOR, ContactMapper, reject
from leadbridge.connectors.hubspot.records import HubSpotRecords
from leadbridge.connectors.hubspot.search import (
    AssociationCursor,
    IncrementalSearch,
    SdkCursor,
    SearchFilter,
)
from leadbridge.connectors.hubspot.writeback import (
    MAX_BATCH,
    BatchWriter,
    FieldBootstrap,
)
from leadbridge.core.auth import AuthorizationRequest, OAuthToken, TokenPersister
from leadbridge.core.errors import MappingError, PermanentAPIError
from leadbridge.core.models import (
    Activity,
    Bookmark,
    FieldSpec,
    Lead,
    Outcome,
    Page,
    RecordError,
    ScoreWrite,
    WriteResult,
)
from leadbridge.core.paginators import paginate
from leadbridge.core.receipts import ErasureReceipt

__all__ = ["STREAMS", "HubSpotConnector"]

log = logging.getLogger("leadbridge.connectors.hubspot")

STREAMS: tuple[str, ...] = ("contacts", "events", "engagements", "archived")


class HubSpotConnector:
    """A HubSpot portal as a leadbridge `Connector` with score write-back."""

    name = CONNECTOR
    max_batch = MAX_BATCH
    # Writing a property bumps `lastmodifieddate`: our writes come back in this stream.
    echo_streams: tuple[str, ...] = ("contacts",)

    def __init__(
        self,
        config: HubSpotConfig,
        *,
        persister: TokenPersister | None = None,
        transport: httpx.BaseTransport | None = None,
        token_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.api = HubSpotApi(
            config, persister=persister, transport=transport, token_transport=token_transport
        )
        self.contacts = ContactMapper(config)
        self.activities = ActivityMapper(config)
        self._writer: BatchWriter | None = None
        self._bootstrap: FieldBootstrap | None = None
        self._rollups: bool | None = {"events": False, "rollups": True}.get(config.activity_source)
        self._dispositions_loaded = False
        self._min_read = 0
        self._min_setup = 0
        self._sent = 0
        self.moved: Counter[str] = Counter()

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, file: str | None = None, **kwargs: Any
    ) -> HubSpotConnector:
        """Build from a plain config mapping; bad keys raise `ConfigError` naming the key."""
        return cls(parse_config(data, file=file), **kwargs)

    # -- Connector ------------------------------------------------------------------

    def check(self) -> None:
        """One cheap authenticated read: fails fast on a bad token or a missing scope."""
        self._min_setup += 1
        basic = self.api.api("setup", "contacts_basic", lambda c: c.crm.contacts.basic_api)
        self.api.call("check", lambda: basic.get_page(limit=1, properties=["hs_object_id"]))

    def streams(self) -> Sequence[str]:
        """Contacts first (the leads), then their activity, then deletions."""
        return STREAMS

    def read(self, stream: str, since: Bookmark | None) -> Iterator[Page]:
        """Pages changed at or after `since` (minus the overlap window), oldest first."""
        readers = {
            "contacts": self._read_contacts,
            "events": self._read_events,
            "engagements": self._read_engagements,
            "archived": self._read_archived,
        }
        reader = readers.get(stream)
        if reader is None:
            raise ValueError(f"unknown HubSpot stream {stream!r}; expected one of {STREAMS}")
        return reader(since)

    def close(self) -> None:
        """Release connections."""
        self.api.close()

    # -- write-back -----------------------------------------------------------------

    def ensure_fields(self, fields: Sequence[FieldSpec]) -> None:
        """Create the ``leadbridge`` group and any missing properties; idempotent."""
        if self._bootstrap is None:
            self._bootstrap = FieldBootstrap(self.api)
        self._bootstrap.ensure(fields)

    def write(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        """One ``batch/update`` of at most 100 contacts, outcomes record by record."""
        if self._writer is None:
            self._writer = BatchWriter(self.api)
        result = self._writer.write(batch)
        self._sent += len({w.source_id for w in batch})
        return result

    def erase(self, source_ids: Sequence[str], *, permanent: bool = True) -> ErasureReceipt:
        """GDPR-delete these contacts (always permanent on HubSpot); one receipt."""
        return gdpr_delete(self.api, source_ids)

    def records(self) -> HubSpotRecords:
        """Contacts record by record (two-way sync, migration), on this connector's API."""
        return HubSpotRecords(self.api, page_size=self.config.search_page_size,
                              max_results=self.config.search_max_results)  # fmt: skip

    # -- CallStats ------------------------------------------------------------------

    def calls(self) -> dict[str, int]:
        """Calls made so far, by purpose."""
        counts = self.api.http.counter.snapshot()
        return {key: counts.get(key, 0) for key in ("read", "write", "setup")}

    def min_calls(self) -> dict[str, int]:
        """The fewest calls that could have moved the same records."""
        setup = self._min_setup + (self._bootstrap.min_calls if self._bootstrap else 0)
        return {
            "read": self._min_read,
            "write": math.ceil(self._sent / MAX_BATCH),
            "setup": setup,
        }

    # -- OAuth ----------------------------------------------------------------------

    def authorization_request(self) -> AuthorizationRequest:
        """Start the OAuth authorization-code flow (PKCE): the URL to open."""
        return self.api.authorization_request()

    def complete_authorization(
        self, request: AuthorizationRequest, *, code: str, state: str
    ) -> OAuthToken:
        """Finish the flow from the callback's code and state; the token is persisted."""
        return self.api.complete_authorization(request, code=code, state=state)

    # -- streams --------------------------------------------------------------------

    def _sinceto_ms(self, since: Bookmark | None) -> int | None:
        if since is None:
            return None
        return to_ms(since.value) - int(self.config.overlap_s * 1000)

    def _count_min(self, records: int, page_size: int) -> None:
        self._min_read += max(1, math.ceil(records / page_size))

    def _read_contacts(self, since: Bookmark | None) -> Iterator[Page]:
        rollups = self._use_rollups()
        properties = self.contacts.properties(rollups=rollups)
        search_api = self.api.api("read", "contacts_search", lambda c: c.crm.contacts.search_api)

        def fetch(filters: Sequence[SearchFilter], sort: str, after: str | None) -> Any:
            request = sdk_contacts.PublicObjectSearchRequest(
                filter_groups=_filter_groups(sdk_contacts, filters),
                sorts=[{"propertyName": sort, "direction": "ASCENDING"}],
                properties=properties,
                limit=self.config.search_page_size,
                after=after,
            )
            return self.api.call(
                "contacts search",
                lambda: search_api.do_search(public_object_search_request=request),
            )

        search = self._search(fetch, CONTACT_CURSOR)
        tracker = BookmarkTracker("contacts", CONTACT_CURSOR, since)
        total = 0
        for hits in search.pages(self._sinceto_ms(since)):
            total += len(hits)
            leads: list[Lead] = []
            outcomes: list[Outcome] = []
            activities: list[Activity] = []
            rejects: list[RecordError] = []
            for hit in hits:
                try:
                    mapped = self.contacts.map(hit.record, rollups=rollups)
                except MappingError as exc:
                    rejects.append(reject("contacts", hit.id, str(exc), hit.record))
                else:
                    leads.append(mapped.lead)
                    outcomes.extend(mapped.outcomes)
                    activities.extend(mapped.activities)
                tracker.advance(hit)
            yield Page(
                stream="contacts",
                leads=tuple(leads),
                outcomes=tuple(outcomes),
                activities=tuple(activities),
                rejects=tuple(rejects),
                bookmark=tracker.bookmark,
            )
        self.moved["contacts"] += total
        self._count_min(total, self.config.search_page_size)

    def _search(self, fetch: Any, cursor: str) -> IncrementalSearch:
        return IncrementalSearch(
            fetch=fetch,
            cursor=cursor,
            page_size=self.config.search_page_size,
            max_results=self.config.search_max_results,
        )

    def _use_rollups(self) -> bool:
        """Rollups if configured, or (auto) when the Events API answers 403 (below Enterprise)."""
        if self._rollups is None:
            events_api = self.api.api("setup", "events_probe", lambda c: c.events.events_api)
            try:
                self.api.call(
                    "events probe",
                    lambda: events_api.get_page(object_type="contact", limit=1),
                )
            except PermanentAPIError as exc:
                if exc.status != 403:
                    raise
                log.info("hubspot: Events API not available (403); using contact rollups")
                self._rollups = True
            else:
                self._rollups = False
            self._min_setup += 1
        return self._rollups

    def _read_events(self, since: Bookmark | None) -> Iterator[Page]:
        if self._use_rollups():
            # Activity arrives with the contacts as rollup counters; nothing to page here.
            yield Page(stream="events", bookmark=since)
            return
        events_api = self.api.api("read", "events", lambda c: c.events.events_api)
        since_ms = self._sinceto_ms(since)
        occurred_after = from_ms(since_ms) if since_ms is not None else None

        def fetch(after: str | None) -> Any:
            return self.api.call(
                "events page",
                lambda: events_api.get_page(
                    object_type="contact",
                    occurred_after=occurred_after,
                    sort=["ASCENDING"],
                    limit=self.config.events_page_size,
                    after=after,
                ),
            )

        best = since.value if since is not None else None
        ordered = True
        last_ms: int | None = None
        total = 0
        for response in paginate(fetch, SdkCursor()):
            activities: list[Activity] = []
            rejects: list[RecordError] = []
            results = list(getattr(response, "results", None) or [])
            total += len(results)
            for event in results:
                try:
                    activity = self.activities.event(event)
                except MappingError as exc:
                    rejects.append(reject("events", str(getattr(event, "id", "")), str(exc), event))
                    continue
                if activity is None:
                    continue
                activities.append(activity)
                at_ms = to_ms(activity.occurred_at)
                if last_ms is not None and at_ms < last_ms:
                    ordered = False
                last_ms = at_ms
                if best is None or activity.occurred_at > best:
                    best = activity.occurred_at
            # Mid-stream bookmarks only while the API keeps its ascending promise.
            mark = best if ordered else (since.value if since else None)
            yield Page(
                stream="events",
                activities=tuple(activities),
                rejects=tuple(rejects),
                bookmark=bookmark_at("events", "occurredAt", mark),
            )
        if not ordered and best is not None:
            yield Page(stream="events", bookmark=bookmark_at("events", "occurredAt", best))
        self.moved["events"] += total
        self._count_min(total, self.config.events_page_size)

    def _read_engagements(self, since: Bookmark | None) -> Iterator[Page]:
        search_api = self.api.api("read", "objects_search", lambda c: c.crm.objects.search_api)
        since_ms = self._sinceto_ms(since)
        signpost_ms = int(time.time() * 1000)
        floor = to_ms(since.value) if since is not None else None
        progress: dict[str, int | None] = dict.fromkeys(self.config.engagement_types, floor)
        seen_max: int | None = None
        for object_type in self.config.engagement_types:
            if object_type == "calls":
                self._load_dispositions()
            properties = list(ENGAGEMENT_PROPERTIES[object_type])

            def fetch(
                filters: Sequence[SearchFilter],
                sort: str,
                after: str | None,
                object_type: str = object_type,
                properties: list[str] = properties,
            ) -> Any:
                request = sdk_objects.PublicObjectSearchRequest(
                    filter_groups=_filter_groups(sdk_objects, filters),
                    sorts=[{"propertyName": sort, "direction": "ASCENDING"}],
                    properties=properties,
                    limit=self.config.search_page_size,
                    after=after,
                )
                return self.api.call(
                    f"{object_type} search",
                    lambda: search_api.do_search(object_type, request),
                )

            search = self._search(fetch, ENGAGEMENT_CURSOR)
            total = 0
            for hits in search.pages(since_ms):
                total += len(hits)
                links = self._associations(object_type, [h.id for h in hits])
                activities: list[Activity] = []
                rejects: list[RecordError] = []
                for hit in hits:
                    try:
                        activities.extend(
                            self.activities.engagement(
                                object_type, hit.record, links.get(hit.id, [])
                            )
                        )
                    except MappingError as exc:
                        rejects.append(reject("engagements", hit.id, str(exc), hit.record))
                    if hit.at_ms is not None:
                        progress[object_type] = hit.at_ms
                        seen_max = hit.at_ms if seen_max is None else max(seen_max, hit.at_ms)
                yield Page(
                    stream="engagements",
                    activities=tuple(activities),
                    rejects=tuple(rejects),
                    bookmark=engagement_bookmark(progress, floor, signpost_ms),
                )
            progress.pop(object_type, None)  # finished: no longer holds the bookmark back
            self.moved[f"engagements:{object_type}"] += total
            self._count_min(total, self.config.search_page_size)
        # Everything modified before the read began has been seen; later changes will be
        # re-read because the final bookmark never passes the read's start (signpost).
        final = min(seen_max, signpost_ms) if seen_max is not None else None
        if final is not None and (floor is None or final > floor):
            yield Page(
                stream="engagements",
                bookmark=bookmark_at("engagements", ENGAGEMENT_CURSOR, from_ms(final)),
            )

    def _associations(self, object_type: str, ids: list[str]) -> dict[str, list[str]]:
        """Engagement id -> contact ids, via v4 batch reads (following per-object paging)."""
        if not ids:
            return {}
        batch_api = self.api.api("read", "associations", lambda c: c.crm.associations.v4.batch_api)
        links: dict[str, list[str]] = {}
        size = self.config.association_batch_size
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]

            def fetch(token: tuple[tuple[str, str], ...] | None, chunk: list[str] = chunk) -> Any:
                inputs = (
                    [sdk_assoc.PublicFetchAssociationsBatchRequest(id=i, after=a) for i, a in token]
                    if token
                    else [sdk_assoc.PublicFetchAssociationsBatchRequest(id=i) for i in chunk]
                )
                body = sdk_assoc.BatchInputPublicFetchAssociationsBatchRequest(inputs=inputs)
                return self.api.call(
                    "associations batch read",
                    lambda: batch_api.get_page(object_type, "contacts", body),
                )

            for response in paginate(fetch, AssociationCursor()):
                for result in getattr(response, "results", None) or []:
                    source = str(getattr(getattr(result, "_from", None), "id", "") or "")
                    targets = links.setdefault(source, [])
                    for target in getattr(result, "to", None) or []:
                        contact_id = str(getattr(target, "to_object_id", "") or "")
                        if contact_id and contact_id not in targets:
                            targets.append(contact_id)
            self._min_read += 1
        return links

    def _load_dispositions(self) -> None:
        """Learn the portal's call outcome labels once (legacy ``/calling/v1/dispositions``)."""
        if self._dispositions_loaded:
            return
        self._dispositions_loaded = True
        self._min_setup += 1
        try:
            data = self.api.http.call("GET", "/calling/v1/dispositions", category="setup")
        except PermanentAPIError as exc:
            log.info("hubspot: call outcomes unavailable (%s); using configured GUIDs", exc.message)
            return
        if isinstance(data, list):
            self.activities.learn_dispositions(
                {
                    str(item["id"]): str(item["label"])
                    for item in data
                    if isinstance(item, dict) and "id" in item and "label" in item
                }
            )

    def _read_archived(self, since: Bookmark | None) -> Iterator[Page]:
        basic = self.api.api("read", "contacts_basic", lambda c: c.crm.contacts.basic_api)
        since_ms = self._sinceto_ms(since)

        def fetch(after: str | None) -> Any:
            return self.api.call(
                "archived contacts",
                lambda: basic.get_page(
                    limit=self.config.list_page_size,
                    after=after,
                    archived=True,
                    properties=["hs_object_id"],
                ),
            )

        best = since.value if since is not None else None
        total = 0
        for response in paginate(fetch, SdkCursor()):
            deleted: list[str] = []
            rejects: list[RecordError] = []
            results = list(getattr(response, "results", None) or [])
            total += len(results)
            for record in results:
                record_id = str(getattr(record, "id", "") or "")
                archived_at = getattr(record, "archived_at", None)
                if not record_id.isdigit() or not isinstance(archived_at, datetime):
                    rejects.append(
                        reject(
                            "archived", record_id, "archived record without id/archivedAt", record
                        )
                    )
                    continue
                archived_at = (
                    archived_at.astimezone(UTC)
                    if archived_at.tzinfo
                    else archived_at.replace(tzinfo=UTC)
                )
                if since_ms is not None and to_ms(archived_at) < since_ms:
                    continue
                deleted.append(record_id)
                best = archived_at if best is None or archived_at > best else best
            # The list is ordered by id, not archivedAt: hold the bookmark until the end.
            yield Page(
                stream="archived",
                deleted=tuple(deleted),
                rejects=tuple(rejects),
                bookmark=since,
            )
        if best is not None and (since is None or best > since.value):
            yield Page(stream="archived", bookmark=bookmark_at("archived", "archivedAt", best))
        self.moved["archived"] += total
        self._count_min(total, self.config.list_page_size)


def _filter_groups(package: Any, filters: Sequence[SearchFilter]) -> list[Any]:
    """SDK ``FilterGroup`` models (one group: the filters are ANDed)."""
    if not filters:
        return []
    return [
        package.FilterGroup(
            filters=[
                package.Filter(
                    property_name=f["propertyName"], operator=f["operator"], value=f["value"]
                )
                for f in filters
            ]
        )
    ]
