"""One CRM object type's records, kept indexed the way the search endpoint reads them.

Live records are kept in two sorted lists, by (last-modified ms, id) and by id, so the
incremental-sync query (`lastmodifieddate GTE x` sorted ascending, id tie-break) is two
bisections and a slice even on 50k+ contacts. Archived records stay in `records` only.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from dataclasses import dataclass, field

from leadbridge.emulators.common.timefmt import to_iso_ms

__all__ = ["CrmRecord", "ObjectStore"]


@dataclass
class CrmRecord:
    """One object: string-valued properties plus the timestamps HubSpot tracks itself."""

    id: int
    properties: dict[str, str]
    created_ms: int
    updated_ms: int
    archived_ms: int | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def archived(self) -> bool:
        """Whether the record is in the recycle bin."""
        return self.archived_ms is not None


class ObjectStore:
    """Records of one object type (`contacts`, `emails`, ...) with sorted indexes."""

    def __init__(
        self,
        object_type: str,
        *,
        modified_props: tuple[str, ...],
        created_prop: str,
        default_props: tuple[str, ...],
        prop_types: dict[str, str],
    ) -> None:
        self.object_type = object_type
        self.modified_prop = modified_props[0]
        self.modified_props = modified_props
        self.created_prop = created_prop
        self.default_props = default_props
        self.prop_types = prop_types
        self.records: dict[int, CrmRecord] = {}
        self.by_modified: list[tuple[int, int]] = []
        self.by_id: list[int] = []

    def __len__(self) -> int:
        return len(self.by_id)

    def prop_type(self, name: str) -> str:
        """`number`, `datetime`, `string`... for filter/sort comparisons."""
        if name == "hs_object_id":
            return "number"
        return self.prop_types.get(name, "string")

    def stamp(self, record: CrmRecord) -> None:
        """Write the tracked timestamps and id into the property map."""
        record.properties["hs_object_id"] = str(record.id)
        record.properties[self.created_prop] = to_iso_ms(record.created_ms)
        for name in self.modified_props:
            record.properties[name] = to_iso_ms(record.updated_ms)

    def add(self, record: CrmRecord) -> None:
        """Insert one record (kept out of the indexes if archived)."""
        self.stamp(record)
        self.records[record.id] = record
        if not record.archived:
            insort(self.by_modified, (record.updated_ms, record.id))
            insort(self.by_id, record.id)

    def load(self, records: list[CrmRecord]) -> None:
        """Insert many records at once (one sort instead of n insertions)."""
        for record in records:
            self.stamp(record)
            self.records[record.id] = record
            if not record.archived:
                self.by_modified.append((record.updated_ms, record.id))
                self.by_id.append(record.id)
        self.by_modified.sort()
        self.by_id.sort()

    def get_live(self, object_id: int) -> CrmRecord | None:
        """The record if it exists and is not archived."""
        record = self.records.get(object_id)
        return record if record is not None and not record.archived else None

    def touch(self, record: CrmRecord, ms: int) -> None:
        """Move a live record's last-modified stamp to `ms`."""
        if not record.archived:
            self._drop_index(record)
        record.updated_ms = ms
        for name in self.modified_props:
            record.properties[name] = to_iso_ms(ms)
        if not record.archived:
            insort(self.by_modified, (ms, record.id))
            insort(self.by_id, record.id)

    def archive(self, record: CrmRecord, ms: int) -> None:
        """Move a record to the recycle bin (search never returns it)."""
        if record.archived:
            return
        self._drop_index(record)
        record.archived_ms = ms

    def remove(self, record: CrmRecord) -> None:
        """Delete permanently (GDPR)."""
        if not record.archived:
            self._drop_index(record)
        self.records.pop(record.id, None)

    def _drop_index(self, record: CrmRecord) -> None:
        pos = bisect_left(self.by_modified, (record.updated_ms, record.id))
        if pos < len(self.by_modified) and self.by_modified[pos] == (
            record.updated_ms,
            record.id,
        ):
            del self.by_modified[pos]
        pos = bisect_left(self.by_id, record.id)
        if pos < len(self.by_id) and self.by_id[pos] == record.id:
            del self.by_id[pos]
