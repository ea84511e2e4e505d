"""Whole CRM records as connectors hand them to two-way sync and migration.

`sync.records` fixes the shape these must have (protocols, so `sync` imports no
connector); these are the plain values the bundled connectors return, shared so each
connector does not declare its own copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["RecordField", "Upserted", "VendorRecord"]


@dataclass(frozen=True)
class VendorRecord:
    """One record: its fields as the vendor's API returns them."""

    id: str
    fields: Mapping[str, Any]
    modified_at: datetime
    merged_ids: tuple[str, ...] = ()
    """Ids of records merged into this one (HubSpot ``hs_merged_object_ids``)."""


@dataclass(frozen=True)
class RecordField:
    """One field of the object, as the vendor's catalogue describes it."""

    name: str
    type: str
    writable: bool
    unique: bool = False
    custom: bool = False


@dataclass(frozen=True)
class Upserted:
    """Outcome of an upsert, keyed by the external-id values sent."""

    ids: dict[str, str] = field(default_factory=dict)
    created: frozenset[str] = frozenset()
    failed: dict[str, str] = field(default_factory=dict)
    calls: int = 0
