"""simple-salesforce's `requests` traffic routed through leadbridge's `HttpClient`.

simple-salesforce builds good requests and parses Salesforce's answers, but sends them
with its own `requests.Session`. `HttpClientAdapter` is a `requests` transport adapter
mounted on that session: every `PreparedRequest` goes through `HttpClient.send` (pacing,
retries, classification, counting, redaction) and comes back as a `requests.Response`.
The SDK's ``Authorization`` header is dropped: auth is the `HttpClient`'s `httpx.Auth`.

Salesforce's limits are a rolling 24 h allocation reported in ``Sforce-Limit-Info:
api-usage=used/max`` on every response. `parse_limit_info` feeds it to the account's
limiter; `AllocationGuard` refuses to start a call when fewer than the reserve remain.
A ``403 REQUEST_LIMIT_EXCEEDED`` carries no wait, so `AllocationTransport` adds the
connector's estimate as ``Retry-After``: the client then pauses the account's bucket and,
when the wait is longer than it will sleep, fails fast (this run ends "partial"; other
connections, with their own limiters, go on).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import httpx
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from leadbridge.core.errors import RateLimited
from leadbridge.core.http import Category, HttpClient
from leadbridge.core.ratelimit import LimitObservation, RateLimiter

__all__ = [
    "AllocationGuard",
    "AllocationTransport",
    "HttpClientAdapter",
    "parse_limit_info",
    "sdk_session",
]

_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
_DROPPED = frozenset(
    {
        "authorization",
        "content-length",
        "host",
        "connection",
        "accept-encoding",
        "user-agent",
        "x-prettyprint",
    }
)


def parse_limit_info(headers: Mapping[str, str]) -> LimitObservation | None:
    """``Sforce-Limit-Info: api-usage=18/15000`` as the daily budget observation."""
    match = _USAGE.search(headers.get("sforce-limit-info", ""))
    if match is None:
        return None
    used, limit = int(match.group(1)), int(match.group(2))
    return LimitObservation(daily_limit=limit, daily_remaining=max(limit - used, 0))


class AllocationGuard:
    """Refuses to start a call that would dig into the daily reserve."""

    def __init__(self, limiter: RateLimiter, *, reserve: int, retry_s: float) -> None:
        self.limiter = limiter
        self.reserve = reserve
        self.retry_s = retry_s
        self.refused = 0

    def check(self, connector: str) -> None:
        remaining = self.limiter.daily_remaining
        if remaining is not None and remaining <= self.reserve:
            self.refused += 1
            raise RateLimited(
                f"daily API allocation nearly used up ({remaining} left, reserve "
                f"{self.reserve}); pausing this connection",
                connector=connector,
                retry_after=self.retry_s,
            )


class AllocationTransport(httpx.BaseTransport):
    """Adds a ``Retry-After`` estimate to Salesforce's wait-less limit refusals."""

    def __init__(
        self, inner: httpx.BaseTransport, *, allocation_s: float, concurrency_s: float
    ) -> None:
        self.inner = inner
        self.allocation_s = allocation_s
        self.concurrency_s = concurrency_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if response.status_code != 403 or "retry-after" in response.headers:
            return response
        body = response.read()
        if b"REQUEST_LIMIT_EXCEEDED" not in body:
            return response
        # "TotalRequests Limit exceeded." is the daily allocation; anything else (the
        # concurrent long-running request cap) frees up within seconds.
        wait = self.allocation_s if b"TotalRequests" in body else self.concurrency_s
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-length", "content-encoding")
        ]
        headers.append(("retry-after", str(int(wait) if wait >= 1 else wait)))
        response.close()
        return httpx.Response(403, headers=headers, content=body, request=request)

    def close(self) -> None:
        self.inner.close()


class HttpClientAdapter(BaseAdapter):
    """A `requests` adapter that sends through `HttpClient` under one call category."""

    def __init__(
        self, http: HttpClient, *, category: Category, guard: AllocationGuard | None = None
    ) -> None:
        super().__init__()
        self.http = http
        self.category: Category = category
        self.guard = guard

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        """Send one SDK request through the HTTP layer (timeouts and TLS are the layer's)."""
        if self.guard is not None:
            self.guard.check(self.http.connector)
        headers = {
            k: v if isinstance(v, str) else v.decode("latin-1")
            for k, v in request.headers.items()
            if k.lower() not in _DROPPED
        }
        body = request.body
        if body is not None and not isinstance(body, str | bytes):
            raise ValueError("streamed request bodies are not supported")
        content = body.encode("utf-8") if isinstance(body, str) else body
        accept = headers.get("Accept", headers.get("ACCEPT", ""))
        response = self.http.send(
            str(request.method),
            str(request.url),
            content=content if content else None,
            headers=headers,
            category=self.category,
            parse="csv" not in accept.lower(),
        )
        out = requests.Response()
        out.status_code = response.status
        out.headers = CaseInsensitiveDict(response.headers)
        out._content = response.body
        out.encoding = "utf-8"
        out.url = str(request.url)
        out.request = request
        out.reason = _reason(response.status)
        return out

    def close(self) -> None:
        """Nothing to release: the `HttpClient` owns the connections."""


def sdk_session(adapter: HttpClientAdapter) -> requests.Session:
    """A `requests.Session` whose every request goes through `adapter`."""
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
