"""The dispatcher: one thread draining the durable queue into fresh scores.

It wakes as soon as a receiver commits an event (or every `poll_s`, for events left by
a previous process), takes the due events oldest first and hands each connection's
events to its handler while holding that connection's lock, the same lock the schedule
takes, so a webhook never runs alongside a sync of its connection.

First attempts go in one batch per connection (one re-read, one write batch for a burst
of events); a batch that fails is retried event by event with exponential backoff and
jitter, so one poison event cannot hold the others back. After `max_attempts` an event
is dead-lettered: kept in the queue as ``dead`` with its reason, and recorded in the
state store's dead letters.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from leadbridge.core.models import Page, RecordError
from leadbridge.core.redaction import redact
from leadbridge.sync.metrics import DaemonMetrics
from leadbridge.sync.state import StateStore
from leadbridge.sync.webhooks.queue import EventQueue, QueuedEvent
from leadbridge.sync.webhooks.refresh import EventHandler

__all__ = ["Dispatcher", "backoff_s"]

log = logging.getLogger("leadbridge.webhooks")

HandlerFor = Callable[[str], EventHandler | None]
"""The handler of a connection (cached by the caller), or None if it is not configured."""


def backoff_s(attempt: int, *, base_s: float = 1.0, cap_s: float = 300.0) -> float:
    """Full-jitter exponential backoff before attempt `attempt + 1` (`attempt` >= 0)."""
    ceiling = min(cap_s, base_s * (2.0**attempt))
    return random.uniform(ceiling / 2.0, ceiling)


class Dispatcher:
    """Consumes the queue on its own thread; `run_once` is the same work, synchronously."""

    def __init__(
        self,
        queue: EventQueue,
        handler_for: HandlerFor,
        lock_for: Callable[[str], threading.Lock],
        *,
        stop: threading.Event | None = None,
        metrics: DaemonMetrics | None = None,
        store: StateStore | None = None,
        max_attempts: Mapping[str, int] | None = None,
        default_max_attempts: int = 8,
        poll_s: float = 1.0,
        base_s: float = 1.0,
        cap_s: float = 300.0,
        retention_s: float = 172_800.0,
    ) -> None:
        self.queue = queue
        self._handler_for = handler_for
        self._lock_for = lock_for
        self.stop_event = stop or threading.Event()
        self._metrics = metrics
        self._store = store
        self._max_attempts = dict(max_attempts or {})
        self._default_max = default_max_attempts
        self._poll_s = poll_s
        self._base_s = base_s
        self._cap_s = cap_s
        self._retention_s = retention_s
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_purge: datetime | None = None

    # -- thread ---------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="lb-webhooks", daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Called by the receiver after a commit: process now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout_s: float | None = None) -> None:
        """Finish the batch in flight (its engine stops between write batches), then exit."""
        self.stop_event.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            self._wake.clear()
            try:
                self.run_once()
                wait = self.queue.next_due_in()
            except Exception:
                log.exception("webhook dispatcher: unexpected failure; retrying shortly")
                wait = self._poll_s
            timeout = self._poll_s if wait is None else min(max(wait, 0.01), self._poll_s)
            self._wake.wait(timeout)

    # -- work -----------------------------------------------------------------------

    def run_once(self) -> int:
        """Process every due event once; returns how many were handled successfully."""
        due = self.queue.due()
        by_connection: dict[str, list[QueuedEvent]] = {}
        for item in due:
            by_connection.setdefault(item.connection, []).append(item)
        done = 0
        for connection, items in by_connection.items():
            fresh = [i for i in items if i.attempts == 0]
            retried = [i for i in items if i.attempts > 0]
            groups = ([fresh] if fresh else []) + [[i] for i in retried]
            for group in groups:
                if self.stop_event.is_set():
                    return done
                done += self._process(connection, group)
        self._purge()
        return done

    def _process(self, connection: str, items: Sequence[QueuedEvent]) -> int:
        ids = [i.id for i in items]
        try:
            handler = self._handler_for(connection)
            if handler is None:
                self._give_up(connection, items, "connection is not configured for webhooks")
                return 0
            with self._lock_for(connection):
                if self.stop_event.is_set():
                    return 0
                result = handler.handle([i.event for i in items], self.stop_event)
            failed = [r for r in result.reports if r.status in ("failed", "partial")]
            if failed:
                raise _RunFailed("; ".join(e for r in failed for e in r.errors) or "run failed")
            if any(r.status == "stopped" for r in result.reports):
                return 0  # stopping: the events stay pending for the next process
        except Exception as exc:  # noqa: BLE001 - a poison event must not stop the others
            self._failed(connection, items, redact(f"{exc.__class__.__name__}: {exc}"))
            return 0
        now = datetime.now(UTC)
        self.queue.complete(ids, now=now)
        if self._metrics is not None:
            for report in result.reports:
                self._metrics.observe_report(report, trigger="webhook")
            self._metrics.webhook_processed(
                connection, [(now - i.received_at).total_seconds() for i in items]
            )
        return len(items)

    def _failed(self, connection: str, items: Sequence[QueuedEvent], error: str) -> None:
        limit = self._max_attempts.get(connection, self._default_max)
        poison = [i for i in items if i.attempts + 1 >= limit]
        again = [i for i in items if i.attempts + 1 < limit]
        log.warning("%s: %d webhook events failed: %s", connection, len(items), error)
        if self._metrics is not None:
            self._metrics.webhook_failed(connection)
        if again:
            # One delay for the group: a batch is retried event by event from then on.
            attempt = max(i.attempts for i in again)
            self.queue.retry(
                [i.id for i in again],
                error,
                delay_s=backoff_s(attempt, base_s=self._base_s, cap_s=self._cap_s),
            )
        if poison:
            self._give_up(connection, poison, error)

    def _give_up(self, connection: str, items: Sequence[QueuedEvent], error: str) -> None:
        self.queue.dead([i.id for i in items], error)
        if self._metrics is not None:
            self._metrics.webhook_failed(connection, dead=len(items))
        if self._store is not None:
            rejects = tuple(
                RecordError(
                    stream="webhook",
                    record_id=i.event.key,
                    reason=f"webhook event dead-lettered after {i.attempts + 1} attempts: {error}"[
                        :1000
                    ],
                    payload=i.event.model_dump_json()[:2000],
                )
                for i in items
            )
            self._store.stage_page(connection, Page(stream="webhook", rejects=rejects))
        log.error("%s: %d webhook events dead-lettered: %s", connection, len(items), error)

    def _purge(self) -> None:
        now = datetime.now(UTC)
        if self._last_purge is None or (now - self._last_purge).total_seconds() > 600:
            self._last_purge = now
            self.queue.purge(self._retention_s, now=now)


class _RunFailed(Exception):
    """A run reported failure instead of raising."""
