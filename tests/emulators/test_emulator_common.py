from __future__ import annotations

from datetime import UTC, datetime

from leadbridge.emulators.common.faults import FaultDice, truncate_json, wrong_types
from leadbridge.emulators.common.ledger import Ledger
from leadbridge.emulators.common.limiter import DailyQuota, SlidingWindow
from leadbridge.emulators.common.timefmt import parse_instant, to_iso_ms


def test_sliding_window_rolls_with_the_clock():
    now = [0.0]
    window = SlidingWindow(3, 10.0, clock=lambda: now[0])
    assert [window.acquire("a").allowed for _ in range(4)] == [True, True, True, False]
    assert window.acquire("b").allowed
    now[0] = 9.9
    refused = window.acquire("a")
    assert not refused.allowed
    assert 0 < refused.retry_after_s <= 0.1 + 1e-9
    now[0] = 10.01
    assert window.acquire("a").allowed
    assert window.remaining("a") == 2


def test_daily_quota_resets_at_midnight():
    day = [datetime(2026, 1, 1, 23, 0, tzinfo=UTC)]
    quota = DailyQuota(2, clock=lambda: day[0])
    assert [quota.acquire("p").allowed for _ in range(3)] == [True, True, False]
    day[0] = datetime(2026, 1, 2, 0, 1, tzinfo=UTC)
    assert quota.acquire("p").allowed
    assert quota.remaining("p") == 1


def test_time_formats_and_fault_helpers():
    assert parse_instant("1700000000000") == 1_700_000_000_000
    assert parse_instant("2023-11-14T22:13:20Z") == 1_700_000_000_000
    assert parse_instant("2023-11-14T23:13:20+01:00") == 1_700_000_000_000
    assert parse_instant("soon") is None
    assert to_iso_ms(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
    body = b'{"results": [{"id": "1"}], "total": 1}'
    assert len(truncate_json(body, FaultDice(1))) < len(body)
    assert wrong_types({"results": [{"id": "1"}], "total": 1}) == {
        "results": [{"id": 1}],
        "total": "1x",
    }
    dice_a, dice_b = FaultDice(3), FaultDice(3)
    assert [dice_a.roll(0.5) for _ in range(20)] == [dice_b.roll(0.5) for _ in range(20)]


def test_ledger_is_a_faithful_count():
    ledger = Ledger()
    ledger.record("GET /x", 200)
    ledger.record("GET /x", 429)
    ledger.record_write("POST /y", "7", {"a": "1"}, 200)
    assert ledger.counts() == {"GET /x": 2}
    assert ledger.statuses() == {200: 1, 429: 1}
    assert ledger.writes()[0].object_id == "7"
    assert ledger.snapshot()["total"] == 2
    ledger.reset()
    assert ledger.total() == 0
    assert ledger.writes() == []
