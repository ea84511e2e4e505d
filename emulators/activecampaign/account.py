"""One ActiveCampaign account in memory: contacts, custom fields, activity, imports.

Instants are kept as integer epoch **seconds** (AC's ``udate`` has second resolution, so
many contacts really do share one) and formatted with the account zone's offset only at
the HTTP boundary. Every mutation goes through a method here, under one lock, so routes,
the importer and `mutate` never see half-applied state.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from leadbridge.emulators.activecampaign.errors import ACHTTPError, not_found, unprocessable

__all__ = [
    "FIELD_TYPES",
    "Account",
    "ActivityRecord",
    "Contact",
    "CustomField",
    "FieldRel",
    "FieldValue",
    "ImportBatch",
    "ImportRow",
    "TrackingLog",
    "valid_email",
]

FIELD_TYPES = frozenset(
    {"text", "textarea", "date", "datetime", "dropdown", "listbox", "radio", "checkbox", "hidden"}
)
_EMAIL = re.compile(r"^[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[A-Za-z]{2,}$")


def valid_email(value: str) -> bool:
    """AC's importer refuses addresses that do not look like ``local@domain.tld``."""
    return bool(_EMAIL.match(value))


@dataclass
class Contact:
    """A contact's native attributes (custom fields live in `FieldValue`)."""

    id: int
    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    cdate: int = 0
    udate: int = 0
    bounced_hard: bool = False
    bounced_soft: bool = False
    sentcnt: int = 0


@dataclass
class CustomField:
    """A custom contact field (``/fields``)."""

    id: int
    title: str
    type: str
    perstag: str
    descript: str | None = None
    defval: str | None = None
    cdate: int = 0
    udate: int = 0
    visible: bool = True


@dataclass
class FieldRel:
    """A field's relation to a list; ``relid`` 0 means every list."""

    id: int
    field: int
    relid: int
    cdate: int


@dataclass
class FieldOption:
    """One option of a dropdown/listbox/radio/checkbox field."""

    id: int
    field: int
    label: str
    value: str
    orderid: int


@dataclass
class FieldValue:
    """One contact's value of one custom field."""

    id: int
    contact: int
    field: int
    value: str
    cdate: int
    udate: int


@dataclass
class ActivityRecord:
    """One entry of a contact's activity feed (``/activities?contact=``)."""

    id: int
    contact: int
    tstamp: int
    reference_type: str
    reference_action: str
    model: str
    reference_id: int


@dataclass
class TrackingLog:
    """Site or event tracking: ``type`` is ``visit`` (value: URL) or an event name."""

    id: int
    contact: int
    type: str
    value: str
    tstamp: int


@dataclass(frozen=True)
class ImportRow:
    """One validated bulk-import row: the e-mail it upserts by and its field values."""

    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    fields: tuple[tuple[int, str], ...]


@dataclass
class ImportBatch:
    """A queued bulk import; applied once `ready_at` (monotonic) has passed."""

    batch_id: str
    rows: tuple[ImportRow, ...]
    ready_at: float
    done: bool = False
    success: list[str] = field(default_factory=list)
    failure: list[str] = field(default_factory=list)


