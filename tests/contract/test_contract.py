"""Issue 5's contract: every connector behaves the same against its emulator.

Each test runs once per CRM (the `harness` fixture) and knows nothing of the vendor: it
pulls, resumes, throttles, expires, writes and deletes through the `Connector`
protocols, compares with the emulator's own data, and ends by asking the vendor's
validator whether any request sent would have been refused.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from leadbridge.core.errors import AuthError, LeadbridgeError, MalformedResponse
from leadbridge.core.models import Page, ScoreWrite
from leadbridge.core.protocols import CallStats, Connector, SupportsReadBack, SupportsWriteBack
from leadbridge.scoring.rules import RulesScorer, load_config
from leadbridge.sync.engine import SyncEngine
from leadbridge.sync.state import open_store
from leadbridge.sync.writeback import SCORE_FIELDS

if TYPE_CHECKING:
    from conftest import Harness


def ids_of(pages: Iterable[Page], crm: str) -> list[str]:
    """Lead ids and rejected record ids, in reading order (a reject is still delivered)."""
    out: list[str] = []
    for page in pages:
        out.extend(lead.source_ids[crm] for lead in page.leads)
        out.extend(r.record_id or "" for r in page.rejects)
    return out


def no_violations(harness: Harness) -> None:
    problems = harness.violations()
    assert not problems, problems[:5]


def scores(ids: Iterable[str], score: int = 61) -> list[ScoreWrite]:
    values = {"leadbridge_score": score, "leadbridge_tier": "warm"}
    return [ScoreWrite(source_id=i, lead_key=f"x:{i}", values=values) for i in ids]


def test_protocols(harness: Harness) -> None:
    connector = harness.connector()
    assert isinstance(connector, Connector)
    assert isinstance(connector, SupportsWriteBack)
    assert isinstance(connector, CallStats)
    assert isinstance(connector, SupportsReadBack), "writes bump modified times: declare echoes"
    assert harness.lead_stream in connector.echo_streams
    assert next(iter(connector.streams())) == harness.lead_stream
    assert harness.delete_stream in connector.streams()
    connector.check()


def test_full_pull_equals_the_emulator(harness: Harness) -> None:
    connector = harness.connector()
    pages = list(connector.read(harness.lead_stream, None))
    got = ids_of(pages, harness.crm)
    assert len(got) == len(set(got)), "a record was delivered twice"
    assert set(got) == harness.expected_ids()
    assert all(p.bookmark is not None for p in pages)
    assert all("\n" not in r.reason for p in pages for r in p.rejects)
    used, minimum = connector.calls()["read"], connector.min_calls()["read"]  # type: ignore[attr-defined]
    assert used == minimum if harness.exact_read_accounting else used >= minimum > 0
    no_violations(harness)


def test_resume_from_every_checkpoint_loses_nothing(harness: Harness) -> None:
    connector = harness.connector()
    pages = list(connector.read(harness.lead_stream, None))
    everything = set(ids_of(pages, harness.crm))
    assert len([p for p in pages if p.leads or p.rejects]) >= 3, "several pages to resume from"
    for i, page in enumerate(pages):
        before = set(ids_of(pages[: i + 1], harness.crm))
        resumed = ids_of(connector.read(harness.lead_stream, page.bookmark), harness.crm)
        assert before | set(resumed) == everything, f"resuming after page {i} lost records"
        assert len(resumed) == len(set(resumed))
    no_violations(harness)


def test_many_records_sharing_one_timestamp(harness: Harness) -> None:
    connector = harness.connector()
    mark = list(connector.read(harness.lead_stream, None))[-1].bookmark
    tied = harness.tie(3 * harness.max_page + 7)  # more than three pages of one instant
    pages = list(connector.read(harness.lead_stream, mark))
    got = ids_of(pages, harness.crm)
    assert tied <= set(got)
    assert len(got) == len(set(got)), "a tied record came back twice in one read"
    middle = [
        p.bookmark for p in pages if {lead.source_ids[harness.crm] for lead in p.leads} & tied
    ]
    assert len(middle) >= 3
    for bookmark in middle:
        seen = set(ids_of(pages[: [p.bookmark for p in pages].index(bookmark) + 1], harness.crm))
        again = set(ids_of(connector.read(harness.lead_stream, bookmark), harness.crm))
        assert tied <= seen | again, "resuming inside a tie lost records"
    no_violations(harness)


@pytest.mark.parametrize("kind", ["429", "5xx"])
def test_storms_still_complete(harness: Harness, kind: str) -> None:
    harness.storm(kind)
    connector = harness.connector()
    got = ids_of(connector.read(harness.lead_stream, None), harness.crm)
    harness.calm()
    assert set(got) == harness.expected_ids()
    statuses = harness.ledger.statuses()
    if kind == "429":
        assert harness.throttled() > 0
    else:
        assert sum(n for s, n in statuses.items() if s >= 500) > 0
    no_violations(harness)


def test_expired_credentials_mid_sync(harness: Harness) -> None:
    connector = harness.connector(expiring=True)
    pages = connector.read(harness.lead_stream, None)
    seen = [next(pages)]
    harness.expire_credentials()
    if harness.expiring_credentials:
        seen.extend(pages)  # one 401, a new token, the same request again
        assert 401 in harness.ledger.statuses()
    else:
        # A key that never expires was revoked: one clear error, then resume on a new key.
        with pytest.raises(AuthError) as caught:
            seen.extend(pages)
        assert "\n" not in str(caught.value)
        resumed = harness.renewed().read(harness.lead_stream, seen[-1].bookmark)
        seen.extend(resumed)
    got = ids_of(seen, harness.crm)
    assert set(got) == harness.expected_ids()
    no_violations(harness)


def test_partial_batch_failure_is_reported_per_record(harness: Harness) -> None:
    connector = harness.connector()
    connector.ensure_fields(SCORE_FIELDS)  # type: ignore[attr-defined]
    live = harness.writable_ids()
    good, gone = live[:11], live[11]  # twelve: above ActiveCampaign's contact/sync threshold
    harness.delete([gone])
    before = harness.write_requests()
    result = connector.write(scores([*good[:5], gone, *good[5:]]))  # type: ignore[attr-defined]
    assert set(result.succeeded) == set(good)
    assert set(result.failed) == {gone}
    assert "\n" not in result.failed[gone]
    assert len(result.failed[gone]) <= 300
    batch = connector.max_batch  # type: ignore[attr-defined]
    assert harness.write_requests() - before <= math.ceil(12 / batch), "no write was resent"
    # The deleted record's refusal is the only one, and per record.
    no_violations(harness)


def test_field_bootstrap_twice_is_a_no_op(harness: Harness) -> None:
    connector = harness.connector()
    connector.ensure_fields(SCORE_FIELDS)  # type: ignore[attr-defined]
    first = len(harness.sent)
    connector.ensure_fields(SCORE_FIELDS)  # type: ignore[attr-defined]
    again = harness.sent[first:]
    assert all(s.method == "GET" for s in again), [f"{s.method} {s.path}" for s in again]
    target = harness.writable_ids()[:2]
    result = connector.write(scores(target))  # type: ignore[attr-defined]
    assert set(result.succeeded) == set(target)
    no_violations(harness)


def test_deletes_are_detected(harness: Harness) -> None:
    known = harness.expected_ids()
    connector = harness.connector(known_ids=lambda: known)
    list(connector.read(harness.lead_stream, None))
    first = list(connector.read(harness.delete_stream, None))
    mark = first[-1].bookmark if first else None
    gone = harness.writable_ids()[2:5]
    harness.delete(gone)
    harness.let_a_minute_pass()
    pages = list(connector.read(harness.delete_stream, mark))
    deleted = {d for p in pages for d in p.deleted}
    assert set(gone) <= deleted
    assert not deleted & harness.expected_ids(), "a live record was reported deleted"
    no_violations(harness)


@pytest.mark.parametrize("kind", ["truncated_json", "html_error"])
def test_malformed_page_is_one_clear_line(harness: Harness, kind: str) -> None:
    connector = harness.connector()
    harness.malformed(kind)
    with pytest.raises(MalformedResponse) as caught:
        list(connector.read(harness.lead_stream, None))
    message = str(caught.value)
    assert "\n" not in message
    assert len(message) < 500
    assert message.startswith(harness.crm)
    harness.calm()
    assert set(ids_of(connector.read(harness.lead_stream, None), harness.crm)) == (
        harness.expected_ids()
    )
    no_violations(harness)


def test_sync_writes_in_full_batches_and_ends_quiescent(harness: Harness, tmp_path: Path) -> None:
    """The engine over each connector: minimal writes, its own echo read back, then quiet."""
    store = open_store(tmp_path / "state.db")
    connector = harness.connector(known_ids=lambda: store.source_ids("c"))
    scorer = RulesScorer(load_config("omnichannel"))
    as_of = datetime.now(UTC)
    engine = SyncEngine(connector, scorer, store, connection="c", clock=lambda: as_of)
    try:
        full = engine.run()
        assert full.status == "ok", full.errors
        assert full.leads_written > 0
        batch = connector.max_batch  # type: ignore[attr-defined]
        minimum = math.ceil(full.leads_written / batch)
        assert harness.write_requests() <= math.ceil(1.02 * minimum) + _small_tail(harness)
        writes_before = harness.write_requests()
        again = engine.run()
        assert again.status == "ok", again.errors
        assert again.leads_written == 0
        assert again.write_failures == 0
        assert harness.write_requests() == writes_before
        assert again.leads_scored <= batch, "our own echo came back as changes"
        _assert_incremental_picks_up_edits(harness, engine)
    finally:
        store.close()
    no_violations(harness)


def _small_tail(harness: Harness) -> int:
    """ActiveCampaign writes a batch under ten with contact/sync, one call each (its advice)."""
    return 9 if harness.crm == "activecampaign" else 0


def _assert_incremental_picks_up_edits(harness: Harness, engine: SyncEngine) -> None:
    # ActiveCampaign stamps udate in whole seconds: an edit in the very second of our own
    # write is indistinguishable from its echo (see connectors/activecampaign/echo.py).
    time.sleep(1.1)
    changed = set(harness.emulator.mutate(0.05, seed=3))
    writes_before = harness.write_requests()
    report = engine.run()
    assert report.status == "ok", report.errors
    assert report.leads_pulled + report.rejects >= len(changed), "an edit was missed"
    assert harness.write_requests() - writes_before <= max(len(changed), 1)


def test_call_accounting_is_exact_on_a_clean_run(harness: Harness) -> None:
    connector = harness.connector()
    for stream in connector.streams():
        list(connector.read(stream, None))
    used: dict[str, int] = connector.calls()  # type: ignore[attr-defined]
    minimum: dict[str, int] = connector.min_calls()  # type: ignore[attr-defined]
    if harness.exact_read_accounting:
        assert used["read"] == minimum["read"]
    else:
        assert used["read"] >= minimum["read"] > 0
    assert Counter(s.method for s in harness.sent)["GET"] > 0
    no_violations(harness)


def test_errors_are_leadbridge_errors(harness: Harness) -> None:
    """A bad stream name is a programming error; nothing vendor-specific escapes."""
    connector = harness.connector()
    harness.storm("5xx")
    harness.emulator.faults.rate_5xx = 1.0
    with pytest.raises(LeadbridgeError) as caught:
        list(connector.read(harness.lead_stream, None))
    assert "\n" not in str(caught.value)
    harness.calm()
