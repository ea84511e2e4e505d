"""Request-rate windows as CRMs enforce them: rolling N-per-interval and per-day quotas.

Both are keyed (per token, per app, per portal) and thread-safe; the clock is injectable
so tests can move time instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["DailyQuota", "Decision", "SlidingWindow"]


@dataclass(frozen=True)
class Decision:
    """Whether a request may pass, and what is left afterwards."""

    allowed: bool
    limit: int
    remaining: int
    retry_after_s: float = 0.0


class SlidingWindow:
    """At most `limit` requests per `window_s` seconds per key, over a rolling window."""

    def __init__(
        self, limit: int, window_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def acquire(self, key: str) -> Decision:
        """Count one request for `key` if the window has room; refused ones are not counted."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            horizon = now - self.window_s
            while hits and hits[0] <= horizon:
                hits.popleft()
            if len(hits) >= self.limit:
                wait = hits[0] + self.window_s - now if hits else self.window_s
                return Decision(False, self.limit, 0, max(wait, 0.0))
            hits.append(now)
            return Decision(True, self.limit, self.limit - len(hits))

    def remaining(self, key: str) -> int:
        """Room left for `key` right now, without counting a request."""
        now = self._clock()
        with self._lock:
            hits = self._hits.get(key, deque())
            return max(self.limit - sum(1 for t in hits if t > now - self.window_s), 0)

    def reset(self) -> None:
        """Empty every window."""
        with self._lock:
            self._hits.clear()


class DailyQuota:
    """At most `limit` requests per key per calendar day (UTC midnight reset)."""

    def __init__(
        self, limit: int, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._used: dict[str, tuple[str, int]] = {}

    def acquire(self, key: str) -> Decision:
        """Count one request for `key` if today's quota has room."""
        now = self._clock()
        today = now.date().isoformat()
        with self._lock:
            day, used = self._used.get(key, (today, 0))
            if day != today:
                used = 0
            if used >= self.limit:
                midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time())
                wait = (midnight.replace(tzinfo=UTC) - now).total_seconds()
                return Decision(False, self.limit, 0, max(wait, 0.0))
            used += 1
            self._used[key] = (today, used)
            return Decision(True, self.limit, self.limit - used)

    def remaining(self, key: str) -> int:
        """Today's room left for `key`, without counting a request."""
        today = self._clock().date().isoformat()
        with self._lock:
            day, used = self._used.get(key, (today, 0))
            return self.limit - used if day == today else self.limit

    def reset(self) -> None:
        """Forget today's usage."""
        with self._lock:
            self._used.clear()