class Account:
    """The whole account; every public method takes the lock."""

    def __init__(self, *, name: str = "leadbridge-demo", timezone: str = "America/Chicago") -> None:
        self.name = name
        self.zone = ZoneInfo(timezone)
        self.lock = threading.RLock()
        self.contacts: dict[int, Contact] = {}
        self.by_email: dict[str, int] = {}
        self.fields: dict[int, CustomField] = {}
        self.field_rels: dict[int, FieldRel] = {}
        self.field_options: dict[int, FieldOption] = {}
        self.values: dict[tuple[int, int], FieldValue] = {}
        self.activities: dict[int, list[ActivityRecord]] = {}
        self.tracking: dict[int, list[TrackingLog]] = {}
        self.imports: dict[str, ImportBatch] = {}
        self.exclusions: set[str] = set()
        """E-mails on the account's exclusion list: imports report them under ``failure``."""
        self._ids: dict[str, int] = {}

    # -- ids and time ---------------------------------------------------------------

    def next_id(self, kind: str) -> int:
        with self.lock:
            self._ids[kind] = self._ids.get(kind, 0) + 1
            return self._ids[kind]

    def fmt(self, epoch_s: int | None) -> str | None:
        """``2024-05-01T07:30:00-05:00``: ISO 8601 in the account's zone, seconds."""
        if epoch_s is None:
            return None
        return datetime.fromtimestamp(epoch_s, self.zone).isoformat(timespec="seconds")

    def parse_instant(self, text: str) -> int | None:
        """Epoch seconds of an ISO date/datetime; naive values are in the account's zone."""
        raw = text.strip().replace(" ", "T", 1) if text.strip() else ""
        if not raw:
            return None
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.zone)
        return int(parsed.timestamp())

    # -- contacts -------------------------------------------------------------------

    def add_contact(
        self,
        email: str,
        *,
        first_name: str = "",
        last_name: str = "",
        phone: str = "",
        cdate: int | None = None,
        udate: int | None = None,
    ) -> Contact:
        """Create a contact (ids ascend in creation order, as AC's do)."""
        with self.lock:
            now = cdate if cdate is not None else int(time.time())
            contact = Contact(
                id=self.next_id("contact"),
                email=email,
                first_name=first_name,
                last_name=last_name,
                phone=phone,
                cdate=now,
                udate=udate if udate is not None else now,
            )
            self.contacts[contact.id] = contact
            if email:
                self.by_email[email.lower()] = contact.id
            return contact

    def contact(self, contact_id: int) -> Contact:
        """The contact or AC's 404."""
        with self.lock:
            found = self.contacts.get(contact_id)
            if found is None:
                raise not_found(f"No Result found for Subscriber with id {contact_id}")
            return found

    def touch(self, contact: Contact, at: int | None = None) -> None:
        """Bump ``udate`` (any change to the contact or its field values does)."""
        with self.lock:
            contact.udate = max(at if at is not None else int(time.time()), contact.cdate)

    def delete_contact(self, contact_id: int) -> None:
        """Hard delete: later reads answer 404, and no event is emitted anywhere."""
        with self.lock:
            contact = self.contact(contact_id)
            del self.contacts[contact_id]
            if self.by_email.get(contact.email.lower()) == contact_id:
                del self.by_email[contact.email.lower()]
            for key in [k for k in self.values if k[0] == contact_id]:
                del self.values[key]
            self.activities.pop(contact_id, None)
            self.tracking.pop(contact_id, None)

    def upsert_by_email(
        self,
        email: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        phone: str | None = None,
        at: int | None = None,
    ) -> tuple[Contact, bool]:
        """``contact/sync`` and the importer: update the contact with that e-mail or create it."""
        with self.lock:
            now = at if at is not None else int(time.time())
            existing = self.by_email.get(email.lower())
            if existing is None:
                contact = self.add_contact(email, cdate=now)
                created = True
            else:
                contact = self.contacts[existing]
                created = False
            if first_name is not None:
                contact.first_name = first_name
            if last_name is not None:
                contact.last_name = last_name
            if phone is not None:
                contact.phone = phone
            self.touch(contact, now)
            return contact, created

    def same_udate(self, n: int, udate: int) -> list[int]:
        """Add `n` contacts all stamped with one ``udate`` (the tie-break scenario)."""
        with self.lock:
            ids = []
            for i in range(n):
                contact = self.add_contact(
                    f"tie.{udate}.{i}@example.ch", first_name="Tie", last_name=f"N{i}", cdate=udate
                )
                ids.append(contact.id)
            return ids

    # -- custom fields --------------------------------------------------------------

    def add_field(
        self,
        title: str,
        type_: str,
        *,
        perstag: str | None = None,
        descript: str | None = None,
        defval: str | None = None,
    ) -> CustomField:
        """Create a field; a duplicate title or personalisation tag is AC's 422 duplicate."""
        with self.lock:
            if not title.strip():
                raise unprocessable(
                    "Title is required", code="field_missing", pointer="/data/attributes/title"
                )
            if type_ not in FIELD_TYPES:
                raise unprocessable(
                    "Invalid field type",
                    code="field_invalid",
                    detail=f"'{type_}' is not one of {', '.join(sorted(FIELD_TYPES))}",
                    pointer="/data/attributes/type",
                )
            tag = (perstag or re.sub(r"[^A-Z0-9]+", "_", title.upper())).strip("_")
            for existing in self.fields.values():
                if existing.title.lower() == title.strip().lower():
                    raise unprocessable(
                        "There is already a field with this title",
                        code="duplicate",
                        detail=f"There is already a field named '{title}' -- choose another name",
                    )
                if existing.perstag == tag:
                    raise unprocessable(
                        "There is already a field with this personalization tag",
                        code="duplicate",
                        detail=f"The personalization tag '{tag}' is in use",
                        pointer="/data/attributes/perstag",
                    )
            now = int(time.time())
            created = CustomField(
                id=self.next_id("field"),
                title=title.strip(),
                type=type_,
                perstag=tag,
                descript=descript,
                defval=defval,
                cdate=now,
                udate=now,
            )
            self.fields[created.id] = created
            return created

    def add_field_rel(self, field_id: int, relid: int) -> FieldRel:
        """Relate a field to a list (0: all lists); the same relation twice is a 422."""
        with self.lock:
            if field_id not in self.fields:
                raise not_found(f"No Result found for Field with id {field_id}")
            for rel in self.field_rels.values():
                if rel.field == field_id and rel.relid == relid:
                    raise unprocessable(
                        "This field is already related to this list", code="duplicate"
                    )
            rel = FieldRel(self.next_id("fieldRel"), field_id, relid, int(time.time()))
            self.field_rels[rel.id] = rel
            return rel

    def add_field_option(self, field_id: int, label: str, value: str, orderid: int) -> FieldOption:
        """Add one option to a choice field."""
        with self.lock:
            if field_id not in self.fields:
                raise not_found(f"No Result found for Field with id {field_id}")
            option = FieldOption(self.next_id("fieldOption"), field_id, label, value, orderid)
            self.field_options[option.id] = option
            return option

    def field_by_perstag(self, perstag: str) -> CustomField | None:
        with self.lock:
            for candidate in self.fields.values():
                if candidate.perstag == perstag:
                    return candidate
            return None

    def check_value(self, field_id: int, value: str) -> str | None:
        """Why AC would refuse `value` for the field, or None when it is acceptable."""
        with self.lock:
            spec = self.fields.get(field_id)
            if spec is None:
                return f"Field with id {field_id} does not exist"
            if value and spec.type in ("date", "datetime") and self.parse_instant(value) is None:
                return f"Field '{spec.title}' expects a {spec.type}, got {value[:40]!r}"
            return None

    def set_value(
        self, contact: Contact, field_id: int, value: str, at: int | None = None
    ) -> FieldValue:
        """Create or replace a contact's value of one field; bumps the contact's ``udate``."""
        with self.lock:
            now = at if at is not None else int(time.time())
            key = (contact.id, field_id)
            current = self.values.get(key)
            if current is None:
                current = FieldValue(
                    self.next_id("fieldValue"), contact.id, field_id, value, now, now
                )
                self.values[key] = current
            else:
                current.value = value
                current.udate = now
            self.touch(contact, now)
            return current

    def values_of(self, contact_id: int) -> list[FieldValue]:
        with self.lock:
            return sorted(
                (v for (cid, _), v in self.values.items() if cid == contact_id), key=lambda v: v.id
            )

    def value_by_id(self, value_id: int) -> FieldValue:
        with self.lock:
            for value in self.values.values():
                if value.id == value_id:
                    return value
            raise not_found(f"No Result found for FieldValue with id {value_id}")

    # -- activity -------------------------------------------------------------------

    def add_activity(
        self, contact_id: int, tstamp: int, reference_type: str, action: str, model: str
    ) -> ActivityRecord:
        with self.lock:
            record = ActivityRecord(
                id=self.next_id("activity"),
                contact=contact_id,
                tstamp=tstamp,
                reference_type=reference_type,
                reference_action=action,
                model=model,
                reference_id=self.next_id(f"ref:{reference_type}"),
            )
            self.activities.setdefault(contact_id, []).append(record)
            return record

    def add_tracking(self, contact_id: int, type_: str, value: str, tstamp: int) -> TrackingLog:
        with self.lock:
            log = TrackingLog(self.next_id("trackingLog"), contact_id, type_, value, tstamp)
            self.tracking.setdefault(contact_id, []).append(log)
            return log

    # -- bulk import ----------------------------------------------------------------

    def queue_import(self, rows: tuple[ImportRow, ...], delay_s: float) -> ImportBatch:
        with self.lock:
            batch = ImportBatch(str(uuid.uuid4()), rows, time.monotonic() + delay_s)
            self.imports[batch.batch_id] = batch
            return batch

    def apply_due_imports(self) -> None:
        """Run every queued import whose time has come (AC processes them asynchronously)."""
        with self.lock:
            now = time.monotonic()
            for batch in self.imports.values():
                if not batch.done and batch.ready_at <= now:
                    self._apply(batch)

    def _apply(self, batch: ImportBatch) -> None:
        at = int(time.time())
        for row in batch.rows:
            problem = next(
                (p for fid, value in row.fields if (p := self.check_value(fid, value))), None
            )
            if problem is not None or row.email.lower() in self.exclusions:
                batch.failure.append(row.email)
                continue
            contact, _ = self.upsert_by_email(
                row.email,
                first_name=row.first_name,
                last_name=row.last_name,
                phone=row.phone,
                at=at,
            )
            for fid, value in row.fields:
                self.set_value(contact, fid, value, at)
            batch.success.append(str(contact.id))
        batch.done = True

    def import_batch(self, batch_id: str) -> ImportBatch:
        with self.lock:
            batch = self.imports.get(batch_id)
            if batch is None:
                raise ACHTTPError(400, {"success": 0, "message": "Invalid batchId"})
            return batch

    # -- inspection -----------------------------------------------------------------

    def raw(self, contact_id: int) -> dict[str, Any]:
        """A contact with its field values keyed by perstag (tests and the admin route)."""
        with self.lock:
            contact = self.contact(contact_id)
            return {
                "id": contact.id,
                "email": contact.email,
                "udate": contact.udate,
                "fields": {
                    self.fields[v.field].perstag: v.value
                    for v in self.values_of(contact_id)
                    if v.field in self.fields
                },
            }
