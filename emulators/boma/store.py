"""The emulated BOMA account: leads with dossiers, activities, inbound messages, deletions.

Rows are plain dataclasses keyed by integer id; every instant is epoch milliseconds. Reads
page by keyset over (time, id), so many rows sharing one timestamp page exactly, and the
sorted views are rebuilt only when something changed.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CUSTOM_FIELDS",
    "DOSSIER_STATUSES",
    "ActivityRow",
    "BomaStore",
    "Deletion",
    "LeadRow",
    "MessageRow",
]

DOSSIER_STATUSES: tuple[str, ...] = ("Nouveau", "Instruction", "Accord", "Refusée")
"""Seed 000: a file is under review (Instruction), granted (Accord) or refused (Refusée)."""

CUSTOM_FIELDS: tuple[dict[str, Any], ...] = (
    {
        "key": "predictive_score",
        "label": "Score prédictif",
        "type": "integer",
        "min": 0,
        "max": 100,
    },
    {
        "key": "score_cluster",
        "label": "Cluster de score",
        "type": "enum",
        "options": ["COLD", "WARM", "HOT", "VERY_HOT"],
    },
    {
        "key": "recommended_action",
        "label": "Action recommandée",
        "type": "enum",
        "options": [
            "Call_Immediately",
            "Call_Today",
            "Nurture_Followup",
            "Nurture_Bot",
            "Human_Review",
        ],
    },
    {"key": "energy_class", "label": "Classe énergétique", "type": "string"},
)
"""BOMA's custom lead fields; they pre-exist (seed 000 writes three of them)."""


@dataclass
class LeadRow:
    """One lead as BOMA stores it."""

    lead_id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    language: str
    canton: str
    country: str
    job_status: str | None
    requested_amount: int | str | None
    property_value: int | None
    project_type: str
    source: str
    marketing_consent: bool
    created_ms: int
    updated_ms: int
    dossier_status: str | None = None
    dossier_ms: int | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    example_props: dict[str, Any] = field(default_factory=dict)


@dataclass
class ActivityRow:
    """One tracked action (simulator run, rates page view, download...)."""

    activity_id: int
    lead_id: int | None
    type: str
    occurred_ms: int
    recorded_ms: int
    data: dict[str, Any] = field(default_factory=dict)
    occurred_raw: str | None = None
    """A deliberately broken timestamp, sent instead of `occurred_ms` (invalid records)."""


@dataclass
class MessageRow:
    """An inbound message with its extraction result (seed 001)."""

    message_id: int
    lead_id: str | None
    lead_source: str
    message_body: str
    extracted_data: dict[str, Any]
    ai_score: int | None
    routing_action: str | None
    received_ms: int


@dataclass(frozen=True)
class Deletion:
    """A deleted lead, listed by `GET /leads/deleted`."""

    lead_id: int
    deleted_ms: int


class _Index:
    """A keyset view over rows sorted by (time, id), rebuilt when the store changed."""

    def __init__(self) -> None:
        self.version = -1
        self.keys: list[tuple[int, int]] = []
        self.rows: list[Any] = []

    def refresh(
        self, version: int, rows: Iterable[Any], key: Callable[[Any], tuple[int, int]]
    ) -> None:
        if version == self.version:
            return
        ordered = sorted(rows, key=key)
        self.keys = [key(r) for r in ordered]
        self.rows = ordered
        self.version = version

    def page(self, since_ms: int | None, after: tuple[int, int] | None, limit: int) -> list[Any]:
        start = 0
        if since_ms is not None:
            start = bisect.bisect_left(self.keys, (since_ms, -(2**62)))
        if after is not None:
            start = max(start, bisect.bisect_right(self.keys, after))
        return self.rows[start : start + limit]

    def window(self, since_ms: int | None) -> list[Any]:
        start = 0 if since_ms is None else bisect.bisect_left(self.keys, (since_ms, -(2**62)))
        return self.rows[start:]


class BomaStore:
    """All account state behind one lock; `version` bumps on every change."""

    def __init__(self, account_id: str = "boma-emulator", name: str = "Courtage Léman SA") -> None:
        self.account_id = account_id
        self.name = name
        self.lock = threading.RLock()
        self.leads: dict[int, LeadRow] = {}
        self.activities: dict[int, ActivityRow] = {}
        self.messages: dict[int, MessageRow] = {}
        self.deletions: list[Deletion] = []
        self.custom_fields: list[dict[str, Any]] = [dict(f) for f in CUSTOM_FIELDS]
        self.example_properties: dict[str, dict[str, Any]] = {}
        self.version = 0
        self._indexes: dict[str, _Index] = {
            n: _Index() for n in ("leads", "activities", "messages", "deletions")
        }

    # -- changes --------------------------------------------------------------------

    def changed(self) -> None:
        """Invalidate the sorted views (call with the lock held)."""
        self.version += 1

    def add_lead(self, row: LeadRow) -> None:
        with self.lock:
            self.leads[row.lead_id] = row
            self.changed()

    def add_activity(self, row: ActivityRow) -> None:
        with self.lock:
            self.activities[row.activity_id] = row
            self.changed()

    def add_message(self, row: MessageRow) -> None:
        with self.lock:
            self.messages[row.message_id] = row
            self.changed()

    def next_activity_id(self) -> int:
        with self.lock:
            return max(self.activities, default=5000) + 1

    def next_message_id(self) -> int:
        with self.lock:
            return max(self.messages, default=900000) + 1

    def touch(self, lead: LeadRow, at_ms: int) -> None:
        """Mark a lead modified at `at_ms` (never moving its clock backwards)."""
        with self.lock:
            lead.updated_ms = max(lead.updated_ms, at_ms)
            self.changed()

    def delete_lead(self, lead_id: int, at_ms: int) -> bool:
        """Remove a lead and list it as deleted; False if it did not exist."""
        with self.lock:
            if self.leads.pop(lead_id, None) is None:
                return False
            self.deletions.append(Deletion(lead_id, at_ms))
            self.changed()
            return True

    def field_schema(self, key: str) -> dict[str, Any] | None:
        """A BOMA custom field's definition."""
        return next((f for f in self.custom_fields if f["key"] == key), None)

    # -- keyset reads ---------------------------------------------------------------

    def _index(self, name: str) -> _Index:
        index = self._indexes[name]
        if name == "leads":
            index.refresh(self.version, self.leads.values(), lambda r: (r.updated_ms, r.lead_id))
        elif name == "activities":
            index.refresh(
                self.version, self.activities.values(), lambda r: (r.recorded_ms, r.activity_id)
            )
        elif name == "messages":
            index.refresh(
                self.version, self.messages.values(), lambda r: (r.received_ms, r.message_id)
            )
        else:
            index.refresh(self.version, self.deletions, lambda r: (r.deleted_ms, r.lead_id))
        return index

    def page(
        self, name: str, since_ms: int | None, after: tuple[int, int] | None, limit: int
    ) -> list[Any]:
        """Up to `limit` rows of `name` at or after `since_ms`, strictly after `after`."""
        with self.lock:
            return list(self._index(name).page(since_ms, after, limit))

    def window(self, name: str, since_ms: int | None) -> list[Any]:
        """Every row of `name` at or after `since_ms`, in (time, id) order."""
        with self.lock:
            return list(self._index(name).window(since_ms))
