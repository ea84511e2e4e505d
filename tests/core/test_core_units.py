"""Pure units of core: limiter arithmetic (fake clock), paginators, redaction, JSON guard."""

from __future__ import annotations

import logging

import pytest

from leadbridge.core.errors import ConfigError, MalformedResponse
from leadbridge.core.jsonsafe import loads
from leadbridge.core.paginators import (
    JSONCursorPaginator,
    NextURLPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    paginate,
)
from leadbridge.core.ratelimit import (
    Bucket,
    LimitObservation,
    parse_hubspot_headers,
    parse_ratelimit_headers,
)
from leadbridge.core.redaction import MASK, RedactingFilter, redact, register_secret


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_never_exceeds_limit_in_any_window() -> None:
    clock = FakeClock()
    bucket = Bucket(
        "b", limit=10, interval_s=1.0, margin=0.0, min_margin_s=0.0, clock=clock, sleep=clock.sleep
    )
    sends = []
    for _ in range(35):
        bucket.acquire()
        sends.append(clock.now)
    for i, t in enumerate(sends):
        in_window = [s for s in sends[: i + 1] if t - s < 1.0]
        assert len(in_window) <= 10
    assert sends[-1] - sends[0] == pytest.approx(3.0)  # 35 sends at 10/s: three full waits


def test_bucket_adopts_server_view_of_remaining_budget() -> None:
    clock = FakeClock()
    bucket = Bucket(
        "b",
        limit=100,
        interval_s=10.0,
        margin=0.0,
        min_margin_s=0.0,
        clock=clock,
        sleep=clock.sleep,
    )
    bucket.observe(LimitObservation(limit=100, remaining=0, interval_s=10.0))
    waited = bucket.acquire()
    assert waited == pytest.approx(10.0)


def test_bucket_pause_for_retry_after() -> None:
    clock = FakeClock()
    bucket = Bucket("b", limit=5, interval_s=1.0, clock=clock, sleep=clock.sleep)
    bucket.pause_for(3.0)
    assert bucket.acquire() == pytest.approx(3.0)


def test_limit_header_parsers() -> None:
    obs = parse_hubspot_headers(
        {
            "x-hubspot-ratelimit-max": "190",
            "x-hubspot-ratelimit-remaining": "12",
            "x-hubspot-ratelimit-interval-milliseconds": "10000",
            "x-hubspot-ratelimit-daily-remaining": "999",
            "x-hubspot-ratelimit-daily": "1000",
        }
    )
    assert obs == LimitObservation(
        limit=190, remaining=12, interval_s=10.0, daily_limit=1000, daily_remaining=999
    )
    assert parse_hubspot_headers({}) is None
    assert parse_ratelimit_headers(
        {"ratelimit-limit": "5", "ratelimit-remaining": "0"}
    ) == LimitObservation(limit=5, remaining=0, interval_s=1.0)


def test_json_cursor_paging_and_loop_guard() -> None:
    pages = {
        None: {"r": [1], "paging": {"next": {"after": "a"}}},
        "a": {"r": [2], "paging": {"next": {"after": "b"}}},
        "b": {"r": [3]},
    }
    got = [p["r"] for p in paginate(lambda t: pages[t], JSONCursorPaginator("paging.next.after"))]
    assert got == [[1], [2], [3]]
    looping = {
        None: {"paging": {"next": {"after": "x"}}},
        "x": {"paging": {"next": {"after": "x"}}},
    }
    with pytest.raises(MalformedResponse, match="repeated page token"):
        list(paginate(lambda t: looping[t], JSONCursorPaginator("paging.next.after")))


def test_next_url_offset_and_page_number_paginators() -> None:
    assert (
        NextURLPaginator("nextRecordsUrl", "done").get_next({"done": True, "nextRecordsUrl": "/x"})
        is None
    )
    assert (
        NextURLPaginator("nextRecordsUrl", "done").get_next({"done": False, "nextRecordsUrl": "/x"})
        == "/x"
    )
    offsets = OffsetPaginator(limit=2, records_path="contacts", total_path="meta.total")
    assert offsets.advance({"contacts": [1, 2], "meta": {"total": "5"}}) == 2
    assert offsets.advance({"contacts": [3, 4], "meta": {"total": "5"}}) == 4
    assert offsets.advance({"contacts": [5], "meta": {"total": "5"}}) is None
    numbers = PageNumberPaginator(limit=2, records_path="data")
    assert numbers.advance({"data": [1, 2]}) == 2
    assert numbers.advance({"data": [3]}) is None


def test_redaction_of_registered_and_pattern_secrets() -> None:
    register_secret("refresh-canary-123456")
    text = (
        "Authorization: Bearer abcdefghijklmnop and refresh_token=refresh-canary-123456 "
        'client_secret="zzzzzz" key pat-na1-aaaa-bbbb-cccc'
    )
    cleaned = redact(text)
    for secret in ("abcdefghijklmnop", "refresh-canary-123456", "zzzzzz", "pat-na1-aaaa-bbbb-cccc"):
        assert secret not in cleaned
    assert MASK in cleaned
    assert redact("nothing secret here") == "nothing secret here"


def test_logging_filter_redacts_args_and_exceptions() -> None:
    register_secret("log-canary-987654")
    record = logging.LogRecord(
        "leadbridge", logging.ERROR, __file__, 1, "token %s", ("log-canary-987654",), None
    )
    try:
        raise ValueError("boom log-canary-987654")
    except ValueError as exc:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    RedactingFilter().filter(record)
    assert "log-canary-987654" not in record.getMessage()
    assert record.exc_info is None


@pytest.mark.parametrize(
    "body", [b"", b"   ", b'{"a": NaN}', b'{"a": 1', b"<html>oops</html>", b'"\\ud800"']
)
def test_json_guard_rejects_bad_bodies(body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        loads(body)


def test_config_error_names_file_and_key() -> None:
    assert (
        str(ConfigError("must be positive", file="a.toml", key="tiers.hot"))
        == "a.toml, key 'tiers.hot': must be positive"
    )


def test_saturate_waits_for_the_oldest_send_not_a_whole_window() -> None:
    clock = FakeClock()
    bucket = Bucket(
        "b", limit=10, interval_s=10.0, margin=0.0, min_margin_s=0.0, clock=clock, sleep=clock.sleep
    )
    bucket.acquire()  # at t=100
    clock.now += 8.0
    for _ in range(5):
        bucket.acquire()  # at t=108
    bucket.saturate()  # server: full
    assert bucket.acquire() == pytest.approx(2.0)  # the t=100 send ages out at t=110
    fresh = Bucket(
        "c", limit=10, interval_s=10.0, margin=0.0, min_margin_s=0.0, clock=clock, sleep=clock.sleep
    )
    fresh.saturate()
    assert fresh.acquire() == pytest.approx(10.0)
