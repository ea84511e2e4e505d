"""Proactive, per-account request pacing.

CRMs announce their limits (HubSpot ``X-HubSpot-RateLimit-*``, ActiveCampaign
``RateLimit-*``, Salesforce ``Sforce-Limit-Info``); pacing to them beforehand is cheaper
than collecting 429s afterwards. A `Bucket` is a sliding window: at most `limit` sends
in any `interval` (plus a small safety margin, because the server counts arrivals and
we count departures). Buckets belong to a `RateLimiter` shared by every client of the
same account (`limiter_for(account)`), so two streams pulled in parallel share one budget.

    >>> bucket = Bucket("default", limit=100, interval_s=10.0)
    >>> bucket.acquire()  # returns the seconds it waited
    0.0
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "Bucket",
    "LimitObservation",
    "RateLimiter",
    "limiter_for",
    "parse_hubspot_headers",
    "parse_ratelimit_headers",
]

Clock = Callable[[], float]


@dataclass(frozen=True)
class LimitObservation:
    """What a response said about the caller's remaining budget."""

    limit: int | None = None
    remaining: int | None = None
    interval_s: float | None = None
    daily_limit: int | None = None
    daily_remaining: int | None = None


class Bucket:
    """A sliding-window pacer, thread-safe; `acquire` blocks until a send is allowed."""

    def __init__(
        self,
        name: str,
        *,
        limit: int,
        interval_s: float,
        margin: float = 0.02,
        min_margin_s: float = 0.1,
        clock: Clock = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1 or interval_s <= 0:
            raise ValueError(f"bucket {name!r}: limit and interval must be positive")
        self.name = name
        self.limit = limit
        self.interval_s = interval_s
        self.margin = margin
        self.min_margin_s = min_margin_s
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited_s = 0.0

    @property
    def window_s(self) -> float:
        # At least 100 ms: the server counts arrivals, we count departures, and a busy
        # client can send two requests whose arrival gap is tens of ms shorter.
        return self.interval_s + max(self.interval_s * self.margin, self.min_margin_s)

    def _purge(self, now: float) -> None:
        horizon = now - self.window_s
        while self._sent and self._sent[0] <= horizon:
            self._sent.popleft()

    def acquire(self) -> float:
        """Wait for a free slot, record the send, and return how long we waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._purge(now)
                if now >= self._paused_until and len(self._sent) < self.limit:
                    self._sent.append(now)
                    self.waited_s += waited
                    return waited
                wait = max(self._paused_until - now, 0.0)
                if len(self._sent) >= self.limit:
                    wait = max(wait, self._sent[0] + self.window_s - now)
            wait = max(wait, 0.001)
            self._sleep(wait)
            waited += wait

    def pause_for(self, seconds: float) -> None:
        """Send nothing for `seconds` (a Retry-After, or an exhausted allocation)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + max(seconds, 0.0))

    def saturate(self) -> None:
        """The server says the window is full (a 429 without ``Retry-After``).

        Rolling windows free up as the oldest sends age out, so the sends we did not see
        are assumed as old as our oldest one: we wait for that to expire, not a whole
        window. With nothing sent locally (another client used the budget) we wait a
        full window.
        """
        with self._lock:
            now = self._clock()
            self._purge(now)
            missing = self.limit - len(self._sent)
            if missing <= 0:
                return
            stamp = self._sent[0] if self._sent else now
            self._sent.extendleft([stamp] * missing)

    def observe(self, obs: LimitObservation) -> None:
        """Adopt the server's view: its limit and interval, and sends we did not make."""
        with self._lock:
            if obs.limit and obs.limit > 0:
                self.limit = obs.limit
            if obs.interval_s and obs.interval_s > 0:
                self.interval_s = obs.interval_s
            if obs.remaining is None:
                return
            now = self._clock()
            self._purge(now)
            used_by_server = self.limit - max(obs.remaining, 0)
            unseen = used_by_server - len(self._sent)
            if unseen > 0:
                self._sent.extend([now] * unseen)


class RateLimiter:
    """Named buckets for one account, plus its daily allocation when the CRM reports one."""

    def __init__(
        self, budgets: Mapping[str, tuple[int, float]], *, clock: Clock = time.monotonic
    ) -> None:
        self._clock = clock
        self.buckets = {
            name: Bucket(name, limit=limit, interval_s=interval, clock=clock)
            for name, (limit, interval) in budgets.items()
        }
        self.daily_limit: int | None = None
        self.daily_remaining: int | None = None

    def bucket(self, name: str) -> Bucket:
        """The bucket `name`, falling back to ``default``."""
        return self.buckets.get(name) or self.buckets["default"]

    def observe(self, name: str, obs: LimitObservation) -> None:
        """Record what one response said about the budget of bucket `name`."""
        self.bucket(name).observe(obs)
        if obs.daily_limit is not None:
            self.daily_limit = obs.daily_limit
        if obs.daily_remaining is not None:
            self.daily_remaining = obs.daily_remaining


_registry: dict[str, RateLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(account: str, budgets: Mapping[str, tuple[int, float]]) -> RateLimiter:
    """The process-wide limiter of `account` (created with `budgets` on first use)."""
    with _registry_lock:
        limiter = _registry.get(account)
        if limiter is None:
            limiter = _registry[account] = RateLimiter(budgets)
        return limiter


def _int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def parse_hubspot_headers(headers: Mapping[str, str]) -> LimitObservation | None:
    """``X-HubSpot-RateLimit-*`` (absent on search responses and for some tokens)."""
    limit = _int(headers, "x-hubspot-ratelimit-max")
    remaining = _int(headers, "x-hubspot-ratelimit-remaining")
    interval_ms = _int(headers, "x-hubspot-ratelimit-interval-milliseconds")
    daily = _int(headers, "x-hubspot-ratelimit-daily")
    daily_left = _int(headers, "x-hubspot-ratelimit-daily-remaining")
    if limit is None and remaining is None and daily is None:
        return None
    return LimitObservation(
        limit=limit,
        remaining=remaining,
        interval_s=interval_ms / 1000.0 if interval_ms else None,
        daily_limit=daily,
        daily_remaining=daily_left,
    )


def parse_ratelimit_headers(
    headers: Mapping[str, str], interval_s: float = 1.0
) -> LimitObservation | None:
    """The generic ``RateLimit-Limit``/``RateLimit-Remaining`` pair (ActiveCampaign, BOMA)."""
    limit = _int(headers, "ratelimit-limit") or _int(headers, "x-ratelimit-limit")
    remaining = _int(headers, "ratelimit-remaining")
    if remaining is None:
        remaining = _int(headers, "x-ratelimit-remaining")
    if limit is None and remaining is None:
        return None
    return LimitObservation(limit=limit, remaining=remaining, interval_s=interval_s)
