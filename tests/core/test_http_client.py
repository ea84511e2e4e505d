"""The one HTTP layer against a real local server scripted per test."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from leadbridge.core.auth import HeaderTokenAuth
from leadbridge.core.errors import (
    AuthError,
    MalformedResponse,
    NetworkError,
    NotFound,
    RateLimited,
    ServerError,
    ValidationRejected,
)
from leadbridge.core.http import HttpClient, RetryPolicy, parse_retry_after
from leadbridge.core.ratelimit import RateLimiter, parse_hubspot_headers
from leadbridge.core.resolution import DEFAULT_CLASSIFIER, Action, BodyRule, Resolution
from leadbridge.emulators.common.server import ServerThread

Script = Callable[[Request, int], Response]


class Scripted:
    """A server whose answer to the n-th request is decided by a function."""

    def __init__(self) -> None:
        self.script: Script = lambda request, n: JSONResponse({"ok": True})
        self.hits: list[float] = []
        self.headers: list[dict[str, str]] = []
        self.lock = threading.Lock()
        self.clients: list[HttpClient] = []

        async def handle(request: Request) -> Response:
            with self.lock:
                self.hits.append(time.monotonic())
                self.headers.append(dict(request.headers))
                n = len(self.hits)
            return self.script(request, n)

        app = Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST", "PATCH"])])
        self.server = ServerThread(app, name="scripted")


FAST = RetryPolicy(max_attempts=5, base_s=0.01, cap_s=0.05, max_elapsed_s=20)


@pytest.fixture
def scripted() -> Iterator[Scripted]:
    s = Scripted()
    s.server.start()
    yield s
    for c in s.clients:
        c.close()
    s.server.stop()


def client(s: Scripted, **kw: object) -> HttpClient:
    kw.setdefault("retry", FAST)
    c = HttpClient("test", base_url=s.server.base_url, **kw)  # type: ignore[arg-type]
    s.clients.append(c)
    return c


def test_returns_parsed_json_and_counts_by_category(scripted: Scripted) -> None:
    c = client(scripted)
    assert c.call("GET", "/x") == {"ok": True}
    c.call("POST", "/y", json={"a": 1}, category="write")
    assert c.counter.snapshot() == {"read": 1, "write": 1}


def test_retries_server_errors_then_succeeds(scripted: Scripted) -> None:
    scripted.script = lambda r, n: (
        JSONResponse({"message": "boom"}, 503) if n < 3 else JSONResponse({"n": n})
    )
    c = client(scripted)
    assert c.call("GET", "/x") == {"n": 3}
    assert c.counter.retries == 2


def test_gives_up_after_max_attempts_with_server_error(scripted: Scripted) -> None:
    scripted.script = lambda r, n: JSONResponse({"message": "still down"}, 500)
    with pytest.raises(ServerError, match="still down"):
        client(scripted).call("GET", "/x")
    assert len(scripted.hits) == FAST.max_attempts


def test_retry_after_seconds_is_a_floor(scripted: Scripted) -> None:
    scripted.script = lambda r, n: (
        JSONResponse({"message": "slow down"}, 429, headers={"Retry-After": "1"})
        if n == 1
        else JSONResponse({})
    )
    c = client(scripted)
    c.call("GET", "/x")
    assert scripted.hits[1] - scripted.hits[0] >= 1.0
    assert c.counter.throttled == 1


def test_retry_after_http_date_measured_against_server_date() -> None:
    date = "Mon, 23 Nov 2026 10:00:00 GMT"
    assert parse_retry_after("Mon, 23 Nov 2026 10:00:03 GMT", date) == pytest.approx(3.0)
    assert parse_retry_after("2.5") == 2.5
    assert parse_retry_after("soon") is None


def test_permanent_errors_are_not_retried(scripted: Scripted) -> None:
    scripted.script = lambda r, n: JSONResponse(
        {"status": "error", "message": "bad property", "category": "VALIDATION_ERROR"}, 400
    )
    with pytest.raises(ValidationRejected) as info:
        client(scripted).call("POST", "/x", json={})
    assert len(scripted.hits) == 1
    assert "bad property [VALIDATION_ERROR]" in str(info.value)
    assert info.value.status == 400


def test_not_found_and_auth_errors(scripted: Scripted) -> None:
    scripted.script = lambda r, n: JSONResponse({"message": "no such"}, 404)
    with pytest.raises(NotFound):
        client(scripted).call("GET", "/x")
    scripted.script = lambda r, n: JSONResponse({"message": "who are you"}, 401)
    with pytest.raises(AuthError):
        client(scripted).call("GET", "/x")


def test_truncated_json_is_retried_once_then_reported(scripted: Scripted) -> None:
    scripted.script = lambda r, n: Response(b'{"results": [1, 2', media_type="application/json")
    with pytest.raises(MalformedResponse) as info:
        client(scripted).call("GET", "/contacts")
    assert len(scripted.hits) == 2
    message = str(info.value)
    assert "invalid JSON" in message
    assert "/contacts" in message
    assert "\n" not in message


def test_html_error_page_is_described_not_dumped(scripted: Scripted) -> None:
    html = "<!DOCTYPE html><html><body>" + "x" * 5000 + "</body></html>"
    scripted.script = lambda r, n: (
        PlainTextResponse(html, 502) if n == 1 else Response(html.encode(), 200)
    )
    with pytest.raises(MalformedResponse, match="an HTML page"):
        client(scripted).call("GET", "/x")


def test_body_size_cap(scripted: Scripted) -> None:
    scripted.script = lambda r, n: Response(
        b"[" + b"1," * 100_000 + b"1]", media_type="application/json"
    )
    c = client(scripted, max_body_bytes=10_000)
    with pytest.raises(MalformedResponse, match="byte cap"):
        c.call("GET", "/x", category="write")


def test_connection_refused_is_a_network_error() -> None:
    with (
        HttpClient(
            "t", base_url="http://127.0.0.1:9", retry=RetryPolicy(max_attempts=2, base_s=0.01)
        ) as c,
        pytest.raises(NetworkError),
    ):
        c.call("GET", "/x")


def test_connector_override_turns_503_into_throttling(scripted: Scripted) -> None:
    classifier = DEFAULT_CLASSIFIER.with_overrides(
        {503: Resolution(Action.RATE_LIMITED, RateLimited, "throttled")}
    )
    scripted.script = lambda r, n: JSONResponse({}, 503, headers={"Retry-After": "0"})
    with pytest.raises(RateLimited):
        client(scripted, classifier=classifier).call("GET", "/x")


def test_body_rule_reads_vendor_error_codes(scripted: Scripted) -> None:
    rule = BodyRule(
        matches=lambda status, body: status == 403 and b"REQUEST_LIMIT_EXCEEDED" in body,
        resolution=Resolution(Action.RATE_LIMITED, RateLimited, "daily allocation exhausted"),
    )
    classifier = DEFAULT_CLASSIFIER.with_overrides(rules=[rule])
    scripted.script = lambda r, n: JSONResponse(
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        403,
        headers={"Retry-After": "0"},
    )
    with pytest.raises(RateLimited, match="daily allocation exhausted"):
        client(
            scripted,
            classifier=classifier,
            retry=RetryPolicy(max_attempts=2, base_s=0.01, cap_s=0.01),
        ).call("GET", "/x")


def test_paces_proactively_from_limit_headers(scripted: Scripted) -> None:
    """The server announces 5 per second; 15 calls must take about 2 windows and see no 429."""
    window: list[float] = []

    def script(request: Request, n: int) -> Response:
        now = time.monotonic()
        window[:] = [t for t in window if now - t < 1.0]
        if len(window) >= 5:
            return JSONResponse({"message": "limit"}, 429)
        window.append(now)
        headers = {
            "X-HubSpot-RateLimit-Max": "5",
            "X-HubSpot-RateLimit-Remaining": str(5 - len(window)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "1000",
        }
        return JSONResponse({"n": n}, headers=headers)

    scripted.script = script
    limiter = RateLimiter(
        {"default": (100, 10.0)}
    )  # deliberately wrong until the headers correct it
    c = client(scripted, limiter=limiter, header_parser=parse_hubspot_headers)
    start = time.monotonic()
    for _ in range(15):
        c.call("GET", "/x")
    elapsed = time.monotonic() - start
    assert c.counter.throttled <= 1  # the first window is learnt from the first response
    assert elapsed >= 1.9
    assert limiter.bucket("default").limit == 5


def test_secrets_never_reach_errors_or_logs(
    scripted: Scripted, caplog: pytest.LogCaptureFixture
) -> None:
    token = "pat-na1-11111111-2222-3333-4444-canary000001"
    scripted.script = lambda r, n: JSONResponse(
        {"message": f"token {r.headers.get('authorization')} refused"}, 500
    )
    c = client(scripted, auth=HeaderTokenAuth(token))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ServerError) as info:
        c.call("GET", "/x", params={"hapikey": token})
    assert scripted.headers[0]["authorization"] == f"Bearer {token}"
    assert token not in str(info.value)
    assert token not in (info.value.body or "")
    assert token not in caplog.text


def test_a_wait_longer_than_the_cap_fails_fast_instead_of_sleeping(scripted: Scripted) -> None:
    scripted.script = lambda r, n: JSONResponse(
        {"message": "daily limit"}, 429, headers={"Retry-After": "7200"}
    )
    c = client(scripted, retry=RetryPolicy(max_attempts=5, base_s=0.01, retry_after_cap_s=60))
    start = time.monotonic()
    with pytest.raises(RateLimited) as info:
        c.call("GET", "/x")
    assert time.monotonic() - start < 2
    assert info.value.retry_after == 7200
    assert len(scripted.hits) == 1
