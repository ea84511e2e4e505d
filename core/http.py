"""The one HTTP layer every connector uses.

`HttpClient` owns what no connector should write again: pacing against the account's
rate limits, retries with full jitter (AWS "exponential backoff and jitter") that honour
``Retry-After`` as a minimum, classification of failures (`core/resolution.py`), a cap on
body size, safe JSON, redaction, and a count of every call by purpose (read, write,
setup) so summaries and benchmarks can compare against the minimum.

    >>> client = HttpClient("hubspot", base_url="http://127.0.0.1:8080")  # doctest: +SKIP
    >>> client.call("GET", "/crm/v3/objects/contacts", params={"limit": 100})  # doctest: +SKIP
"""

from __future__ import annotations

import email.utils
import logging
import random
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from leadbridge.core.errors import (
    APIError,
    AuthError,
    MalformedResponse,
    NetworkError,
    RateLimited,
    RetryableAPIError,
)
from leadbridge.core.jsonsafe import MAX_BODY_BYTES, describe_body, loads
from leadbridge.core.ratelimit import LimitObservation, RateLimiter
from leadbridge.core.redaction import redact
from leadbridge.core.resolution import DEFAULT_CLASSIFIER, Action, Classifier

__all__ = [
    "CallCounter",
    "Category",
    "HttpClient",
    "RetryPolicy",
    "parse_retry_after",
    "tls_verify",
]

log = logging.getLogger("leadbridge.http")

Category = Literal["read", "write", "setup", "auth"]
HeaderParser = Callable[[Mapping[str, str]], LimitObservation | None]

_REQUEST_ID_HEADERS = (
    "x-request-id",
    "x-hubspot-correlation-id",
    "sforce-request-id",
    "request-id",
)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts, the full-jitter curve, and a ceiling on total time."""

    max_attempts: int = 8
    base_s: float = 0.5
    cap_s: float = 30.0
    max_elapsed_s: float = 600.0
    retry_after_cap_s: float = 900.0


class CallCounter:
    """Thread-safe tallies of calls by category and of responses by status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_category: Counter[str] = Counter()
        self.by_status: Counter[int] = Counter()
        self.retries = 0
        self.throttled = 0

    def record(self, category: str, status: int | None) -> None:
        with self._lock:
            self.by_category[category] += 1
            if status is not None:
                self.by_status[status] += 1
                if status == 429:
                    self.throttled += 1

    def retried(self) -> None:
        with self._lock:
            self.retries += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.by_category)


