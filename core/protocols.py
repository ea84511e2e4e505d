"""The small contracts the sync engine depends on; fakes need no inheritance.

A connector reads pages of the common schema from a CRM; a write-back connector also
creates its custom fields and writes score values in batches; a scorer turns a lead
and its activities into a `ScoreResult` as of a given time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from leadbridge.core.models import (
    Activity,
    AuditEvent,
    Bookmark,
    FieldSpec,
    Lead,
    Page,
    ScoreResult,
    ScoreWrite,
    WriteResult,
)

__all__ = ["AuditSink", "CallStats", "Connector", "Scorer", "SupportsReadBack", "SupportsWriteBack"]


@runtime_checkable
class Connector(Protocol):
    """Reads a CRM incrementally as pages of the common schema."""

    name: str

    def check(self) -> None:
        """Fail fast (AuthError, APIError) if the connection cannot work."""

    def streams(self) -> Sequence[str]:
        """The stream names `read` accepts, in the order a sync should pull them."""

    def read(self, stream: str, since: Bookmark | None) -> Iterator[Page]:
        """Yield pages changed at or after `since` (inclusive), oldest first."""

    def close(self) -> None:
        """Release connections."""


@runtime_checkable
class SupportsWriteBack(Protocol):
    """A connector that can hold leadbridge's fields and receive batched writes."""

    max_batch: int

    def ensure_fields(self, fields: Sequence[FieldSpec]) -> None:
        """Create missing custom fields; idempotent."""

    def write(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        """Write one batch (at most `max_batch`), reporting per-record outcomes."""


@runtime_checkable
class SupportsReadBack(Protocol):
    """A connector whose own writes reappear as modifications in some streams.

    HubSpot bumps a contact's `lastmodifieddate` when leadbridge writes its score; the
    engine reads those streams back after writing so the next run does not pull its
    own echo.
    """

    echo_streams: Sequence[str]


@runtime_checkable
class CallStats(Protocol):
    """What a connector spent, for summaries and benchmarks."""

    def calls(self) -> dict[str, int]:
        """Calls made, keyed ``read``/``write``/``setup``."""

    def min_calls(self) -> dict[str, int]:
        """The fewest calls that could have moved the same records."""


@runtime_checkable
class Scorer(Protocol):
    """Deterministic: the same lead, activities, config and `as_of` give the same result."""

    version: str

    def score(self, lead: Lead, activities: Sequence[Activity], *, as_of: datetime) -> ScoreResult:
        """Score one lead from its profile and the activities that happened before `as_of`."""

    def score_many(
        self, items: Sequence[tuple[Lead, Sequence[Activity]]], *, as_of: datetime
    ) -> list[ScoreResult]:
        """Score many leads at once (the fast path); same results as `score`."""


@runtime_checkable
class AuditSink(Protocol):
    """Receives every change as it is made (the tamper-evident audit log implements it)."""

    def record(self, events: Sequence[AuditEvent]) -> None:
        """Append events durably; raise rather than drop one."""
