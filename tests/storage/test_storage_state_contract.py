"""The state store contract, run on SQLite and on PostgreSQL through the `db_url` fixture."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from leadbridge.core.errors import StateError
from leadbridge.core.models import (
    Activity,
    Bookmark,
    Channel,
    Lead,
    Outcome,
    OutcomeStatus,
    Page,
    RecordError,
    ScoreResult,
)
from leadbridge.sync.state import StateStore, fingerprint, open_store

T0 = datetime(2026, 11, 1, tzinfo=UTC)
C = "conn"


@pytest.fixture
def store(db_url: str) -> Iterator[StateStore]:
    s = open_store(db_url)
    yield s
    s.close()


def lead(i: int | str, at: datetime = T0, email: str | None = None) -> Lead:
    return Lead(
        key=f"hs:{i}",
        source_ids={"hubspot": str(i)},
        email=email or f"p{i}@example.ch",
        updated_at=at,
    )


def page(leads: list[Lead], at: datetime, **extra: object) -> Page:
    return Page(
        stream="contacts",
        leads=tuple(leads),
        bookmark=Bookmark(
            stream="contacts",
            cursor_field="lastmodifieddate",
            value=at,
            tiebreak_id=leads[-1].source_ids["hubspot"] if leads else None,
        ),
        **extra,  # type: ignore[arg-type]
    )


def result(key: str, score: int, at: datetime = T0) -> ScoreResult:
    return ScoreResult(
        lead_key=key, score=score, tier="hot", action="sales_alert", config_version="v1",
        computed_at=at,
    )  # fmt: skip


def test_stage_page_stores_everything_and_marks_dirty(store: StateStore) -> None:
    act = Activity(
        lead_key="hs:1",
        channel=Channel.EMAIL,
        kind="email_open",
        occurred_at=T0 - timedelta(hours=1),
        source="hubspot",
        source_id="e-1",
        value=2.5,
        attributes={"campaign": "spring"},
    )
    won = Outcome(lead_key="hs:2", status=OutcomeStatus.WON, at=T0, source="hubspot")
    dirty = store.stage_page(C, page([lead(1), lead(2)], T0, activities=(act,), outcomes=(won,)))
    assert dirty == {"hs:1", "hs:2"}
    snap = store.dirty_snapshot(C)
    assert snap.keys == ["hs:1", "hs:2"]
    assert snap.upto > 0
    records = store.load_leads(C, ["hs:1", "hs:2", "hs:404"])
    assert sorted(records) == ["hs:1", "hs:2"]
    assert records["hs:1"].lead.email == "p1@example.ch"
    assert records["hs:1"].lead.updated_at == T0
    assert records["hs:1"].source_id == "1"
    [loaded] = store.load_activities(C, ["hs:1"])["hs:1"]
    assert loaded.occurred_at == act.occurred_at
    assert loaded.occurred_at.tzinfo is not None
    assert (loaded.value, loaded.attributes) == (2.5, {"campaign": "spring"})
    [outcome] = store.outcomes(C)
    assert (outcome.lead_key, outcome.status, outcome.at) == ("hs:2", OutcomeStatus.WON, T0)
    assert store.count_leads(C) == 2
    assert sorted(store.source_ids(C)) == ["1", "2"]
    assert store.count_leads("other") == 0  # connections are isolated


def test_commit_rules_pending_writes_cap_and_no_regression(store: StateStore) -> None:
    later = T0 + timedelta(hours=5)
    store.stage_page(C, page([lead(1, later)], later))
    with pytest.raises(StateError, match="await their write"):
        store.commit_bookmarks(C, cap=later)
    assert store.bookmark(C, "contacts") is None
    store.settle(C, written_rows=[("1", "hs:1", {"leadbridge_score": 10}, "fp")])
    capped = store.commit_bookmarks(C, cap=T0)["contacts"]
    assert capped.value == T0
    assert capped.tiebreak_id is None  # capped: the tiebreak belonged to a later instant
    store.stage_page(C, page([lead(2, T0 - timedelta(days=3))], T0 - timedelta(days=3)))
    store.settle(C, unchanged=["hs:2"])
    # A staged bookmark never regresses, and neither does the committed one.
    again = store.commit_bookmarks(C, cap=later)["contacts"]
    assert again.value == later
    assert store.bookmark(C, "contacts") == again
    store.reset_staging(C)
    assert store.bookmark(C, "contacts", staged=True) == again  # falls back to committed


def test_settle_upto_keeps_a_lead_changed_after_the_snapshot(store: StateStore) -> None:
    store.stage_page(C, page([lead(1), lead(2)], T0))
    snap = store.dirty_snapshot(C)
    # While the snapshot's scores are written, lead 1 changes again in the CRM.
    later = T0 + timedelta(minutes=1)
    assert store.stage_page(C, page([lead(1, later, "new@example.ch")], later)) == {"hs:1"}
    assert store.dirty_snapshot(C).upto > snap.upto
    store.settle(C, unchanged=snap.keys, upto=snap.upto)
    assert store.dirty_keys(C) == ["hs:1"]
    store.settle(C, unchanged=["hs:1"], upto=store.dirty_snapshot(C).upto)
    assert store.dirty_keys(C) == []


def test_echo_suppression_and_mark_all_dirty(store: StateStore) -> None:
    store.stage_page(C, page([lead(1)], T0))
    store.settle(C, unchanged=["hs:1"])
    later = T0 + timedelta(minutes=5)
    assert store.stage_page(C, page([lead(1, later)], later)) == set()
    store.mark_all_dirty(C)
    assert store.dirty_keys(C) == ["hs:1"]


def test_deletions_and_duplicate_rows_in_one_page(store: StateStore) -> None:
    won = Outcome(lead_key="hs:1", status=OutcomeStatus.WON, at=T0, source="hubspot")
    lost = Outcome(lead_key="hs:1", status=OutcomeStatus.LOST, at=T0, source="hubspot")
    # A page may repeat a record (pagination overlap): the last copy wins, as row by row.
    dup = page([lead(1), lead(2), lead(1, email="last@example.ch")], T0, outcomes=(won, lost))
    assert store.stage_page(C, dup) == {"hs:1", "hs:2"}
    assert store.load_leads(C, ["hs:1"])["hs:1"].lead.email == "last@example.ch"
    assert [o.status for o in store.outcomes(C)] == [OutcomeStatus.LOST]
    store.stage_page(C, Page(stream="archived", deleted=("2",)))
    assert store.dirty_keys(C) == ["hs:1"]
    assert store.load_leads(C, ["hs:2"])["hs:2"].deleted
    assert store.source_ids(C) == ["1"]


def test_an_unchanged_outcome_keeps_its_first_time(store: StateStore) -> None:
    """Re-reading a record after our own write must not re-date its lost deal."""
    t1, t2, t3 = T0, T0 + timedelta(days=3), T0 + timedelta(days=9)

    def staged(status: OutcomeStatus, at: datetime) -> Outcome:
        out = Outcome(lead_key="hs:1", status=status, at=at, source="hubspot")
        store.stage_page(C, page([lead(1, at)], at, outcomes=(out,)))
        [stored] = store.outcomes(C)
        return stored

    assert staged(OutcomeStatus.LOST, t2).at == t2
    assert staged(OutcomeStatus.LOST, t3).at == t2  # same status re-read later: first time kept
    assert staged(OutcomeStatus.LOST, t1).at == t1  # an earlier time is a correction: taken
    won = staged(OutcomeStatus.WON, t3)
    assert (won.status, won.at) == (OutcomeStatus.WON, t3)  # a new decision: its own time


def test_long_identifiers_and_nul_bytes_are_stored(store: StateStore) -> None:
    """CRM ids and kinds have no length limit, and raw payloads may hold NUL bytes."""
    long_id = "x" * 600
    act = Activity(
        lead_key=f"hs:{long_id}",
        channel=Channel.WEB,
        kind="page_view:/" + "deep/" * 40,
        occurred_at=T0,
        source="hubspot",
        source_id="s" * 300,
    )
    bad = RecordError(stream="contacts", record_id="9\x00", reason="bad\x00byte", payload="{\x00}")
    store.stage_page(C, page([lead(long_id)], T0, activities=(act,), rejects=(bad,)))
    assert store.dirty_keys(C) == [f"hs:{long_id}"]
    assert store.load_activities(C, [f"hs:{long_id}"])[f"hs:{long_id}"][0].kind == act.kind
    [letter] = store.dead_letters(C)
    assert (letter.record_id, letter.reason, letter.payload) == (
        "9\ufffd",
        "bad\ufffdbyte",
        "{\ufffd}",
    )
    store.set_meta(f"fields:{'c' * 200}", "v")
    assert store.get_meta(f"fields:{'c' * 200}") == "v"


def test_dead_letters_written_values_and_history(store: StateStore) -> None:
    bad = RecordError(stream="contacts", record_id="9", reason="not a number", payload="{}")
    store.stage_page(C, page([lead(1), lead(2), lead(3)], T0, rejects=(bad,)))
    fp = fingerprint({"leadbridge_score": 52})
    first, second = result("hs:1", 40), result("hs:1", 52, T0 + timedelta(minutes=1))
    store.settle(
        C,
        written_rows=[
            ("1", "hs:1", {"leadbridge_score": 40}, "old"),
            ("1", "hs:1", {"leadbridge_score": 52}, fp),  # the later acknowledgement wins
        ],
        unchanged=["hs:3"],
        failed=[("hs:2", "2", "INVALID_OPTION", '{"id": "2"}')],
        history=[first, second],
    )
    assert store.dirty_keys(C) == []
    written = store.written_for(C, ["1", "2"])
    assert list(written) == ["1"]
    assert (written["1"].fingerprint, written["1"].values) == (fp, {"leadbridge_score": 52})
    assert store.written_values(C) == {"1": {"leadbridge_score": 52}}
    assert store.latest_scores(C) == {"hs:1": second}
    assert store.score_history(C, "hs:1") == [first, second]
    letters = store.dead_letters(C)
    assert [(d.stream, d.record_id) for d in letters] == [("contacts", "9"), ("writeback", "2")]
    assert all(d.at.tzinfo is not None for d in letters)
    assert store.dead_letters("other") == []
    assert len(store.dead_letters()) == 2


def test_runs_are_recorded_with_utc_times(store: StateStore) -> None:
    first = store.begin_run(C, "full", T0)
    second = store.begin_run(C, "incremental", T0 + timedelta(hours=1))
    assert second > first
    store.finish_run(first, "ok", '{"leads": 3}')
    runs = store.runs(C)
    assert [(r["id"], r["mode"], r["status"]) for r in runs] == [
        (first, "full", "ok"),
        (second, "incremental", "running"),
    ]
    assert runs[0]["started_at"] == T0
    assert runs[0]["finished_at"].tzinfo is not None
    assert runs[1]["finished_at"] is None
    assert store.runs("other") == []


def test_reopening_keeps_state_and_schema_version(db_url: str) -> None:
    first = open_store(db_url)
    first.stage_page(C, page([lead(1)], T0))
    first.close()
    again = open_store(db_url)
    assert again.get_meta("schema_version") == "1"
    assert again.dirty_keys(C) == ["hs:1"]
    again.set_meta("schema_version", "99")
    again.close()
    with pytest.raises(StateError, match="schema version 99"):
        open_store(db_url)


def _stage_concurrently(stores: list[StateStore], threads_per_store: int, pages: int) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores) * threads_per_store)

    def worker(s: StateStore, w: int) -> None:
        try:
            start.wait()
            for p in range(pages):
                base = (w * pages + p) * 5
                at = T0 + timedelta(seconds=base)
                s.stage_page(C, page([lead(base + i, at) for i in range(5)], at))
                if p % 2:
                    snap = s.dirty_snapshot(C)
                    s.settle(C, unchanged=snap.keys[:3], upto=snap.upto)
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)

    workers = [
        threading.Thread(target=worker, args=(s, i * threads_per_store + t))
        for i, s in enumerate(stores)
        for t in range(threads_per_store)
    ]
    for t in workers:
        t.start()
    for t in workers:
        t.join(timeout=120)
    assert not errors, errors


def test_concurrent_staging_from_threads_loses_nothing(store: StateStore) -> None:
    _stage_concurrently([store], threads_per_store=4, pages=6)
    assert store.count_leads(C) == 4 * 6 * 5
    store.settle(C, unchanged=store.dirty_keys(C))
    committed = store.commit_bookmarks(C, cap=T0 + timedelta(days=1))
    assert committed["contacts"].value == T0 + timedelta(seconds=(4 * 6 - 1) * 5)


def test_two_stores_on_one_database_like_two_workers(db_url: str) -> None:
    """Separate engines (as separate processes would have) serialise in the database."""
    stores = [open_store(db_url), open_store(db_url)]
    try:
        _stage_concurrently(stores, threads_per_store=2, pages=5)
        assert stores[1].count_leads(C) == 4 * 5 * 5
        snap = stores[0].dirty_snapshot(C)
        assert len(snap.keys) == len(set(snap.keys))
        stores[1].settle(C, unchanged=snap.keys, upto=snap.upto)
        assert stores[0].dirty_keys(C) == []
        assert stores[0].commit_bookmarks(C, cap=T0 + timedelta(days=1))
    finally:
        for s in stores:
            s.close()


def test_a_writer_in_another_process_holds_off_staging(db_url: str) -> None:
    """Writers of one connection take turns in the database, not only in this process."""
    store = open_store(db_url)
    store.stage_page(C, page([lead(1)], T0))
    before = store.dirty_snapshot(C).upto
    other = sa.create_engine(db_url, poolclass=sa.NullPool)
    done = threading.Event()
    try:
        with other.connect() as conn:
            # Another worker mid-transaction: SQLite's write lock, or the connection's row lock.
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql(
                    "SELECT value FROM lb_meta WHERE key LIKE 'dirty_seq:%%' FOR UPDATE"
                )
            writer = threading.Thread(
                target=lambda: (store.stage_page(C, page([lead(2)], T0)), done.set())
            )
            writer.start()
            time.sleep(0.5)
            assert not done.is_set()
            conn.rollback()
        writer.join(timeout=30)
        assert done.is_set()
        assert store.dirty_snapshot(C).upto > before
    finally:
        other.dispose()
        store.close()
