"""The durable queue on SQLite and PostgreSQL: dedupe, due order, retries, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadbridge.sync.webhooks.events import InboundEvent
from leadbridge.sync.webhooks.queue import open_queue

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _event(key: str, *ids: str) -> InboundEvent:
    return InboundEvent(key=key, action="refresh", object_ids=ids, kind="contact.creation")


def test_duplicates_are_refused_within_a_request_and_across_requests(db_url: str) -> None:
    queue = open_queue(db_url)
    try:
        first = queue.enqueue("hs", [_event("a", "1"), _event("b", "2"), _event("a", "1")], now=T0)
        assert (first.accepted, first.duplicates) == (2, 1)
        again = queue.enqueue("hs", [_event("b", "2"), _event("c", "3")], now=T0)
        assert (again.accepted, again.duplicates) == (1, 1)
        # The same key on another connection is a different event.
        assert queue.enqueue("other", [_event("a", "1")], now=T0).accepted == 1
        due = queue.due(now=T0)
        assert [(d.connection, d.event.key) for d in due] == [
            ("hs", "a"),
            ("hs", "b"),
            ("hs", "c"),
            ("other", "a"),
        ]
        assert due[0].event.object_ids == ("1",)
        assert due[0].received_at == T0
    finally:
        queue.close()


def test_retry_dead_and_purge(db_url: str) -> None:
    queue = open_queue(db_url)
    try:
        queue.enqueue("hs", [_event("a", "1"), _event("b", "2"), _event("c", "3")], now=T0)
        a, b, c = queue.due(now=T0)
        queue.retry([a.id], "boom", delay_s=30, now=T0)
        queue.dead([b.id], "poison")
        queue.complete([c.id], now=T0)
        assert queue.due(now=T0) == []
        assert queue.next_due_in(now=T0) == 30.0
        later = queue.due(now=T0 + timedelta(seconds=31))
        assert [(e.event.key, e.attempts) for e in later] == [("a", 1)]
        assert queue.statuses("hs") == {"pending": 1, "dead": 1, "done": 1}
        assert queue.oldest_pending() == {"hs": T0}
        dead = [r for r in queue.rows("hs") if r["status"] == "dead"]
        assert dead[0]["last_error"] == "poison"
        # Processed ids are kept for the replay horizon, then forgotten.
        assert queue.purge(3600, now=T0 + timedelta(seconds=10)) == 0
        assert queue.purge(3600, now=T0 + timedelta(hours=2)) == 1
        assert queue.enqueue("hs", [_event("c", "3")]).accepted == 1
    finally:
        queue.close()
