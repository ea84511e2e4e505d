"""An in-memory HubSpot portal: contacts, properties, engagements, events, associations.

Every mutation goes through `Portal.lock` (an RLock) because the HTTP server thread,
`HubSpotEmulator.mutate` and tests touch the same portal concurrently.
"""

from __future__ import annotations

import threading
import uuid
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from typing import Any

from leadbridge.emulators.common.timefmt import now_ms, to_iso_ms
from leadbridge.emulators.hubspot.catalog import (
    ENGAGEMENT_DEFAULT_PROPS,
    ENGAGEMENT_PROP_TYPES,
    ENGAGEMENT_TYPES,
    normalize_object_type,
)
from leadbridge.emulators.hubspot.properties import (
    STANDARD_GROUPS,
    PropertyDef,
    PropertyGroupDef,
    standard_contact_properties,
)
from leadbridge.emulators.hubspot.store import CrmRecord, ObjectStore

__all__ = ["Associations", "EventLog", "Portal", "WebEvent"]

_EVENT_NAMESPACE = uuid.UUID("9b1f3c52-7a1e-4f0e-9d7e-3b0c2f6a8e41")

CONTACT_DEFAULT_PROPS: tuple[str, ...] = (
    "createdate",
    "email",
    "firstname",
    "hs_object_id",
    "lastmodifieddate",
    "lastname",
)


@dataclass(frozen=True)
class WebEvent:
    """One Events-API occurrence on a contact."""

    seq: int
    id: str
    event_type: str
    object_id: int
    occurred_ms: int
    properties: dict[str, str] = field(default_factory=dict)
    object_type: str = "contact"

    def key(self) -> tuple[int, int]:
        """Sort key: occurrence time, then insertion order."""
        return (self.occurred_ms, self.seq)

    def to_json(self) -> dict[str, Any]:
        """The spec's `ExternalUnifiedEvent`."""
        return {
            "objectType": self.object_type,
            "objectId": str(self.object_id),
            "eventType": self.event_type,
            "occurredAt": to_iso_ms(self.occurred_ms),
            "id": self.id,
            "properties": dict(self.properties),
        }


class EventLog:
    """Events sorted by (occurredAt, seq), globally and per contact."""

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []
        self.events: list[WebEvent] = []
        self.by_object: dict[int, list[WebEvent]] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self.events)

    def next_seq(self) -> int:
        """A fresh insertion number."""
        self._seq += 1
        return self._seq

    def add(self, event: WebEvent) -> None:
        """Insert one event in order."""
        pos = bisect_left(self.keys, event.key())
        self.keys.insert(pos, event.key())
        self.events.insert(pos, event)
        insort(self.by_object.setdefault(event.object_id, []), event, key=WebEvent.key)

    def load(self, events: list[WebEvent]) -> None:
        """Insert many events with one sort."""
        merged = sorted([*self.events, *events], key=WebEvent.key)
        self.events = merged
        self.keys = [e.key() for e in merged]
        self.by_object = {}
        for event in merged:
            self.by_object.setdefault(event.object_id, []).append(event)
        self._seq = max(self._seq, max((e.seq for e in events), default=0))

    def drop_object(self, object_id: int) -> None:
        """Forget a contact's events (GDPR delete)."""
        if self.by_object.pop(object_id, None) is None:
            return
        kept = [e for e in self.events if e.object_id != object_id]
        self.events = kept
        self.keys = [e.key() for e in kept]


