"""The state store on a real SQLite file: staging, dirty tracking, cursor rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadbridge.core.errors import StateError
from leadbridge.core.models import Activity, Bookmark, Channel, Lead, Page, RecordError, ScoreResult
from leadbridge.sync.state import StateStore, fingerprint, open_store

T0 = datetime(2026, 11, 1, tzinfo=UTC)
C = "conn"


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    s = open_store(tmp_path / "state" / "s.db")
    yield s
    s.close()


def lead(i: int, at: datetime = T0) -> Lead:
    return Lead(
        key=f"hs:{i}", source_ids={"hubspot": str(i)}, email=f"p{i}@example.ch", updated_at=at
    )


def page(
    leads: list[Lead],
    at: datetime,
    *,
    activities: tuple[Activity, ...] = (),
    deleted: tuple[str, ...] = (),
) -> Page:
    return Page(
        stream="contacts",
        leads=tuple(leads),
        activities=activities,
        deleted=deleted,
        bookmark=Bookmark(
            stream="contacts",
            cursor_field="lastmodifieddate",
            value=at,
            tiebreak_id=leads[-1].source_ids["hubspot"] if leads else None,
        ),
    )


def test_staged_page_marks_leads_dirty_and_stages_bookmark(store: StateStore) -> None:
    dirty = store.stage_page(C, page([lead(1), lead(2)], T0))
    assert dirty == {"hs:1", "hs:2"}
    assert store.dirty_keys(C) == ["hs:1", "hs:2"]
    assert store.bookmark(C, "contacts") is None  # nothing committed yet
    staged = store.bookmark(C, "contacts", staged=True)
    assert staged is not None
    assert staged.value == T0
    assert staged.tiebreak_id == "2"


def test_cursor_cannot_move_while_writes_are_pending(store: StateStore) -> None:
    store.stage_page(C, page([lead(1)], T0))
    with pytest.raises(StateError, match="await their write"):
        store.commit_bookmarks(C, cap=T0 + timedelta(days=1))
    store.settle(C, written_rows=[("1", "hs:1", {"leadbridge_score": 10}, "fp")])
    committed = store.commit_bookmarks(C, cap=T0 + timedelta(days=1))
    assert committed["contacts"].value == T0
    assert store.bookmark(C, "contacts") == committed["contacts"]


def test_cursor_is_capped_at_run_start_and_never_regresses(store: StateStore) -> None:
    later = T0 + timedelta(hours=5)
    store.stage_page(C, page([lead(1, later)], later))
    store.settle(C, unchanged=["hs:1"])
    assert store.commit_bookmarks(C, cap=T0)["contacts"].value == T0
    store.stage_page(C, page([lead(2, T0 - timedelta(days=3))], T0 - timedelta(days=3)))
    store.settle(C, unchanged=["hs:2"])
    assert store.commit_bookmarks(C, cap=later)["contacts"].value >= T0


def test_activities_dirty_their_lead_and_are_deduplicated(store: StateStore) -> None:
    store.stage_page(C, page([lead(1)], T0))
    store.settle(C, unchanged=["hs:1"])
    act = Activity(
        lead_key="hs:1",
        channel=Channel.WEB,
        kind="page_view:pricing",
        occurred_at=T0,
        source="hubspot",
        source_id="e1",
    )
    store.stage_page(C, Page(stream="events", activities=(act, act)))
    store.stage_page(C, Page(stream="events", activities=(act,)))
    assert store.dirty_keys(C) == ["hs:1"]
    assert [a.kind for a in store.load_activities(C, ["hs:1"])["hs:1"]] == ["page_view:pricing"]


def test_deleted_leads_leave_the_dirty_set(store: StateStore) -> None:
    store.stage_page(C, page([lead(1), lead(2)], T0))
    store.stage_page(C, Page(stream="archived", deleted=("2",)))
    assert store.dirty_keys(C) == ["hs:1"]
    assert store.load_leads(C, ["hs:2"])["hs:2"].deleted


def test_rejects_and_failed_writes_become_dead_letters(store: StateStore) -> None:
    bad = RecordError(
        stream="contacts", record_id="9", reason="numemployees: not a number", payload='{"id": "9"}'
    )
    store.stage_page(C, Page(stream="contacts", leads=(lead(1),), rejects=(bad,)))
    store.settle(C, failed=[("hs:1", "1", "INVALID_OPTION", "{}")])
    letters = store.dead_letters(C)
    assert [(d.stream, d.record_id) for d in letters] == [("contacts", "9"), ("writeback", "1")]
    assert store.dirty_keys(C) == []


def test_written_fingerprints_and_history(store: StateStore) -> None:
    store.stage_page(C, page([lead(1)], T0))
    result = ScoreResult(
        lead_key="hs:1",
        score=52,
        tier="hot",
        action="sales_alert",
        config_version="v1",
        computed_at=T0,
    )
    fp = fingerprint({"leadbridge_score": 52})
    store.settle(C, written_rows=[("1", "hs:1", {"leadbridge_score": 52}, fp)], history=[result])
    found = store.written_for(C, ["1", "2"])
    assert list(found) == ["1"]
    assert found["1"].fingerprint == fp
    assert found["1"].values == {"leadbridge_score": 52}
    assert store.latest_scores(C)["hs:1"] == result
    assert store.score_history(C, "hs:1") == [result]


def test_unusable_store_location_is_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StateError):
        open_store(blocker / "sub" / "s.db")


def test_unchanged_reread_is_not_dirty_but_a_change_is(store: StateStore) -> None:
    """Echo suppression: our own write bumps the CRM's modified time, not the content."""
    store.stage_page(C, page([lead(1)], T0))
    store.settle(C, unchanged=["hs:1"])
    later = T0 + timedelta(minutes=5)
    assert store.stage_page(C, page([lead(1, later)], later)) == set()
    assert store.dirty_keys(C) == []
    edited = Lead(key="hs:1", source_ids={"hubspot": "1"}, email="new@example.ch", updated_at=later)
    assert store.stage_page(C, page([edited], later)) == {"hs:1"}
    assert store.dirty_keys(C) == ["hs:1"]
