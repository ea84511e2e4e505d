"""From queued events to fresh scores on the CRM, for one connection.

- Records a webhook names are re-read **by id** when the connector offers a lookup
  (HubSpot's batch read): that page is staged like any pulled page, and only the leads
  it touched are scored and written, through the engine's own run (same diff, batching,
  dead letters and audit). Cursors are not moved by the page, so the scheduled
  incremental sync stays the source of truth.
- Without a lookup (Salesforce, ActiveCampaign, BOMA) or when the sender lost the
  details (a CDC gap event), an incremental run of the connection picks the change up.
- A BOMA message (seed 001) is analysed (entity extraction) and posted back with its
  extracted fields, score and routing action; the run that follows scores its lead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from leadbridge.core.models import Bookmark, FieldSpec, Page, ScoreWrite, WriteResult
from leadbridge.core.protocols import (
    AuditSink,
    CallStats,
    Connector,
    Scorer,
    SupportsWriteBack,
)
from leadbridge.sync.engine import SyncEngine, SyncReport
from leadbridge.sync.state import StateStore
from leadbridge.sync.webhooks.events import InboundEvent

__all__ = ["EventHandler", "HandleResult", "LeadLookup", "LeadRefresher", "MessageAction"]

LeadLookup = Callable[[Sequence[str]], Page]
"""The current state of records by CRM id, as one page (unknown ids as deletions)."""

MessageAction = Callable[[InboundEvent], None]
"""Analyse one inbound message and post the result to the CRM (seed 001)."""


@dataclass(frozen=True)
class HandleResult:
    """What handling a set of events did."""

    reports: list[SyncReport] = field(default_factory=list)
    messages: int = 0

    @property
    def written(self) -> int:
        return sum(r.leads_written for r in self.reports)


class EventHandler(Protocol):
    """Processes one connection's events; raises to have them retried."""

    def handle(self, events: Sequence[InboundEvent], stop: threading.Event) -> HandleResult:
        """Apply the events; every effect is idempotent (retries may repeat them)."""

    def close(self) -> None:
        """Release the connector."""


class WriteBackConnector(Connector, SupportsWriteBack, Protocol):
    """A connector that reads and writes back (what the engine needs)."""


class _PageOnly:
    """The connector as the engine sees it for one webhook: one page in, writes out.

    Reads yield the looked-up page once (without a bookmark) and nothing else; writes,
    field checks and call counts go to the real connector.
    """

    def __init__(self, inner: WriteBackConnector, page: Page) -> None:
        self._inner = inner
        self.name = inner.name
        self.max_batch = inner.max_batch
        streams = list(inner.streams())
        self._first = streams[0] if streams else page.stream
        self._streams = streams or [page.stream]
        self._page = page.model_copy(update={"stream": self._first, "bookmark": None})

    def check(self) -> None:
        return None

    def streams(self) -> Sequence[str]:
        return self._streams

    def read(self, stream: str, since: Bookmark | None) -> Iterator[Page]:
        if stream == self._first:
            yield self._page

    def close(self) -> None:
        return None

    def ensure_fields(self, fields: Sequence[FieldSpec]) -> None:
        self._inner.ensure_fields(fields)

    def write(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        return self._inner.write(batch)

    def calls(self) -> dict[str, int]:
        return self._inner.calls() if isinstance(self._inner, CallStats) else {}

    def min_calls(self) -> dict[str, int]:
        return self._inner.min_calls() if isinstance(self._inner, CallStats) else {}


class LeadRefresher:
    """The `EventHandler` of one connection, built from its connector, scorer and store."""

    def __init__(
        self,
        connector: WriteBackConnector,
        scorer: Scorer,
        store: StateStore,
        *,
        connection: str,
        lookup: LeadLookup | None = None,
        messages: MessageAction | None = None,
        audit: AuditSink | None = None,
        actor: str = "leadbridge-webhook",
        page_filter: Callable[[Page], Page] | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        """`page_filter` and `audit` as for a scheduled run; `on_close` releases them."""
        self.connector = connector
        self.scorer = scorer
        self.store = store
        self.connection = connection
        self.lookup = lookup
        self.messages = messages
        self.audit = audit
        self.actor = actor
        self.page_filter = page_filter
        self._on_close = on_close

    def handle(self, events: Sequence[InboundEvent], stop: threading.Event) -> HandleResult:
        """Post analysed messages, then re-read and score the leads the events name."""
        posted = 0
        for event in events:
            if event.action == "message":
                if self.messages is None:
                    raise TypeError(f"connection {self.connection!r} cannot take messages")
                self.messages(event)
                posted += 1
        refresh = _ordered(i for e in events if e.action == "refresh" for i in e.object_ids)
        delete = _ordered(i for e in events if e.action == "delete" for i in e.object_ids)
        gap = any(e.action == "refresh" and not e.object_ids for e in events)
        reports: list[SyncReport] = []
        if posted or gap or (self.lookup is None and (refresh or delete)):
            reports.append(self._engine(self.connector, stop).run())
        elif refresh or delete:
            assert self.lookup is not None
            page = self.lookup(refresh) if refresh else Page(stream="webhook")
            gone = tuple(dict.fromkeys((*page.deleted, *delete)))
            page = page.model_copy(update={"deleted": gone})
            reports.append(self._engine(_PageOnly(self.connector, page), stop).run())
        return HandleResult(reports=reports, messages=posted)

    def _engine(self, connector: WriteBackConnector, stop: threading.Event) -> SyncEngine:
        # No decay sweep and no read-back here: this run is about the named leads only;
        # the scheduled run does both.
        return SyncEngine(
            connector,
            self.scorer,
            self.store,
            connection=self.connection,
            stop=stop,
            audit=self.audit,
            actor=self.actor,
            decay_sweep_s=None,
            read_back=connector is self.connector,
            page_filter=self.page_filter,
        )

    def close(self) -> None:
        self.connector.close()
        if self._on_close is not None:
            self._on_close()


def _ordered(ids: Iterator[str] | Sequence[str]) -> list[str]:
    return list(dict.fromkeys(ids))
