"""`ActiveCampaignConnector`: leads with their activity, and deletions, in; scores out.

Streams, in the order a sync pulls them:

- ``contacts``: ``GET /contacts?filters[updated_after]=<cursor - overlap>&orders[id]=ASC``
  paged by ``id_greater`` (every contact read exactly once per pull, however many share
  one ``udate``). Each changed contact is then enriched, since AC only offers these per
  contact: its custom field values (``/contacts/{id}/fieldValues``), its activity feed
  since the cursor (``/activities?contact=&after=``) and its tracking logs. Activity thus
  costs two calls per *changed* contact and nothing for the others; a contact whose
  ``udate`` does not move when it opens an e-mail is caught at its next edit (verify
  AC's udate semantics on your account).
- ``deletes``: a periodic id sweep diffed against the known ids (`sweep.DeleteSweep`).

Score writes bump ``udate``, so ``contacts`` is an echo stream the engine reads back
after writing. A listed contact that is only our own write's echo is recognised by
`echo.EchoMemory` and neither enriched nor emitted: the read-back costs one list page
per 100 written contacts, not three more calls each (the module states the trade-off).

Every call goes through `ActiveCampaignApi`'s one `HttpClient`; nothing here retries,
sleeps or builds an auth header.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from leadbridge.connectors.activecampaign.activity import ActivityMapper
from leadbridge.connectors.activecampaign.client import CONNECTOR, ActiveCampaignApi
from leadbridge.connectors.activecampaign.config import ActiveCampaignConfig, parse_config
from leadbridge.connectors.activecampaign.echo import EchoMemory
from leadbridge.connectors.activecampaign.erasure import delete_contacts
from leadbridge.connectors.activecampaign.fields import FieldBootstrap, FieldCatalog
from leadbridge.connectors.activecampaign.mapping import (
    ContactWire,
    field_values_by_tag,
    lead_key,
    map_contact,
    parse_contacts,
    parse_time,
    reject,
)
from leadbridge.connectors.activecampaign.paging import KeysetPaginator
from leadbridge.connectors.activecampaign.progress import Progress
from leadbridge.connectors.activecampaign.sweep import DELETES, DeleteSweep, KnownIds
from leadbridge.connectors.activecampaign.writeback import MAX_BATCH, ScoreWriter
from leadbridge.core.errors import MalformedResponse, MappingError, NotFound
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
from leadbridge.core.paginators import OffsetPaginator, paginate
from leadbridge.core.receipts import ErasureReceipt

__all__ = ["CONTACTS", "STREAMS", "ActiveCampaignConnector", "from_settings"]

CONTACTS = "contacts"
STREAMS: tuple[str, ...] = (CONTACTS, DELETES)
_SUB_PAGE = 100


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _pages(records: int, size: int) -> int:
    return max(1, math.ceil(records / size))


class _Enriched:
    """What the per-contact calls brought back for one contact."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.activities: list[Activity] = []
        self.rejects: list[RecordError] = []


