"""The record-level contract two-way sync and migration need from a CRM object.

Score write-back only ever updates a few leadbridge fields; moving whole records between
CRMs needs more: every field as the vendor stores it, lookups by id and by a matching
field, idempotent creates (upsert on an external-id field, so a create re-sent after a
crash finds the record it already made), deletes, merges, and the field catalogue to
check a mapping against. Connectors implement `RecordStore` in their own modules
(``connectors/<crm>/records.py``), returning the plain values of `core.records`; these
protocols only fix the shape, so `sync` never imports a concrete connector.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from leadbridge.core.models import FieldSpec, ScoreWrite, WriteResult

__all__ = [
    "ActivityRecord",
    "ActivitySource",
    "FieldInfo",
    "RawRecord",
    "RecordStore",
    "UpsertResult",
]


class RawRecord(Protocol):
    """One record with its fields as the vendor stores them."""

    @property
    def id(self) -> str: ...
    @property
    def fields(self) -> Mapping[str, Any]: ...
    @property
    def modified_at(self) -> datetime: ...
    @property
    def merged_ids(self) -> tuple[str, ...]:
        """Ids of records merged into this one (HubSpot ``hs_merged_object_ids``)."""


class FieldInfo(Protocol):
    """What the CRM says about one field of the object."""

    @property
    def name(self) -> str: ...
    @property
    def writable(self) -> bool: ...
    @property
    def unique(self) -> bool: ...


class UpsertResult(Protocol):
    """Outcome of an upsert, keyed by the external-id values sent."""

    @property
    def ids(self) -> Mapping[str, str]:
        """External id -> record id, for every row that succeeded."""

    @property
    def created(self) -> AbstractSet[str]:
        """External ids whose record did not exist before."""

    @property
    def failed(self) -> Mapping[str, str]:
        """External id -> one-line reason."""

    @property
    def calls(self) -> int: ...


@runtime_checkable
class RecordStore(Protocol):
    """One object type (contacts) of one CRM, record by record."""

    crm: str
    object_name: str
    write_batch: int

    def describe(self) -> Mapping[str, FieldInfo]:
        """The object's fields by name (one call)."""

    def create_fields(
        self, specs: Sequence[FieldSpec], *, unique: AbstractSet[str] = frozenset()
    ) -> list[str]:
        """Create the missing custom fields (those in `unique` as unique external ids)."""

    def scan(self, fields: Sequence[str], since: datetime | None) -> Iterator[Sequence[RawRecord]]:
        """Pages of live records modified at or after `since` (None: all), oldest first."""

    def fetch(self, ids: Sequence[str], fields: Sequence[str]) -> Mapping[str, RawRecord]:
        """Live records by id; an id missing from the answer is gone (deleted or merged)."""

    def find(
        self, field: str, values: Sequence[str], fields: Sequence[str]
    ) -> Mapping[str, RawRecord]:
        """Live records whose `field` equals one of `values` (case-insensitive), by value."""

    def upsert(self, external_field: str, rows: Sequence[ScoreWrite]) -> UpsertResult:
        """Create or update by external id (`ScoreWrite.source_id` is the external id)."""

    def update(self, rows: Sequence[ScoreWrite]) -> WriteResult:
        """Update records by id (`ScoreWrite.source_id` is the record id)."""

    def delete(self, ids: Sequence[str]) -> WriteResult:
        """Delete (archive, send to the recycle bin) records by id."""

    def gone_since(self, since: datetime) -> Mapping[str, str | None]:
        """Records deleted (-> None) or merged away (-> survivor id) at or after `since`."""

    def merge(self, survivor: str, loser: str) -> None:
        """Merge `loser` into `survivor` (the loser's activity moves, the loser goes)."""

    def calls(self) -> dict[str, int]:
        """Calls made so far, keyed ``read``/``write``/``setup``."""


class ActivityRecord(Protocol):
    """One activity (email, call, meeting, note) and the records it is linked to."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def fields(self) -> Mapping[str, Any]: ...
    @property
    def record_ids(self) -> tuple[str, ...]: ...


class ActivitySource(Protocol):
    """A CRM whose activities can be read with their record links (for migration)."""

    def scan_activities(self, kinds: Sequence[str]) -> Iterator[Sequence[ActivityRecord]]:
        """Every activity of the given kinds, page by page, with its linked record ids."""