def tls_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """`verify` as httpx wants it: a CA bundle path becomes an SSL context."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify


def parse_retry_after(value: str | None, date_header: str | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).

    An HTTP-date is measured against the response's own ``Date`` header when present, so
    a skewed local clock does not shorten the wait.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    ref = None
    if date_header:
        try:
            ref = email.utils.parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            ref = None
    now = ref.timestamp() if ref is not None else time.time()
    return max(when.timestamp() - now, 0.0)


class HttpClient:
    """Paced, retried, classified, counted HTTP calls for one connector and account."""

    def __init__(
        self,
        connector: str,
        *,
        base_url: str = "",
        auth: httpx.Auth | None = None,
        limiter: RateLimiter | None = None,
        header_parser: HeaderParser | None = None,
        classifier: Classifier = DEFAULT_CLASSIFIER,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | None = None,
        headers: Mapping[str, str] | None = None,
        verify: bool | str = True,
        transport: httpx.BaseTransport | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.connector = connector
        self.limiter = limiter
        self.header_parser = header_parser
        self.classifier = classifier
        self.retry = retry or RetryPolicy()
        self.max_body_bytes = max_body_bytes
        self.counter = CallCounter()
        self._client = httpx.Client(
            base_url=base_url,
            auth=auth,
            timeout=timeout or httpx.Timeout(30.0, connect=5.0),
            headers={"User-Agent": "leadbridge", **(headers or {})},
            verify=tls_verify(verify),
            transport=transport,
            follow_redirects=False,
        )

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public calls ---------------------------------------------------------------

    def call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        bucket: str = "default",
        category: Category = "read",
        expect_json: bool = True,
    ) -> Any:
        """Send a request with pacing and retries; return parsed JSON (None for no body)."""
        response = self.send(
            method,
            url,
            params=params,
            json=json,
            data=data,
            content=content,
            headers=headers,
            bucket=bucket,
            category=category,
            parse=expect_json,
        )
        return response.parsed

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        bucket: str = "default",
        category: Category = "read",
        parse: bool = True,
        accept_statuses: tuple[int, ...] = (),
    ) -> Response:
        """Like `call` but returns the whole `Response` (status, headers, body, parsed).

        `accept_statuses` lists non-2xx statuses the caller handles itself (e.g. a 207
        multi-status is 2xx already; a 409 "already exists" during field bootstrap is not).
        """
        malformed_retries = 1 if category == "read" else 0

        def attempt() -> Response:
            nonlocal malformed_retries
            request = self._client.build_request(
                method, url, params=params, json=json, data=data, content=content, headers=headers
            )
            response = self._send_once(
                request, bucket=bucket, category=category, accept=accept_statuses
            )
            if parse and response.body and response.status != 204:
                try:
                    response.parsed = loads(response.body, connector=self.connector)
                except MalformedResponse as exc:
                    err = MalformedResponse(
                        exc.message,
                        connector=self.connector,
                        status=response.status,
                        method=method,
                        url=_path_of(request),
                        request_id=response.request_id,
                    )
                    if malformed_retries > 0:
                        malformed_retries -= 1
                        raise _RetryMalformed(err) from exc
                    raise err from exc
            return response

        retrying = Retrying(
            retry=retry_if_exception(self._worth_retrying),
            wait=self._wait,
            stop=stop_after_attempt(self.retry.max_attempts)
            | stop_after_delay(self.retry.max_elapsed_s),
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _RetryMalformed as exc:
            raise exc.error from None

    # -- internals ------------------------------------------------------------------

    def _send_once(
        self, request: httpx.Request, *, bucket: str, category: str, accept: tuple[int, ...]
    ) -> Response:
        if self.limiter is not None:
            self.limiter.bucket(bucket).acquire()
        where = _path_of(request)
        try:
            raw = self._client.send(request, stream=True)
        except httpx.TimeoutException as exc:
            self.counter.record(category, None)
            raise NetworkError(
                f"timed out ({type(exc).__name__})",
                connector=self.connector,
                method=request.method,
                url=where,
            ) from exc
        except httpx.TransportError as exc:
            self.counter.record(category, None)
            raise NetworkError(
                f"network failure: {redact(str(exc)) or type(exc).__name__}",
                connector=self.connector,
                method=request.method,
                url=where,
            ) from exc
        try:
            body = self._read_capped(raw)
        finally:
            raw.close()
        status = raw.status_code
        self.counter.record(category, status)
        headers = {k.lower(): v for k, v in raw.headers.items()}
        response = Response(status=status, headers=headers, body=body)
        self._observe_limits(bucket, headers)
        if 200 <= status < 300 or status in accept:
            return response
        resolution = self.classifier.classify_status(status, body)
        retry_after = parse_retry_after(headers.get("retry-after"), headers.get("date"))
        if retry_after is None:
            retry_after = resolution.retry_after
        message = f"{resolution.message}: {_error_hint(body)}"
        if resolution.action is Action.RATE_LIMITED and self.limiter is not None:
            bucket_obj = self.limiter.bucket(bucket)
            if retry_after is not None:
                bucket_obj.pause_for(min(retry_after, self.retry.retry_after_cap_s))
            else:
                bucket_obj.saturate()
        if resolution.action in (Action.REFRESH_AUTH,) or issubclass(resolution.error, AuthError):
            raise AuthError(
                f"HTTP {status} on {request.method} {where}: {message}", connector=self.connector
            )
        error_cls = resolution.error
        if resolution.action is Action.RATE_LIMITED and not issubclass(error_cls, RateLimited):
            error_cls = RateLimited
        raise error_cls(
            message,
            connector=self.connector,
            status=status,
            request_id=response.request_id,
            body=redact(body[:65536].decode("utf-8", errors="replace")),
            method=request.method,
            url=where,
            retry_after=retry_after,
        )

    def _read_capped(self, raw: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in raw.iter_bytes():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise MalformedResponse(
                    f"response body exceeds the {self.max_body_bytes} byte cap",
                    connector=self.connector,
                    status=raw.status_code,
                    method=raw.request.method,
                    url=_path_of(raw.request),
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _observe_limits(self, bucket: str, headers: Mapping[str, str]) -> None:
        if self.limiter is None or self.header_parser is None:
            return
        obs = self.header_parser(headers)
        if obs is not None:
            self.limiter.observe(bucket, obs)

    def _worth_retrying(self, exc: BaseException) -> bool:
        """Retryable errors, except a server wait longer than we are willing to sleep.

        An exhausted daily allocation can mean hours: better to end this run (the
        daemon tries again on schedule, other connections go on) than to block.
        """
        if isinstance(exc, _RetryMalformed):
            return True
        if not isinstance(exc, RetryableAPIError):
            return False
        return exc.retry_after is None or exc.retry_after <= self.retry.retry_after_cap_s

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        ceiling = min(self.retry.cap_s, self.retry.base_s * 2 ** (state.attempt_number - 1))
        jitter = random.uniform(0.0, ceiling)
        if isinstance(exc, APIError) and exc.retry_after is not None:
            ra = min(exc.retry_after, self.retry.retry_after_cap_s)
            # The server's wait is a floor; the limiter already holds the bucket until then.
            return ra + random.uniform(0.0, min(1.0, 0.1 * ra + 0.05))
        if isinstance(exc, RateLimited):
            return 0.0 if self.limiter is not None else jitter
        return jitter

    def _before_sleep(self, state: RetryCallState) -> None:
        self.counter.retried()
        exc = state.outcome.exception() if state.outcome else None
        log.info(
            "%s: retrying after %s (attempt %d)",
            self.connector,
            redact(str(exc)),
            state.attempt_number,
        )


@dataclass
class Response:
    """A finished response: lower-cased headers, raw body, and parsed JSON if any."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    parsed: Any = None

    @property
    def request_id(self) -> str | None:
        for name in _REQUEST_ID_HEADERS:
            if name in self.headers:
                return self.headers[name]
        return None


class _RetryMalformed(Exception):
    """Internal: a read whose body was malformed gets exactly one more try."""

    def __init__(self, error: MalformedResponse) -> None:
        super().__init__(str(error))
        self.error = error


def _path_of(request: httpx.Request) -> str:
    """The request path without query string: query strings may carry credentials."""
    return request.url.path


def _error_hint(body: bytes) -> str:
    """A one-line, redacted summary of an error body, whatever its shape."""
    if not body:
        return "empty body"
    try:
        data = loads(body)
    except MalformedResponse:
        return redact(describe_body(body))
    if isinstance(data, list) and data and isinstance(data[0], dict):
        data = data[0]
    if isinstance(data, dict):
        for key in ("message", "error_description", "error", "detail", "title"):
            value = data.get(key)
            if isinstance(value, str) and value:
                code = data.get("errorCode") or data.get("category") or data.get("code")
                return redact(f"{value} [{code}]" if isinstance(code, str) else value)[:300]
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return redact(str(errors[0].get("title") or errors[0].get("message") or errors[0]))[
                :300
            ]
    return redact(describe_body(body))