class ActiveCampaignConnector:
    """An ActiveCampaign account as a leadbridge `Connector` with score write-back."""

    name = CONNECTOR
    max_batch = MAX_BATCH
    echo_streams: tuple[str, ...] = (CONTACTS,)
    """Score writes bump ``udate``: the engine reads contacts back (echoes cost no enrichment)."""

    def __init__(
        self,
        config: ActiveCampaignConfig,
        *,
        known_ids: KnownIds | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.config = config
        self.api = ActiveCampaignApi(config, transport=transport)
        self.catalog = FieldCatalog(self.api)
        self.mapper = ActivityMapper(config)
        self.sweep = DeleteSweep(self.api, config, known_ids)
        self.bootstrap = FieldBootstrap(self.api, self.catalog)
        self.echo = EchoMemory()
        self.writer = ScoreWriter(
            self.api,
            self.catalog,
            sync_below=config.sync_below,
            poll_max=config.import_poll_max,
            echo=self.echo,
        )
        self._lock = threading.Lock()
        self._min_read = 0
        self._min_setup = 0

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, file: str | None = None, **runtime: Any
    ) -> ActiveCampaignConnector:
        """Build from a plain config mapping; bad keys raise `ConfigError` naming the key."""
        return cls(parse_config(data, file=file), **runtime)

    # -- Connector ------------------------------------------------------------------

    def check(self) -> None:
        """One cheap authenticated read: a refused key fails fast with `AuthError`."""
        self.api.get("contacts", {"limit": 1}, category="setup")

    def streams(self) -> Sequence[str]:
        """Contacts (with their activity) first, then deletions."""
        return STREAMS

    def read(self, stream: str, since: Bookmark | None) -> Iterator[Page]:
        """Pages changed at or after `since` (minus the overlap window)."""
        if stream == CONTACTS:
            return self._read_contacts(since)
        if stream == DELETES:
            return self._read_deletes(since)
        raise ValueError(f"unknown ActiveCampaign stream {stream!r}; expected one of {STREAMS}")

    def close(self) -> None:
        """Release connections."""
        self.api.close()

    # -- write-back -----------------------------------------------------------------

    def ensure_fields(self, fields: Sequence[FieldSpec]) -> None:
        """Create missing fields and their all-lists relation; idempotent."""
        self.bootstrap.ensure(fields)

    def write(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        """One bulk import (≤ 250) or, below `sync_below`, one contact/sync per contact."""
        return self.writer.write(batch)

    def erase(self, source_ids: Sequence[str], *, permanent: bool = True) -> ErasureReceipt:
        """Delete these contacts (ActiveCampaign has no recycle bin); one receipt."""
        return delete_contacts(self.api, source_ids)

    # -- CallStats ------------------------------------------------------------------

    def calls(self) -> dict[str, int]:
        """Calls made so far, by purpose."""
        counts = self.api.counts()
        return {key: counts.get(key, 0) for key in ("read", "write", "setup")}

    def min_calls(self) -> dict[str, int]:
        """The fewest calls that could have moved the same records.

        Reads: one page per 100 changed contacts, plus for each changed contact one call
        per enrichment (more only past 100 activities), plus one sweep page per 100 ids.
        Writes: one e-mail look-up per 100 records, then an import and one status read
        per batch, or one call per contact below `sync_below`. Resends after a refused
        row, throttled retries and extra status polls are overhead, not minimum.
        """
        with self._lock:
            read, setup = self._min_read, self._min_setup
        return {
            "read": read + self.sweep.min_calls,
            "write": self.writer.min_calls,
            "setup": setup + self.bootstrap.min_calls,
        }

    # -- contacts -------------------------------------------------------------------

    def _count(self, *, read: int = 0, setup: int = 0) -> None:
        with self._lock:
            self._min_read += read
            self._min_setup += setup

    def _read_contacts(self, since: Bookmark | None) -> Iterator[Page]:
        config = self.config
        now = datetime.now(UTC)
        progress = Progress.start(CONTACTS, "udate", since, now)
        floor = None if progress.fresh else progress.base - timedelta(seconds=config.overlap_s)
        activity_after = floor
        if activity_after is None and config.activity_lookback_days is not None:
            activity_after = now - timedelta(days=config.activity_lookback_days)
        perstag_of: dict[str, str] = {}
        if "field_values" in config.enrich:
            pages = self.catalog.pages
            self.catalog.ensure_loaded()
            self._count(setup=self.catalog.pages - pages)
            perstag_of = self.catalog.perstag_of()
        params: dict[str, Any] = {"orders[id]": "ASC", "limit": config.page_size}
        if floor is not None:
            params["filters[updated_after]"] = _iso(floor)

        def fetch(after: int | None) -> Any:
            return self.api.get("contacts", {**params, "id_greater": after or 0})

        paginator = KeysetPaginator(
            config.page_size, "contacts", total_path="meta.total", connector=CONNECTOR
        )
        reached: datetime | None = None
        last_id = progress.after_id
        for response in paginate(fetch, paginator, first=progress.after_id):
            contacts, raws = parse_contacts(response)
            self._count(read=1)
            leads: list[Lead] = []
            outcomes: list[Outcome] = []
            activities: list[Activity] = []
            rejects: list[RecordError] = []
            deleted: list[str] = []
            for wire, raw in zip(contacts, raws, strict=True):
                self.sweep.remember(wire.id)
                if self.echo.is_echo(wire, activity_after):
                    # Only our own write changed it: the store holds this content already.
                    echoed = parse_time(wire.udate, "udate")
                    if echoed is not None:
                        reached = echoed if reached is None else max(reached, echoed)
                    continue
                try:
                    extra = self._enrich(
                        wire, perstag_of, self.echo.activity_floor(wire.id, activity_after)
                    )
                except NotFound:
                    deleted.append(wire.id)  # deleted between the list and its details
                    continue
                activities.extend(extra.activities)
                rejects.extend(extra.rejects)
                try:
                    lead, won = map_contact(config, wire, extra.values)
                except MappingError as exc:
                    rejects.append(reject(CONTACTS, wire.id, str(exc), raw))
                    continue
                leads.append(lead)
                outcomes.extend(won)
                self.echo.observed(wire)
                if lead.updated_at is not None:
                    reached = lead.updated_at if reached is None else max(reached, lead.updated_at)
            if contacts:
                last_id = int(contacts[-1].id)
            yield Page(
                stream=CONTACTS,
                leads=tuple(leads),
                outcomes=tuple(outcomes),
                activities=tuple(activities),
                deleted=tuple(deleted),
                rejects=tuple(rejects),
                bookmark=progress.at(last_id) if last_id else since,
            )
        yield Page(stream=CONTACTS, bookmark=progress.done(reached))

    def _enrich(
        self, wire: ContactWire, perstag_of: Mapping[str, str], after: datetime | None
    ) -> _Enriched:
        """The per-contact calls: field values, activity feed, tracking logs."""
        out = _Enriched()
        key = lead_key(wire.id)
        enrich = self.config.enrich
        if "field_values" in enrich and perstag_of:
            data = self.api.get(f"contacts/{wire.id}/fieldValues")
            rows = data.get("fieldValues") if isinstance(data, dict) else None
            if not isinstance(rows, list):
                raise MalformedResponse(
                    "fieldValues answer without a 'fieldValues' list", connector=CONNECTOR
                )
            out.values = field_values_by_tag(rows, perstag_of)
            self._count(read=1)
        if "activities" in enrich:
            params: dict[str, Any] = {"contact": wire.id, "orders[tstamp]": "ASC"}
            if after is not None:
                params["after"] = _iso(after)
            rows = self._sub_pages("activities", "activities", params)
            for raw in rows:
                try:
                    activity = self.mapper.feed(key, raw)
                except MappingError as exc:
                    out.rejects.append(reject(CONTACTS, wire.id, f"activity: {exc}", raw))
                    continue
                if activity is not None:
                    out.activities.append(activity)
        if "tracking_logs" in enrich:
            rows = self._sub_pages(f"contacts/{wire.id}/trackingLogs", "trackingLogs", {})
            for raw in rows:
                try:
                    activity = self.mapper.tracking(key, raw)
                except MappingError as exc:
                    out.rejects.append(reject(CONTACTS, wire.id, f"tracking log: {exc}", raw))
                    continue
                if activity is not None and (after is None or activity.occurred_at >= after):
                    out.activities.append(activity)
        return out

    def _sub_pages(self, path: str, records: str, params: Mapping[str, Any]) -> list[Any]:
        """Every record of a per-contact list endpoint (limit/offset, 100 a page)."""

        def fetch(offset: int | None) -> Any:
            return self.api.get(path, {**params, "limit": _SUB_PAGE, "offset": offset or 0})

        rows: list[Any] = []
        for response in paginate(fetch, OffsetPaginator(_SUB_PAGE, records, "meta.total")):
            page = response.get(records) if isinstance(response, dict) else None
            if not isinstance(page, list):
                raise MalformedResponse(
                    f"{path} answer without a '{records}' list", connector=CONNECTOR
                )
            rows.extend(page)
        self._count(read=_pages(len(rows), _SUB_PAGE))
        return rows

    # -- deletes --------------------------------------------------------------------

    def _read_deletes(self, since: Bookmark | None) -> Iterator[Page]:
        return self.sweep.read(since)


def from_settings(
    settings: Mapping[str, Any],
    *,
    file: str | None = None,
    known_ids: KnownIds | None = None,
    transport: httpx.BaseTransport | None = None,
) -> ActiveCampaignConnector:
    """The registry's factory: validated settings (or a `ConfigError` naming the key)."""
    return ActiveCampaignConnector(
        parse_config(settings, file=file), known_ids=known_ids, transport=transport
    )
