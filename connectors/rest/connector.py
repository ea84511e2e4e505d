"""`RestConnector`: any REST CRM a profile describes, as a leadbridge `Connector`.

Each ``[streams.<name>]`` is read incrementally: the bookmark's cursor goes out as the
stream's ``cursor_param`` (inclusive, in the vendor's time format), pages come from the
named pagination style, and records at the bookmark's instant whose id is not past the
bookmark's tie-break are skipped (ties are ordered by id, numerically for digit ids).
Every page carries the bookmark to resume from. Everything goes through core's
`HttpClient`: nothing here retries, sleeps or builds an auth header.

    >>> connector = from_settings({"profile": "boma", "client_id": "…",  # doctest: +SKIP
    ...                            "client_secret": "…"})
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from leadbridge.connectors.rest.auth import build_auth
from leadbridge.connectors.rest.erasure import delete_records
from leadbridge.connectors.rest.loader import load_profile
from leadbridge.connectors.rest.mapping import Mapped, StreamMapper
from leadbridge.connectors.rest.messages import InboundMessage, from_record, to_payload
from leadbridge.connectors.rest.paging import pager_for
from leadbridge.connectors.rest.profile import MessagesSpec, RestProfile, StreamSpec
from leadbridge.connectors.rest.settings import RestSettings, parse_settings
from leadbridge.connectors.rest.values import format_instant
from leadbridge.connectors.rest.writeback import FieldBootstrap, ScoreWriter
from leadbridge.core.errors import ConfigError, MalformedResponse, MappingError
from leadbridge.core.http import HttpClient, RetryPolicy
from leadbridge.core.models import Bookmark, FieldSpec, Page, ScoreWrite, WriteResult
from leadbridge.core.paginators import dig, paginate
from leadbridge.core.ratelimit import limiter_for, parse_ratelimit_headers
from leadbridge.core.receipts import ErasureReceipt
from leadbridge.core.redaction import install_log_redaction

__all__ = ["RestConnector", "from_settings", "profile_factory"]


def _id_key(record_id: str) -> tuple[int, int, str]:
    """Tie order within one cursor instant: numeric for digit ids, else lexical."""
    if record_id.isdigit():
        return (0, int(record_id), "")
    return (1, 0, record_id)


class _Tracker:
    """The resume point of an ascending read: last (cursor, id), never regressing."""

    def __init__(self, stream: str, cursor_field: str | None, since: Bookmark | None) -> None:
        self.stream = stream
        self.cursor_field = cursor_field
        self.bookmark = since
        self.best: tuple[datetime, str] | None = None

    def advance(self, at: datetime | None, record_id: str) -> None:
        if at is None or self.cursor_field is None:
            return
        if self.best is None or (at, _id_key(record_id)) >= (
            self.best[0],
            _id_key(self.best[1]),
        ):
            self.best = (at, record_id)

    def current(self) -> Bookmark | None:
        """The furthest position seen (or the starting bookmark)."""
        if self.best is None or self.cursor_field is None:
            return self.bookmark
        at, record_id = self.best
        mark = self.bookmark
        if mark is not None and (
            at < mark.value
            or (
                at == mark.value
                and mark.tiebreak_id is not None
                and _id_key(record_id) < _id_key(mark.tiebreak_id)
            )
        ):
            return mark
        return Bookmark(
            stream=self.stream, cursor_field=self.cursor_field, value=at, tiebreak_id=record_id
        )


class RestConnector:
    """A profile-declared REST CRM with score write-back and inbound messages."""

    def __init__(
        self,
        profile: RestProfile,
        settings: RestSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        token_transport: httpx.BaseTransport | None = None,
    ) -> None:
        install_log_redaction()
        self.profile = profile
        self.settings = settings
        self.name = profile.crm.name
        base_url = (settings.base_url or profile.crm.base_url).rstrip("/")
        credentials = settings.credentials(self.name)
        auth = build_auth(
            profile.auth,
            credentials,
            connector=self.name,
            base_url=base_url,
            transport=token_transport,
            verify=settings.verify,
        )
        rate = profile.crm.rate_limit
        identity = credentials.client_id or credentials.token or credentials.api_key or ""
        account = settings.account or hashlib.sha256(f"{base_url}|{identity}".encode()).hexdigest()
        self.http = HttpClient(
            self.name,
            base_url=base_url,
            auth=auth,
            limiter=limiter_for(
                f"rest:{self.name}:{account[:16]}", {"default": (rate.requests, rate.interval_s)}
            ),
            header_parser=(
                functools.partial(parse_ratelimit_headers, interval_s=rate.interval_s)
                if rate.headers == "ratelimit"
                else None
            ),
            retry=RetryPolicy(
                max_attempts=settings.max_attempts,
                base_s=settings.retry_base_s,
                cap_s=settings.retry_cap_s,
            ),
            timeout=httpx.Timeout(settings.timeout_s, connect=min(settings.timeout_s, 10.0)),
            verify=settings.verify,
            transport=transport,
            headers={"Accept": "application/json", **profile.crm.headers},
        )
        self.mappers = {
            name: StreamMapper(self.name, name, spec) for name, spec in profile.streams.items()
        }
        self.writer = ScoreWriter(self.http, profile.write) if profile.write else None
        self.max_batch = self.writer.max_batch if self.writer else 1
        self.echo_streams: tuple[str, ...] = profile.echo_streams
        self.bootstrap = FieldBootstrap(self.http, profile.write, profile.fields)
        self.moved: Counter[str] = Counter()
        self._min_read = 0
        self._written = 0

    # -- Connector ------------------------------------------------------------------

    def check(self) -> None:
        """One cheap authenticated read: fails fast on bad credentials or a wrong URL."""
        path = self.profile.crm.check_path
        if path is not None:
            self.http.call("GET", path, category="setup")
            return
        first = next(iter(self.profile.streams.values()))
        params = {**first.params, **pager_for(first.pagination, first.records).first().params}
        self.http.call(first.method, first.path, params=params, category="setup")

    def streams(self) -> Sequence[str]:
        """The profile's streams in declaration order (leads first, by convention)."""
        names = tuple(self.profile.streams)
        if self.settings.streams is None:
            return names
        return tuple(name for name in names if name in self.settings.streams)

    def read(self, stream: str, since: Bookmark | None) -> Iterator[Page]:
        """Pages changed at or after `since` (inclusive, id tie-break), oldest first."""
        spec = self._spec(stream)
        mapper = self.mappers[stream]
        tracker = _Tracker(stream, spec.cursor_field, since)
        total = 0
        for records in self._record_pages(stream, spec, since):
            total += len(records)
            mapped = Mapped()
            for record in records:
                position = self._position(mapper, record)
                if position is not None and self._already_seen(spec, since, *position):
                    continue
                mapper.map(record, mapped)
                if position is not None:
                    tracker.advance(*position)
            yield Page(
                stream=stream,
                leads=tuple(mapped.leads),
                activities=tuple(mapped.activities),
                outcomes=tuple(mapped.outcomes),
                deleted=tuple(mapped.deleted),
                rejects=tuple(mapped.rejects),
                # An unordered API can still hand back older rows: hold the bookmark.
                bookmark=tracker.current() if spec.ordered else since,
            )
        if not spec.ordered and tracker.current() != since:
            yield Page(stream=stream, bookmark=tracker.current())
        self.moved[stream] += total

    def close(self) -> None:
        """Release connections."""
        self.http.close()

    # -- write-back -----------------------------------------------------------------

    def ensure_fields(self, fields: Sequence[FieldSpec]) -> None:
        """Verify or create the custom fields the write mapping targets; idempotent."""
        self.bootstrap.ensure(fields)

    def write(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        """Write one batch, reporting per-record outcomes."""
        if self.writer is None:
            raise ConfigError(f"profile {self.name!r} has no [write] section", key="write")
        result = self.writer.write(batch)
        self._written += len({item.source_id for item in batch})
        return result

    def erase(self, source_ids: Sequence[str], *, permanent: bool = True) -> ErasureReceipt:
        """``DELETE`` these records on the profile's one-record path; one receipt."""
        return delete_records(self.http, self.profile, source_ids)

    # -- inbound messages (seed 001) -----------------------------------------------

    def send_message(self, message: InboundMessage) -> str | None:
        """Post an analysed inbound message; returns the id the CRM gave it, if any."""
        spec = self._messages()
        payload = to_payload(message, spec.fields, spec.received_format)
        body = self.http.call(spec.method, spec.path, json=payload, category="write")
        created = dig(body, spec.fields.id) if isinstance(body, Mapping) else None
        return str(created) if created is not None else None

    def read_messages(self, since: datetime | None = None) -> Iterator[InboundMessage]:
        """Messages received at or after `since`, oldest first; bad records are skipped."""
        spec = self._messages()
        if spec.stream is None:
            raise ConfigError("messages.stream is not set in the profile", key="messages.stream")
        stream = self._spec(spec.stream)
        bookmark = (
            Bookmark(stream=spec.stream, cursor_field=stream.cursor_field or "", value=since)
            if since is not None
            else None
        )
        for records in self._record_pages(spec.stream, stream, bookmark):
            for record in records:
                if not isinstance(record, Mapping):
                    continue
                try:
                    yield from_record(record, spec.fields, spec.received_format)
                except MappingError:
                    continue

    # -- CallStats ------------------------------------------------------------------

    def calls(self) -> dict[str, int]:
        """Calls made so far, by purpose."""
        counts = self.http.counter.snapshot()
        return {key: counts.get(key, 0) for key in ("read", "write", "setup")}

    def min_calls(self) -> dict[str, int]:
        """The fewest calls that could have moved the same records."""
        write = self.writer.min_calls(self._written) if self.writer else 0
        return {"read": self._min_read, "write": write, "setup": self.bootstrap.min_calls}

    # -- internals ------------------------------------------------------------------

    def _spec(self, stream: str) -> StreamSpec:
        spec = self.profile.streams.get(stream)
        if spec is None:
            known = ", ".join(self.profile.streams)
            raise ConfigError(f"unknown stream {stream!r} (profile has: {known})", key="streams")
        return spec

    def _messages(self) -> MessagesSpec:
        if self.profile.messages is None:
            raise ConfigError(f"profile {self.name!r} has no [messages] section", key="messages")
        return self.profile.messages

    def _record_pages(
        self, stream: str, spec: StreamSpec, since: Bookmark | None
    ) -> Iterator[list[Any]]:
        """The raw record list of every page of one read."""
        pager = pager_for(spec.pagination, spec.records)
        params: dict[str, Any] = dict(spec.params)
        if since is not None and spec.cursor_param:
            start = since.value - timedelta(seconds=spec.lookback_s)
            params[spec.cursor_param] = format_instant(start, spec.cursor_format)
        fetch = self._fetcher(spec, params, pager.request)
        records_seen = 0
        pages = paginate(fetch, pager.paginator)
        while True:
            try:
                body = next(pages)
            except StopIteration:
                break
            except MalformedResponse as exc:
                if exc.connector is not None:
                    raise
                # A paginator's complaint (repeated or mistyped token): say where.
                raise MalformedResponse(
                    exc.message, connector=self.name, method=spec.method, url=spec.path
                ) from None
            records = dig(body, spec.records) if spec.records else body
            if not isinstance(records, list):
                raise MalformedResponse(
                    f"expected a list of records at '{spec.records or '(body)'}', "
                    f"got {type(records).__name__}",
                    connector=self.name,
                    method=spec.method,
                    url=spec.path,
                )
            records_seen += len(records)
            yield records
        size = pager.page_size
        self._min_read += max(1, math.ceil(records_seen / size)) if size else 1

    def _fetcher(
        self, spec: StreamSpec, params: dict[str, Any], request: Callable[[Any], Any]
    ) -> Callable[[Any], Any]:
        def fetch(token: Any) -> Any:
            page = request(token)
            if page.url is not None:
                url = page.url
                if not url.startswith(("http://", "https://")):
                    url = urljoin(self.http.base_url + "/", url)
                return self.http.call(spec.method, url, category="read")
            query = {**params, **page.params}
            if spec.method == "POST":
                return self.http.call("POST", spec.path, json=query, category="read")
            return self.http.call("GET", spec.path, params=query, category="read")

        return fetch

    @staticmethod
    def _position(mapper: StreamMapper, record: Any) -> tuple[datetime | None, str] | None:
        if not isinstance(record, Mapping):
            return None
        try:
            return mapper.cursor(record), mapper.record_id(record)
        except MappingError:
            return None

    @staticmethod
    def _already_seen(
        spec: StreamSpec, since: Bookmark | None, at: datetime | None, record_id: str
    ) -> bool:
        """Before the bookmark, or at its instant and not past its tie-break id."""
        if since is None or at is None or spec.lookback_s > 0:
            return False
        if at != since.value:
            return at < since.value
        return since.tiebreak_id is not None and _id_key(record_id) <= _id_key(since.tiebreak_id)


def _resolve_profile(ref: str, file: str | None) -> str | Path:
    """A relative profile path is relative to the config file that names it."""
    looks_like_path = ref.endswith(".toml") or "/" in ref
    if looks_like_path and file is not None and not Path(ref).expanduser().is_absolute():
        return Path(file).expanduser().parent / ref
    return ref


def from_settings(
    settings: Mapping[str, Any],
    *,
    file: str | None = None,
    transport: httpx.BaseTransport | None = None,
    token_transport: httpx.BaseTransport | None = None,
    **runtime: Any,
) -> RestConnector:
    """Build a connector from a settings mapping (``profile`` plus secrets)."""
    parsed = parse_settings(settings, file=file)
    profile = load_profile(_resolve_profile(parsed.profile, file))
    try:
        return RestConnector(profile, parsed, transport=transport, token_transport=token_transport)
    except ConfigError as exc:
        if exc.file is None and file is not None:
            raise ConfigError(exc.reason, file=file, key=exc.key) from None
        raise


def profile_factory(profile: str) -> Callable[..., RestConnector]:
    """A registry factory for one bundled profile (``register_connector("boma", ...)``)."""

    def factory(settings: Mapping[str, Any], **kwargs: Any) -> RestConnector:
        return from_settings({"profile": profile, **settings}, **kwargs)

    return factory
