"""A thread-safe record of every API request an emulator answered.

Tests and benchmarks read it to count calls per endpoint, how many 429s were sent and
which writes landed, without trusting the client's own bookkeeping.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadbridge.emulators.common.timefmt import from_ms, now_ms

__all__ = ["Ledger", "WriteRecord"]


@dataclass(frozen=True)
class WriteRecord:
    """One state-changing write to one object, as the emulator applied (or refused) it."""

    at: datetime
    endpoint: str
    object_id: str
    properties: dict[str, str] = field(default_factory=dict)
    status: int = 200
    payload: Any = None
    """The request body for this object as sent, when the emulator keeps it."""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view for the admin routes."""
        view = {
            "at": self.at.isoformat(),
            "endpoint": self.endpoint,
            "objectId": self.object_id,
            "properties": dict(self.properties),
            "status": self.status,
        }
        if self.payload is not None:
            view["payload"] = self.payload
        return view


class Ledger:
    """Counts requests per endpoint key (``"POST /crm/v3/objects/contacts/search"``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._statuses: Counter[int] = Counter()
        self._writes: list[WriteRecord] = []

    def record(self, endpoint: str, status: int) -> None:
        """Count one answered request."""
        with self._lock:
            self._counts[endpoint] += 1
            self._statuses[status] += 1

    def record_write(
        self,
        endpoint: str,
        object_id: str,
        properties: dict[str, str],
        status: int,
        *,
        payload: Any = None,
    ) -> None:
        """Remember one per-object write outcome (and, optionally, its raw payload)."""
        rec = WriteRecord(from_ms(now_ms()), endpoint, object_id, dict(properties), status, payload)
        with self._lock:
            self._writes.append(rec)

    def counts(self) -> dict[str, int]:
        """Requests per endpoint key."""
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        """All requests answered."""
        with self._lock:
            return sum(self._counts.values())

    def statuses(self) -> dict[int, int]:
        """Responses per HTTP status (e.g. how many 429s were sent)."""
        with self._lock:
            return dict(self._statuses)

    def writes(self) -> list[WriteRecord]:
        """Every write outcome, oldest first."""
        with self._lock:
            return list(self._writes)

    def reset(self) -> None:
        """Forget everything (between benchmark phases)."""
        with self._lock:
            self._counts.clear()
            self._statuses.clear()
            self._writes.clear()

    def snapshot(self) -> dict[str, Any]:
        """Counts, statuses and writes as one JSON-ready document."""
        with self._lock:
            return {
                "total": sum(self._counts.values()),
                "counts": dict(self._counts),
                "statuses": {str(k): v for k, v in self._statuses.items()},
                "writes": [w.to_json() for w in self._writes],
            }
