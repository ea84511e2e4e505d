"""The org's data: records per sObject, the recycle bin, custom fields and FLS.

Records are plain dicts keyed by canonical field names; datetimes are epoch ms, dates
``YYYY-MM-DD`` strings. Every change stamps ``LastModifiedDate``/``SystemModstamp``;
deletions go to the recycle bin (``IsDeleted`` rows visible to ``queryAll`` and
``/deleted``) and are purged after the horizon. Fields created through the Tooling API
are invisible to the API user until a ``FieldPermissions`` row on one of the user's
permission sets grants read (and edit, to write), as on the real platform.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from typing import Any

from leadbridge.emulators.common.timefmt import now_ms
from leadbridge.emulators.salesforce.errors import record_error
from leadbridge.emulators.salesforce.ids import PREFIXES, IdFactory, is_valid_id
from leadbridge.emulators.salesforce.schema import (
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldDef,
    SObjectType,
    base_schema,
    parse_date,
    parse_datetime,
)

__all__ = ["NULL", "Org", "WriteError"]

WriteError = dict[str, Any]
"""``{statusCode, message, fields}``: why one record was not written."""

NULL = object()
"""A value meaning "set to null" (Bulk CSV ``#N/A``, JSON ``null``)."""

INTEGRATION_PERMISSION_SET = "Leadbridge_Integration"
_PREFIX_TO_TYPE = {prefix: name for name, prefix in PREFIXES.items()}


class Org:
    """One org's records, thread-safe; `clock` returns epoch ms (tests may move time)."""

    def __init__(self, *, clock: Callable[[], int] = now_ms) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.schema: dict[str, SObjectType] = base_schema()
        self.ids = IdFactory()
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self.schema}
        self.purged_until: dict[str, int] = {}
        self.custom_fields: dict[str, dict[str, Any]] = {}
        self.bin_horizon_days = 15.0
        self.api_user_id = self.ids.new("User")
        self.api_username = "integration@leadbridge.example"
        now = clock()
        self.insert_raw(
            "User",
            {
                "Id": self.api_user_id,
                "Username": self.api_username,
                "Name": "Integration User",
                "IsActive": True,
            },
            at=now,
        )
        profile = self.insert_raw(
            "PermissionSet",
            {
                "Name": "X00ex00000018ozh_128_09_04_12_1",
                "Label": "System Administrator",
                "IsOwnedByProfile": True,
            },
            at=now,
        )
        integration = self.insert_raw(
            "PermissionSet",
            {
                "Name": INTEGRATION_PERMISSION_SET,
                "Label": "Leadbridge Integration",
                "IsOwnedByProfile": False,
            },
            at=now,
        )
        self.insert_raw(
            "PermissionSet",
            {"Name": "Marketing_User", "Label": "Marketing User", "IsOwnedByProfile": False},
            at=now,
        )
        self.assigned_permission_sets: set[str] = {profile, integration}

    # -- identity -----------------------------------------------------------------

    @staticmethod
    def type_of_id(record_id: str) -> str | None:
        """The sObject an id belongs to, from its key prefix."""
        return _PREFIX_TO_TYPE.get(record_id[:3])

    def sobject(self, name: str) -> SObjectType | None:
        """The sObject named `name` (case-insensitive), or None."""
        lowered = name.lower()
        for key, value in self.schema.items():
            if key.lower() == lowered:
                return value
        return None

    # -- field-level security ------------------------------------------------------

    def _fls(self, sobject: str, spec: FieldDef) -> tuple[bool, bool]:
        if not spec.needs_fls:
            return True, spec.updateable
        target = f"{sobject}.{spec.name}"
        read = edit = False
        for perm in self.records["FieldPermissions"].values():
            if perm["Field"] == target and perm["ParentId"] in self.assigned_permission_sets:
                read = read or bool(perm["PermissionsRead"])
                edit = edit or bool(perm["PermissionsEdit"])
        return read, edit and spec.updateable

    def visible_field(self, sobject: str, name: str) -> FieldDef | None:
        """The field if it exists *and* the API user may read it."""
        spec = self.schema[sobject].get(name)
        if spec is None or not self._fls(sobject, spec)[0]:
            return None
        return spec

    def editable(self, sobject: str, spec: FieldDef) -> bool:
        return self._fls(sobject, spec)[1]

    # -- raw access ------------------------------------------------------------------

    def insert_raw(self, sobject: str, values: Mapping[str, Any], *, at: int) -> str:
        """Store a record as given (generator, admin), stamping audit fields; returns its id."""
        with self.lock:
            record = dict.fromkeys(self.schema[sobject].fields)
            record.update(values)
            record_id = str(record.get("Id") or self.ids.new(sobject))
            record["Id"] = record_id
            record["IsDeleted"] = False
            record["CreatedDate"] = record.get("CreatedDate") or at
            record["LastModifiedDate"] = record.get("LastModifiedDate") or at
            record["SystemModstamp"] = record.get("SystemModstamp") or record["LastModifiedDate"]
            self._derive(sobject, record)
            self.records[sobject][record_id] = record
            return record_id

    def get(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        """A live record (15- or 18-character id), or None."""
        record = self.records[sobject].get(self._id18(sobject, record_id))
        return record if record is not None and not record["IsDeleted"] else None

    def _id18(self, sobject: str, record_id: str) -> str:
        if len(record_id) == 15:
            for candidate in self.records[sobject]:
                if candidate[:15] == record_id:
                    return candidate
        return record_id

    def rows(self, sobject: str, *, include_deleted: bool = False) -> Iterator[dict[str, Any]]:
        """Every record of `sobject` (a snapshot list, safe against concurrent writes)."""
        self.purge()
        with self.lock:
            rows = list(self.records[sobject].values())
        for row in rows:
            if include_deleted or not row["IsDeleted"]:
                yield row

    def touch(self, sobject: str, record_id: str, at: int | None = None) -> None:
        """Bump a record's modification stamps (as any change on the platform does)."""
        with self.lock:
            record = self.records[sobject][record_id]
            stamp = self.clock() if at is None else at
            record["LastModifiedDate"] = stamp
            record["SystemModstamp"] = stamp

    @staticmethod
    def _derive(sobject: str, record: dict[str, Any]) -> None:
        if "Name" in record and sobject in ("Lead", "Contact", "User") and "FirstName" in record:
            first = record.get("FirstName") or ""
            record["Name"] = f"{first} {record.get('LastName') or ''}".strip()

    # -- deletes ---------------------------------------------------------------------

    def delete(self, sobject: str, record_id: str, *, at: int | None = None) -> bool:
        """Move a record to the recycle bin; False if it is not live."""
        with self.lock:
            record = self.get(sobject, record_id)
            if record is None:
                return False
            stamp = self.clock() if at is None else at
            record["IsDeleted"] = True
            record["LastModifiedDate"] = stamp
            record["SystemModstamp"] = stamp
            record["_deleted_at"] = stamp
            return True

    def purge_record(self, sobject: str, record_id: str) -> bool:
        """Remove one record for good, bypassing the recycle bin (a Bulk hardDelete)."""
        with self.lock:
            return self.records[sobject].pop(self._id18(sobject, record_id), None) is not None

    def horizon_ms(self, horizon_days: float) -> int:
        return self.clock() - int(horizon_days * 86_400_000)

    def purge(self, sobject: str | None = None, *, before: int | None = None) -> None:
        """Empty the recycle bin of rows deleted before `before` (default: the bin horizon)."""
        if before is None:
            before = self.horizon_ms(self.bin_horizon_days)
        with self.lock:
            for name in [sobject] if sobject else list(self.records):
                table = self.records[name]
                gone = [
                    rid for rid, r in table.items() if r["IsDeleted"] and r["_deleted_at"] < before
                ]
                for rid in gone:
                    del table[rid]
                self.purged_until[name] = max(self.purged_until.get(name, 0), before)

    def deleted_between(self, sobject: str, start: int, end: int) -> list[tuple[str, int]]:
        """(id, deletedDate) of bin rows deleted in [start, end]."""
        with self.lock:
            return sorted(
                (rid, r["_deleted_at"])
                for rid, r in self.records[sobject].items()
                if r["IsDeleted"] and start <= r["_deleted_at"] <= end
            )

    # -- writes ----------------------------------------------------------------------

    def check_id(self, sobject: str, record_id: object) -> WriteError | None:
        if not isinstance(record_id, str) or not is_valid_id(record_id):
            return record_error(
                "MALFORMED_ID", f"{sobject} ID: id value of incorrect type: {record_id}", ["Id"]
            )
        actual = self.type_of_id(record_id)
        if actual != sobject:
            return record_error(
                "MALFORMED_ID", f"{sobject} ID: id value of incorrect type: {record_id}", ["Id"]
            )
        return None

    def coerce(
        self, sobject: str, values: Mapping[str, Any], *, creating: bool
    ) -> tuple[dict[str, Any], WriteError | None]:
        """Validate field names and values; returns the storable values or the first error."""
        out: dict[str, Any] = {}
        for name, raw in values.items():
            spec = self.visible_field(sobject, name)
            if spec is None:
                return {}, record_error(
                    "INVALID_FIELD",
                    f"No such column '{name}' on sobject of type {sobject}",
                    [name],
                )
            allowed = spec.createable if creating else self.editable(sobject, spec)
            if not allowed:
                code = "INVALID_FIELD_FOR_INSERT_UPDATE"
                return {}, record_error(
                    code,
                    f"Unable to create/update fields: {spec.name}. Please check the "
                    "security settings of this field and verify that it is read/write for "
                    "your profile or permission set.",
                    [spec.name],
                )
            value, error = _coerce_value(spec, raw)
            if error is not None:
                return {}, error
            out[spec.name] = value
        return out, None

    def update(
        self, sobject: str, record_id: object, values: Mapping[str, Any], *, dry_run: bool = False
    ) -> WriteError | None:
        """Apply one record's update (or only check it); the error when it is refused."""
        error = self.check_id(sobject, record_id)
        if error is not None:
            return error
        assert isinstance(record_id, str)
        with self.lock:
            stored = self.records[sobject].get(self._id18(sobject, record_id))
            if stored is None:
                return record_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
            if stored["IsDeleted"]:
                return record_error("ENTITY_IS_DELETED", "entity is deleted", [])
            if sobject == "Lead" and stored.get("IsConverted"):
                return record_error(
                    "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", []
                )
            clean, error = self.coerce(sobject, values, creating=False)
            if error is not None or dry_run:
                return error
            stored.update({k: (None if v is NULL else v) for k, v in clean.items()})
            self._derive(sobject, stored)
            self.touch(sobject, stored["Id"])
            return None

    def create(
        self, sobject: str, values: Mapping[str, Any], *, dry_run: bool = False
    ) -> tuple[str | None, WriteError | None]:
        """Insert one record (or only check it); its id, or the error when it is refused."""
        with self.lock:
            clean, error = self.coerce(sobject, values, creating=True)
            if error is not None:
                return None, error
            stored = {k: (None if v is NULL else v) for k, v in clean.items()}
            if sobject == "FieldPermissions":
                error = self._check_field_permission(stored)
                if error is not None:
                    return None, error
            if sobject in ("Lead", "Contact") and not stored.get("LastName"):
                return None, record_error(
                    "REQUIRED_FIELD_MISSING",
                    "Required fields are missing: [LastName]",
                    ["LastName"],
                )
            if dry_run:
                return None, None
            return self.insert_raw(sobject, stored, at=self.clock()), None

    def _check_field_permission(self, values: dict[str, Any]) -> WriteError | None:
        parent = values.get("ParentId")
        field_name = str(values.get("Field") or "")
        sobject_name, _, column = field_name.partition(".")
        if not isinstance(parent, str) or self.get("PermissionSet", parent) is None:
            return record_error(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["ParentId"]
            )
        target = self.schema.get(sobject_name)
        spec = target.get(column) if target else None
        if spec is None or values.get("SobjectType") != sobject_name:
            return record_error(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"Field Name: bad value for restricted picklist field: {field_name}",
                ["Field"],
            )
        if values.get("PermissionsEdit") and not values.get("PermissionsRead"):
            return record_error(
                "FIELD_INTEGRITY_EXCEPTION",
                "Permission Read Field is required when Edit Field is enabled",
                ["PermissionsRead"],
            )
        for row in self.records["FieldPermissions"].values():
            if row["ParentId"] == parent and row["Field"] == field_name:
                return record_error(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: <unknown> duplicates value on record with id: "
                    f"{row['Id']}",
                    [],
                )
        values["ParentId"] = self._id18("PermissionSet", parent)
        return None

    # -- custom fields (Tooling) ------------------------------------------------------

    def add_custom_field(self, sobject: str, spec: FieldDef) -> str:
        """Register a Tooling-created field (invisible until FLS); returns its 00N id."""
        with self.lock:
            field_id = self.ids.new("CustomField")
            self.schema[sobject].add(replace(spec, custom=True, needs_fls=True))
            self.custom_fields[field_id] = {
                "Id": field_id,
                "DeveloperName": spec.name.removesuffix("__c"),
                "TableEnumOrId": sobject,
                "NamespacePrefix": None,
                "FullName": f"{sobject}.{spec.name}",
            }
            return field_id


def _coerce_value(spec: FieldDef, raw: Any) -> tuple[Any, WriteError | None]:
    """A written value as stored, checked against the field's type, length and precision."""
    if raw is None or raw is NULL:
        return NULL, None
    label = spec.label or spec.name
    wrong = record_error(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{label}: value not of required type: {raw}",
        [spec.name],
    )
    if spec.type in TEXT_TYPES or spec.type in ("id", "reference"):
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            return None, wrong
        text = raw if isinstance(raw, str) else str(raw)
        if spec.length is not None and len(text) > spec.length:
            return None, record_error(
                "STRING_TOO_LONG",
                f"{label}: data value too large: {text[:40]} (max length={spec.length})",
                [spec.name],
            )
        return text, None
    if spec.type in NUMBER_TYPES:
        number: float
        if isinstance(raw, bool):
            return None, wrong
        if isinstance(raw, int | float):
            number = float(raw)
        else:
            try:
                number = float(str(raw))
            except ValueError:
                return None, wrong
        if number != number or number in (float("inf"), float("-inf")):
            return None, wrong
        precision, scale = spec.precision or 18, spec.scale or 0
        if abs(number) >= 10 ** (precision - scale):
            return None, record_error(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{label}: value outside of valid range on numeric field: {raw}",
                [spec.name],
            )
        rounded = round(number, scale)
        return (int(rounded) if scale == 0 else rounded), None
    if spec.type == "boolean":
        if isinstance(raw, bool):
            return raw, None
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true", None
        return None, wrong
    if spec.type == "datetime":
        stamp = parse_datetime(raw) if isinstance(raw, str) else None
        return (stamp, None) if stamp is not None else (None, wrong)
    if spec.type == "date":
        day = parse_date(raw) if isinstance(raw, str) else None
        return (day, None) if day is not None else (None, wrong)
    return None, wrong