class Associations:
    """Engagement <-> contact links (HUBSPOT_DEFINED, unlabelled)."""

    def __init__(self) -> None:
        self.to_contacts: dict[str, dict[int, list[int]]] = {t: {} for t in ENGAGEMENT_TYPES}
        self.from_contacts: dict[str, dict[int, list[int]]] = {t: {} for t in ENGAGEMENT_TYPES}

    def link(self, engagement_type: str, engagement_id: int, contact_id: int) -> None:
        """Associate an engagement with a contact (both directions)."""
        contacts = self.to_contacts[engagement_type].setdefault(engagement_id, [])
        if contact_id not in contacts:
            contacts.append(contact_id)
        engagements = self.from_contacts[engagement_type].setdefault(contact_id, [])
        if engagement_id not in engagements:
            engagements.append(engagement_id)

    def targets(self, from_type: str, to_type: str, object_id: int) -> list[int]:
        """Ids associated with `object_id` of `from_type`, of `to_type`."""
        if from_type in self.to_contacts and to_type == "contacts":
            return list(self.to_contacts[from_type].get(object_id, []))
        if from_type == "contacts" and to_type in self.from_contacts:
            return list(self.from_contacts[to_type].get(object_id, []))
        return []

    def drop_contact(self, contact_id: int) -> None:
        """Remove every link of a contact (GDPR delete)."""
        for engagement_type in ENGAGEMENT_TYPES:
            for engagement_id in self.from_contacts[engagement_type].pop(contact_id, []):
                linked = self.to_contacts[engagement_type].get(engagement_id, [])
                if contact_id in linked:
                    linked.remove(contact_id)


