"""`SalesforceConnector`: leads, contacts, activity, outcomes and deletions in, scores out.

Streams, in the order a sync pulls them:

- ``leads`` / ``contacts``: SOQL ``SELECT … WHERE SystemModstamp >= :since ORDER BY
  SystemModstamp, Id`` (with an ``Id`` tie-break in the filter when no overlap is
  configured), paged by ``nextRecordsUrl``. Each page's bookmark is its last
  (SystemModstamp, Id); converted Leads are wins, closed ones losses.
- ``tasks`` / ``events`` / ``campaign_members``: the same incremental SOQL, mapped to
  canonical activity kinds.
- ``deleted``: ``getDeleted`` on Lead and Contact from the bookmark. The recycle bin only
  reaches back 15 days (``earliestDateAvailable``): past that the stream sweeps every id
  (``SELECT Id FROM …``) and reports the known ids that are gone. Known ids come from the
  ``known_ids`` callable (the state store's source ids) or, without one, from the ids
  this connector object has read.

Every call goes through simple-salesforce on `SalesforceApi`'s one `HttpClient`; nothing
here retries, sleeps or builds an auth header.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx

from leadbridge.connectors.salesforce.client import CONNECTOR, SalesforceApi
from leadbridge.connectors.salesforce.config import SalesforceConfig, parse_config
from leadbridge.connectors.salesforce.erasure import erase_records
from leadbridge.connectors.salesforce.mapping import (
    EVENT_FIELDS,
    MEMBER_FIELDS,
    TASK_FIELDS,
    ActivityMapper,
    PersonMapper,
    parse_instant,
    reject,
)
from leadbridge.connectors.salesforce.records import SalesforceRecords
from leadbridge.connectors.salesforce.writeback import (
    COLLECTION_MAX,
    BulkWriter,
    CollectionsWriter,
    FieldBootstrap,
    FieldMap,
)
from leadbridge.core.auth import AuthorizationRequest, OAuthToken, TokenPersister
from leadbridge.core.errors import MalformedResponse, MappingError, PermanentAPIError
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
from leadbridge.core.paginators import NextURLPaginator, paginate
from leadbridge.core.receipts import ErasureReceipt

__all__ = ["STREAMS", "SalesforceConnector", "from_settings"]

STREAMS: tuple[str, ...] = ("leads", "contacts", "tasks", "events", "campaign_members", "deleted")
CURSOR = "SystemModstamp"
_OBJECTS = {
    "leads": "Lead",
    "contacts": "Contact",
    "tasks": "Task",
    "events": "Event",
    "campaign_members": "CampaignMember",
}
_QUERY_PAGE = 2000
DELETE_HORIZON = timedelta(days=15)
REPLICATION_WINDOW = timedelta(days=30)


def _soql_time(moment: datetime) -> str:
    """An unquoted SOQL datetime literal in UTC with milliseconds."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class SalesforceConnector:
    """A Salesforce org as a leadbridge `Connector` with score write-back."""

    name = CONNECTOR
    echo_streams: tuple[str, ...] = ("leads", "contacts")
    """Score writes bump SystemModstamp: the engine reads people back so a run ends quiescent."""

    def __init__(
        self,
        config: SalesforceConfig,
        *,
        persister: TokenPersister | None = None,
        transport: httpx.BaseTransport | None = None,
        known_ids: Callable[[], Iterable[str]] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.api = SalesforceApi(config, persister=persister, transport=transport)
        self.people = PersonMapper(config)
        self.activities = ActivityMapper(config)
        self.fields = FieldMap()
        self.known_ids = known_ids
        self.clock = clock
        self._bootstrap: FieldBootstrap | None = None
        self._collections = CollectionsWriter(self.api, self.fields)
        self._bulk = BulkWriter(self.api, self.fields)
        self._seen: set[str] = set()
        self._converted: set[str] = set()
        self._lock = threading.Lock()
        self._min_read = 0
        self._min_write = 0
        self.moved: Counter[str] = Counter()
        self.sweeps = 0

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, file: str | None = None, **kwargs: Any
    ) -> SalesforceConnector:
        """Build from a plain config mapping; bad keys raise `ConfigError` naming the key."""
        return cls(parse_config(data, file=file), **kwargs)

    @property
    def max_batch(self) -> int:
        """200 (one Collections call); in ``auto`` mode, a Bulk job's worth."""
        if self.config.write_mode == "auto":
            return self.config.bulk_batch_size
        return COLLECTION_MAX

    # -- Connector ------------------------------------------------------------------

    def check(self) -> None:
        """One cheap authenticated read (``/limits``): fails fast on bad credentials."""
        sf = self.api.sdk("setup")
        self.api.call("check", lambda: sf.limits())

    def streams(self) -> Sequence[str]:
        """People first, then their activity, then deletions."""
        return STREAMS

    def read(self, stream: str, since: Bookmark | None) -> Iterator[Page]:
        """Pages changed at or after `since`, oldest first, each with its bookmark."""
        if stream == "deleted":
            return self._read_deleted(since)
        if stream not in _OBJECTS:
            raise ValueError(f"unknown Salesforce stream {stream!r}; expected one of {STREAMS}")
        return self._read_object(stream, since)

    def close(self) -> None:
        """Release connections."""
        self.api.close()

    # -- write-back -----------------------------------------------------------------

    def ensure_fields(self, fields: Sequence[FieldSpec]) -> None:
        """Create the score fields on Lead and Contact and grant FLS; idempotent."""
        if self._bootstrap is None:
            self._bootstrap = FieldBootstrap(self.api, self.fields)
        self._bootstrap.ensure(fields)

    def write(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        """Collections (≤200) or, in ``auto`` mode above the threshold, one Bulk job."""
        failed: dict[str, str] = {}
        live: list[ScoreWrite] = []
        for write in batch:
            if write.source_id in self._converted:
                failed[write.source_id] = (
                    "CANNOT_UPDATE_CONVERTED_LEAD: a converted lead is read-only"
                )
            else:
                live.append(write)
        if not live:
            return WriteResult(failed=failed)
        if self.config.write_mode == "auto" and len(live) >= self.config.bulk_threshold:
            result = self.write_bulk(live)
        else:
            result = self._write_collections(live)
        return WriteResult(
            succeeded=result.succeeded, failed={**failed, **result.failed}, calls=result.calls
        )

    def write_bulk(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        """Write any number of records with Bulk API 2.0 update jobs (one per object)."""
        jobs_before = self._bulk.jobs
        result = self._bulk.write(batch)
        self._min_write += BulkWriter.min_calls(self._bulk.jobs - jobs_before)
        return result

    def erase(self, source_ids: Sequence[str], *, permanent: bool = False) -> ErasureReceipt:
        """Delete these Leads/Contacts: to the recycle bin, or for good (Bulk hardDelete)."""
        return erase_records(self.api, source_ids, permanent=permanent)

    def _write_collections(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        if len(batch) <= COLLECTION_MAX:
            self._min_write += 1
            return self._collections.write(batch)
        succeeded: list[str] = []
        failed: dict[str, str] = {}
        calls = 0
        for start in range(0, len(batch), COLLECTION_MAX):
            chunk = batch[start : start + COLLECTION_MAX]
            self._min_write += 1
            try:
                part = self._collections.write(chunk)
            except PermanentAPIError as exc:
                failed.update({w.source_id: exc.message[:300] for w in chunk})
                calls += 1
                continue
            succeeded.extend(part.succeeded)
            failed.update(part.failed)
            calls += part.calls
        return WriteResult(succeeded=tuple(succeeded), failed=failed, calls=calls)

    def records(self, sobject: str = "Contact") -> SalesforceRecords:
        """One sObject record by record (two-way sync, migration), on this connector's API."""
        return SalesforceRecords(self.api, sobject)

    # -- CallStats ------------------------------------------------------------------

    def calls(self) -> dict[str, int]:
        """Calls made so far, by purpose."""
        counts = self.api.http.counter.snapshot()
        return {key: counts.get(key, 0) for key in ("read", "write", "setup")}

    def min_calls(self) -> dict[str, int]:
        """The fewest calls that could have moved the same records."""
        setup = self._bootstrap.min_calls if self._bootstrap is not None else 0
        return {"read": self._min_read, "write": self._min_write, "setup": setup}

    # -- OAuth ----------------------------------------------------------------------

    def authorization_request(self) -> AuthorizationRequest:
        """Start the OAuth web-server flow (PKCE): the URL to open."""
        return self.api.authorization_request()

    def complete_authorization(
        self, request: AuthorizationRequest, *, code: str, state: str
    ) -> OAuthToken:
        """Finish the flow from the callback's code and state; the token is persisted."""
        return self.api.complete_authorization(request, code=code, state=state)

    # -- incremental SOQL -----------------------------------------------------------

    def _fields(self, stream: str) -> Sequence[str]:
        if stream in ("leads", "contacts"):
            return self.people.fields(_OBJECTS[stream])
        return {"tasks": TASK_FIELDS, "events": EVENT_FIELDS, "campaign_members": MEMBER_FIELDS}[
            stream
        ]

    def _soql(self, stream: str, since: Bookmark | None) -> str:
        sobject = _OBJECTS[stream]
        where = ""
        if since is not None:
            if self.config.overlap_s > 0:
                floor = since.value - timedelta(seconds=self.config.overlap_s)
                where = f" WHERE {CURSOR} >= {_soql_time(floor)}"
            elif since.tiebreak_id:
                at = _soql_time(since.value)
                where = (
                    f" WHERE ({CURSOR} > {at} OR ({CURSOR} = {at} AND Id > '{since.tiebreak_id}'))"
                )
            else:
                where = f" WHERE {CURSOR} >= {_soql_time(since.value)}"
        return (
            f"SELECT {', '.join(self._fields(stream))} FROM {sobject}{where} ORDER BY {CURSOR}, Id"
        )

    def _pages(self, soql: str, what: str) -> Iterator[list[dict[str, Any]]]:
        sf = self.api.sdk("read")

        def fetch(token: str | None) -> Any:
            if token is None:
                return self.api.call(what, lambda: sf.query(soql))
            return self.api.call(what, lambda: sf.query_more(token, identifier_is_url=True))

        for response in paginate(fetch, NextURLPaginator("nextRecordsUrl", "done")):
            records = response.get("records") if isinstance(response, dict) else None
            if not isinstance(records, list) or (
                response.get("done") is not True and not response.get("nextRecordsUrl")
            ):
                raise MalformedResponse(
                    f"{what}: a query page needs 'records' and 'done'/'nextRecordsUrl'",
                    connector=CONNECTOR,
                )
            yield [r for r in records if isinstance(r, dict)]

    def _read_object(self, stream: str, since: Bookmark | None) -> Iterator[Page]:
        tracker = _Tracker(stream, since)
        total = 0
        now = self.clock()
        for records in self._pages(self._soql(stream, since), f"{stream} query"):
            total += len(records)
            leads: list[Lead] = []
            outcomes: list[Outcome] = []
            activities: list[Activity] = []
            rejects: list[RecordError] = []
            for record in records:
                record_id = str(record.get("Id") or "")
                try:
                    stamp = parse_instant(record.get(CURSOR), CURSOR)
                    if stamp is None:
                        raise MappingError(f"{CURSOR} is missing")
                except MappingError as exc:
                    rejects.append(reject(stream, record_id, str(exc), record))
                    continue
                if tracker.already_seen(stamp, record_id):
                    continue
                try:
                    self._map(stream, record, now, leads, outcomes, activities)
                except MappingError as exc:
                    rejects.append(reject(stream, record_id, str(exc), record))
                tracker.advance(stamp, record_id)
            yield Page(
                stream=stream,
                leads=tuple(leads),
                outcomes=tuple(outcomes),
                activities=tuple(activities),
                rejects=tuple(rejects),
                bookmark=tracker.bookmark,
            )
        if not tracker.ordered and tracker.best is not None:
            yield Page(stream=stream, bookmark=tracker.best)
        self.moved[stream] += total
        with self._lock:
            self._min_read += max(1, math.ceil(total / _QUERY_PAGE))

    def _map(
        self,
        stream: str,
        record: Mapping[str, Any],
        now: datetime,
        leads: list[Lead],
        outcomes: list[Outcome],
        activities: list[Activity],
    ) -> None:
        if stream in ("leads", "contacts"):
            mapped = self.people.map(_OBJECTS[stream], record)
            leads.append(mapped.lead)
            if mapped.outcome is not None:
                outcomes.append(mapped.outcome)
            source_id = mapped.lead.source_ids["salesforce"]
            with self._lock:
                self._seen.add(source_id)
                if mapped.converted:
                    self._converted.add(source_id)
            return
        if stream == "tasks":
            activity = self.activities.task(record)
        elif stream == "events":
            activity = self.activities.event(record, now)
        else:
            activity = self.activities.member(record)
        if activity is not None:
            activities.append(activity)

    # -- deletions ------------------------------------------------------------------

    def _read_deleted(self, since: Bookmark | None) -> Iterator[Page]:
        now = self.clock()
        start = since.value if since is not None else now - DELETE_HORIZON + timedelta(hours=1)
        sweep = since is not None and now - start >= REPLICATION_WINDOW - timedelta(hours=1)
        if not sweep and since is not None and _minute(now) <= _minute(start):
            # getDeleted counts whole minutes and refuses an empty window (end <= start,
            # INVALID_REPLICATION_DATE): within the bookmark's minute there is nothing to ask.
            yield Page(stream="deleted", bookmark=since)
            return
        deleted: list[str] = []
        covered: list[datetime] = []
        rejects: list[RecordError] = []
        if not sweep:
            sf = self.api.sdk("read")
            for sobject in ("Lead", "Contact"):
                handler = getattr(sf, sobject)
                answer = self.api.call(
                    f"{sobject} getDeleted", partial(handler.deleted, start, now)
                )
                with self._lock:
                    self._min_read += 1
                try:
                    ids, earliest, latest = _deleted_answer(answer)
                except MappingError as exc:
                    raise MalformedResponse(
                        f"{sobject} getDeleted: {exc}", connector=CONNECTOR
                    ) from None
                deleted.extend(ids)
                covered.append(latest)
                if since is not None and earliest > start:
                    sweep = True  # the bin was purged past our bookmark: deletions were lost
        if sweep:
            deleted.extend(self._sweep())
            covered = [now]
        mark = min(covered) if covered else now
        if since is not None and mark < since.value:
            mark = since.value
        yield Page(
            stream="deleted",
            deleted=tuple(dict.fromkeys(deleted)),
            rejects=tuple(rejects),
            bookmark=Bookmark(stream="deleted", cursor_field="deletedDate", value=mark),
        )
        self.moved["deleted"] += len(deleted)

    def _sweep(self) -> list[str]:
        """Known ids no longer live in the org (every id is read: one page per 2,000)."""
        self.sweeps += 1
        known = set(self.known_ids()) if self.known_ids is not None else set(self._seen)
        live: set[str] = set()
        for sobject in ("Lead", "Contact"):
            pages = 0
            for records in self._pages(f"SELECT Id FROM {sobject}", f"{sobject} id sweep"):
                pages += 1
                live.update(str(r.get("Id")) for r in records)
            with self._lock:
                self._min_read += max(pages, 1)
        live15 = {i[:15] for i in live}
        return sorted(i for i in known if i not in live and i[:15] not in live15)


def _minute(moment: datetime) -> datetime:
    """The UTC minute an instant falls in (getDeleted's resolution)."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _deleted_answer(answer: Any) -> tuple[list[str], datetime, datetime]:
    if not isinstance(answer, dict) or not isinstance(answer.get("deletedRecords"), list):
        raise MappingError("expected 'deletedRecords'")
    ids = [str(r["id"]) for r in answer["deletedRecords"] if isinstance(r, dict) and r.get("id")]
    earliest = parse_instant(answer.get("earliestDateAvailable"), "earliestDateAvailable")
    latest = parse_instant(answer.get("latestDateCovered"), "latestDateCovered")
    if earliest is None or latest is None:
        raise MappingError("expected 'earliestDateAvailable' and 'latestDateCovered'")
    return ids, earliest, latest


class _Tracker:
    """A page bookmark: the last (SystemModstamp, Id) of an ascending read.

    Records at or below the incoming bookmark's (value, tie-break) were delivered before
    and are skipped (the query re-reads the cursor value inclusively). Should the server
    ever break the ascending order, the bookmark stops moving until the read ends.
    """

    def __init__(self, stream: str, since: Bookmark | None) -> None:
        self.stream = stream
        self.since = since
        self.bookmark = since
        self.best = since
        self.ordered = True
        self._last: tuple[datetime, str] | None = None

    def already_seen(self, stamp: datetime, record_id: str) -> bool:
        since = self.since
        if since is None or since.tiebreak_id is None:
            return False
        return (stamp, record_id) <= (since.value, since.tiebreak_id)

    def advance(self, stamp: datetime, record_id: str) -> None:
        key = (stamp, record_id)
        if self._last is not None and key < self._last:
            self.ordered = False
        self._last = key
        mark = Bookmark(stream=self.stream, cursor_field=CURSOR, value=stamp, tiebreak_id=record_id)
        if self.best is None or (stamp, record_id) > (self.best.value, self.best.tiebreak_id or ""):
            self.best = mark
        if self.ordered and (
            self.bookmark is None or key >= (self.bookmark.value, self.bookmark.tiebreak_id or "")
        ):
            self.bookmark = mark


def from_settings(settings: Mapping[str, Any], **runtime: Any) -> SalesforceConnector:
    """The registry's factory: a validated config mapping plus runtime objects."""
    file = runtime.pop("file", None)
    return SalesforceConnector.from_mapping(settings, file=file, **runtime)