class Portal:
    """One portal's whole state. Thread-safe through `lock`."""

    def __init__(self, portal_id: int = 4_815_162) -> None:
        self.portal_id = portal_id
        self.lock = threading.RLock()
        self.properties: dict[str, PropertyDef] = standard_contact_properties()
        self.groups: dict[str, PropertyGroupDef] = {
            name: PropertyGroupDef(name, label, order) for name, label, order in STANDARD_GROUPS
        }
        self.contacts = ObjectStore(
            "contacts",
            modified_props=("lastmodifieddate", "hs_lastmodifieddate"),
            created_prop="createdate",
            default_props=CONTACT_DEFAULT_PROPS,
            prop_types={},
        )
        self.engagements: dict[str, ObjectStore] = {
            t: ObjectStore(
                t,
                modified_props=("hs_lastmodifieddate",),
                created_prop="hs_createdate",
                default_props=ENGAGEMENT_DEFAULT_PROPS,
                prop_types=ENGAGEMENT_PROP_TYPES,
            )
            for t in ENGAGEMENT_TYPES
        }
        self.events = EventLog()
        self.associations = Associations()
        self.blocklist: set[str] = set()
        self.owners: list[str] = ["71000001", "71000002", "71000003", "71000004"]
        self._email_index: dict[str, int] = {}
        self._next_contact_id = 101
        self._next_engagement_id = 30_000_000_001

    # -- lookups -----------------------------------------------------------------------
    def store(self, object_type: str) -> ObjectStore | None:
        """The store for an object type name or alias, None if unsupported."""
        name = normalize_object_type(object_type)
        if name == "contacts":
            return self.contacts
        return self.engagements.get(name) if name else None

    def contact_prop_types(self) -> dict[str, str]:
        """Property name -> type, for search comparisons on contacts."""
        return {name: p.type for name, p in self.properties.items()}

    def contact_by_email(self, email: str) -> CrmRecord | None:
        """A live or archived contact by e-mail (case-insensitive)."""
        object_id = self._email_index.get(email.strip().lower())
        return self.contacts.records.get(object_id) if object_id is not None else None

    # -- contacts ------------------------------------------------------------------------
    def new_contact_id(self) -> int:
        """Reserve the next contact id."""
        with self.lock:
            object_id = self._next_contact_id
            self._next_contact_id += 1
            return object_id

    def load_contacts(self, records: list[CrmRecord]) -> None:
        """Bulk insert (generator); ids must come from `new_contact_id`."""
        with self.lock:
            self.contacts.prop_types = self.contact_prop_types()
            self.contacts.load(records)
            for record in records:
                self._index_email(record)

    def create_contact(self, properties: dict[str, str], at_ms: int | None = None) -> CrmRecord:
        """A new contact stamped `at_ms` (default now)."""
        ms = now_ms() if at_ms is None else at_ms
        with self.lock:
            record = CrmRecord(self.new_contact_id(), dict(properties), ms, ms)
            self.contacts.prop_types = self.contact_prop_types()
            self.contacts.add(record)
            self._index_email(record)
            return record

    def add_contacts_same_timestamp(self, n: int, ts: int) -> list[str]:
        """`n` minimal contacts all last modified at epoch-ms `ts` (tie-break tests)."""
        with self.lock:
            records = []
            for _ in range(n):
                object_id = self.new_contact_id()
                props = {
                    "email": f"tie.{object_id}@same-timestamp.example",
                    "firstname": "Tie",
                    "lastname": f"Breaker {object_id}",
                    "lifecyclestage": "lead",
                }
                records.append(CrmRecord(object_id, props, ts, ts))
            self.load_contacts(records)
            return [str(r.id) for r in records]

    def update_contact(
        self, record: CrmRecord, values: dict[str, str], at_ms: int | None = None
    ) -> bool:
        """Apply already-validated values; bumps lastmodifieddate only if something changed."""
        with self.lock:
            changed = {k: v for k, v in values.items() if record.properties.get(k, "") != v}
            if not changed:
                return False
            old_email = record.properties.get("email", "")
            for name, value in changed.items():
                if value == "":
                    record.properties.pop(name, None)
                else:
                    record.properties[name] = value
            if "email" in changed:
                self._email_index.pop(old_email.strip().lower(), None)
                self._index_email(record)
            ms = now_ms() if at_ms is None else at_ms
            self.contacts.touch(record, max(ms, record.updated_ms))
            return True

    def archive_contact(self, record: CrmRecord, at_ms: int | None = None) -> None:
        """Send a contact to the recycle bin."""
        with self.lock:
            self.contacts.archive(record, now_ms() if at_ms is None else at_ms)

    def gdpr_delete(self, record: CrmRecord) -> None:
        """Delete permanently, with its events and links; its e-mail is blocklisted."""
        with self.lock:
            email = record.properties.get("email", "").strip().lower()
            if email:
                self.blocklist.add(email)
                self._email_index.pop(email, None)
            self.contacts.remove(record)
            self.events.drop_object(record.id)
            self.associations.drop_contact(record.id)

    def _index_email(self, record: CrmRecord) -> None:
        email = record.properties.get("email", "").strip().lower()
        if email:
            self._email_index[email] = record.id

    # -- activity ------------------------------------------------------------------------
    def new_engagement_id(self) -> int:
        """Reserve the next engagement id."""
        with self.lock:
            object_id = self._next_engagement_id
            self._next_engagement_id += 1
            return object_id

    def add_engagement(
        self,
        engagement_type: str,
        properties: dict[str, str],
        contact_ids: list[int],
        *,
        created_ms: int,
        modified_ms: int | None = None,
    ) -> CrmRecord:
        """Create an engagement associated with contacts."""
        with self.lock:
            record = CrmRecord(
                self.new_engagement_id(),
                dict(properties),
                created_ms,
                created_ms if modified_ms is None else modified_ms,
            )
            self.engagements[engagement_type].add(record)
            for contact_id in contact_ids:
                self.associations.link(engagement_type, record.id, contact_id)
            return record

    def event_id(self, seq: int) -> str:
        """A stable, uuid-shaped event id for insertion number `seq`."""
        return str(uuid.uuid5(_EVENT_NAMESPACE, f"{self.portal_id}:{seq}"))

    def add_event(
        self, event_type: str, contact_id: int, occurred_ms: int, properties: dict[str, str]
    ) -> WebEvent:
        """Record one Events-API occurrence."""
        with self.lock:
            seq = self.events.next_seq()
            event = WebEvent(
                seq, self.event_id(seq), event_type, contact_id, occurred_ms, dict(properties)
            )
            self.events.add(event)
            return event

    def raw_contact(self, object_id: int) -> dict[str, Any] | None:
        """Everything stored about a contact, archived or not (admin route)."""
        with self.lock:
            record = self.contacts.records.get(object_id)
            if record is None:
                return None
            return {
                "id": str(record.id),
                "properties": dict(record.properties),
                "createdAt": to_iso_ms(record.created_ms),
                "updatedAt": to_iso_ms(record.updated_ms),
                "archived": record.archived,
                "archivedAt": to_iso_ms(record.archived_ms) if record.archived_ms else None,
                "events": len(self.events.by_object.get(record.id, [])),
                "engagements": {
                    t: self.associations.targets("contacts", t, record.id) for t in ENGAGEMENT_TYPES
                },
            }
