"""Score write-back: custom fields with field-level security, Collections, Bulk 2.0.

`FieldBootstrap` creates the score fields on Lead *and* Contact through the Tooling
API, then grants read/edit on them to the integration permission set by inserting
``FieldPermissions`` (without that step the platform answers ``INVALID_FIELD`` to every
write). It queries what exists first, so running it again costs three reads and
changes nothing.

`CollectionsWriter` sends at most 200 records per ``PATCH /composite/sobjects`` with
``allOrNone: false`` and reads the per-record results in order. `BulkWriter` runs one
Bulk API 2.0 update job per object for large batches (a first sync, a migration) and
reads ``successfulResults``/``failedResults``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import quote_plus

from leadbridge.connectors.salesforce.client import SalesforceApi
from leadbridge.connectors.salesforce.mapping import CONTACT_PREFIX, LEAD_PREFIX
from leadbridge.core.errors import ConfigError, MalformedResponse, ValidationRejected
from leadbridge.core.models import FieldSpec, ScoreWrite, WriteResult

__all__ = [
    "COLLECTION_MAX",
    "BulkWriter",
    "CollectionsWriter",
    "FieldBootstrap",
    "SalesforceField",
    "salesforce_field",
]

COLLECTION_MAX = 200
OBJECTS = ("Lead", "Contact")


@dataclass(frozen=True)
class SalesforceField:
    """How a canonical field is created on Salesforce."""

    api_name: str
    metadata: Mapping[str, Any]


_KNOWN: dict[str, tuple[str, dict[str, Any]]] = {
    "leadbridge_score": ("Leadbridge_Score__c", {"type": "Number", "precision": 3, "scale": 0}),
    "leadbridge_tier": ("Leadbridge_Tier__c", {"type": "Text", "length": 32}),
    "leadbridge_action": ("Leadbridge_Action__c", {"type": "Text", "length": 64}),
    "leadbridge_reasons": ("Leadbridge_Reasons__c", {"type": "Text", "length": 255}),
    "leadbridge_scored_at": ("Leadbridge_Scored_At__c", {"type": "DateTime"}),
}


def salesforce_field(spec: FieldSpec) -> SalesforceField:
    """The Salesforce API name and Tooling metadata of a canonical field."""
    known = _KNOWN.get(spec.name)
    if known is not None:
        name, metadata = known
    else:
        name = "_".join(part.capitalize() for part in spec.name.split("_")) + "__c"
        defaults: dict[str, dict[str, Any]] = {
            "number": {"type": "Number", "precision": 18, "scale": 2},
            "datetime": {"type": "DateTime"},
        }
        metadata = defaults.get(spec.type, {"type": "Text", "length": 255})
    full = {**metadata, "label": spec.label[:40]}
    if spec.description:
        full["description"] = spec.description[:1000]
    return SalesforceField(name, full)


def sobject_of(record_id: str) -> str | None:
    """Lead or Contact, from the id's key prefix."""
    return {LEAD_PREFIX: "Lead", CONTACT_PREFIX: "Contact"}.get(record_id[:3])


def _value(spec_type: str | None, value: Any) -> Any:
    """A canonical value as Salesforce takes it: '' clears (null), datetimes in UTC ms."""
    if value is None or value == "":
        return None
    if spec_type == "DateTime" and isinstance(value, str):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if spec_type == "Text" and isinstance(value, str):
        return value
    return value


class FieldMap:
    """Canonical write-back names -> Salesforce API names and types."""

    def __init__(self) -> None:
        self.names: dict[str, SalesforceField] = {}

    def resolve(self, name: str) -> SalesforceField:
        known = self.names.get(name)
        if known is None:
            known = self.names[name] = salesforce_field(
                FieldSpec(name=name, label=name.replace("_", " "), type="string")
            )
        return known

    def record(self, write: ScoreWrite) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in write.values.items():
            target = self.resolve(name)
            kind = target.metadata.get("type")
            converted = _value(kind, value)
            length = target.metadata.get("length")
            if isinstance(converted, str) and isinstance(length, int):
                converted = converted[:length]
            out[target.api_name] = converted
        return out


class FieldBootstrap:
    """Idempotent creation of the score fields and their field-level security."""

    def __init__(self, api: SalesforceApi, fields: FieldMap) -> None:
        self.api = api
        self.fields = fields
        self.min_calls = 0
        self.created: list[str] = []

    def ensure(self, specs: Sequence[FieldSpec]) -> None:
        sf = self.api.sdk("setup")
        wanted = [salesforce_field(spec) for spec in specs]
        for spec, target in zip(specs, wanted, strict=True):
            self.fields.names[spec.name] = target
        calls = 1
        tables = ", ".join(f"'{o}'" for o in OBJECTS)
        found = self.api.call(
            "custom field lookup",
            lambda: sf.toolingexecute(
                "query/?q="
                + _q(
                    "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField "
                    f"WHERE TableEnumOrId IN ({tables})"
                )
            ),
        )
        existing = {
            (str(r.get("TableEnumOrId")), f"{r.get('DeveloperName')}__c")
            for r in _records(found, "custom field lookup")
        }
        for sobject in OBJECTS:
            for target in wanted:
                if (sobject, target.api_name) in existing:
                    continue
                body: dict[str, Any] = {
                    "FullName": f"{sobject}.{target.api_name}",
                    "Metadata": dict(target.metadata),
                }
                self.api.call(
                    "custom field create",
                    partial(sf.toolingexecute, "sobjects/CustomField", method="POST", data=body),
                )
                calls += 1
                self.created.append(body["FullName"])
        parent, lookups = self._permission_set()
        calls += lookups + self._grant(parent, wanted)
        self.min_calls += calls

    def _permission_set(self) -> tuple[str, int]:
        name = self.api.config.permission_set
        if name.startswith("0PS") and len(name) in (15, 18):
            return name, 0
        sf = self.api.sdk("setup")
        found = self.api.call(
            "permission set lookup",
            lambda: sf.query(f"SELECT Id FROM PermissionSet WHERE Name = '{_escape(name)}'"),
        )
        rows = _records(found, "permission set lookup")
        if not rows:
            raise ConfigError(
                f"permission set {name!r} not found (it must be assigned to the API user)",
                key="permission_set",
            )
        return str(rows[0]["Id"]), 1

    def _grant(self, parent: str, wanted: Sequence[SalesforceField]) -> int:
        sf = self.api.sdk("setup")
        tables = ", ".join(f"'{o}'" for o in OBJECTS)
        found = self.api.call(
            "field permissions lookup",
            lambda: sf.query(
                "SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
                f"WHERE ParentId = '{_escape(parent)}' AND SobjectType IN ({tables})"
            ),
        )
        have = {str(r["Field"]): r for r in _records(found, "field permissions lookup")}
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for sobject in OBJECTS:
            for target in wanted:
                field = f"{sobject}.{target.api_name}"
                row = have.get(field)
                if row is None:
                    inserts.append(
                        {
                            "attributes": {"type": "FieldPermissions"},
                            "ParentId": parent,
                            "SobjectType": sobject,
                            "Field": field,
                            "PermissionsRead": True,
                            "PermissionsEdit": True,
                        }
                    )
                elif not (row.get("PermissionsRead") and row.get("PermissionsEdit")):
                    updates.append(
                        {
                            "attributes": {"type": "FieldPermissions"},
                            "id": row["Id"],
                            "PermissionsRead": True,
                            "PermissionsEdit": True,
                        }
                    )
        calls = 1
        for method, rows in (("POST", inserts), ("PATCH", updates)):
            for start in range(0, len(rows), COLLECTION_MAX):
                chunk = rows[start : start + COLLECTION_MAX]
                results = self.api.call(
                    "field permissions grant",
                    partial(
                        sf.restful,
                        "composite/sobjects",
                        method=method,
                        json={"allOrNone": False, "records": chunk},
                    ),
                )
                calls += 1
                for row, result in zip(chunk, _results(results, len(chunk)), strict=True):
                    errors = result.get("errors") or []
                    if result.get("success") or _code(errors) == "DUPLICATE_VALUE":
                        continue
                    raise ValidationRejected(
                        f"granting field-level security on {row.get('Field', row.get('id'))} "
                        f"failed: {_reason(errors)}",
                        connector="salesforce",
                    )
        return calls


class CollectionsWriter:
    """At most 200 records per ``PATCH /composite/sobjects``, outcomes record by record."""

    def __init__(self, api: SalesforceApi, fields: FieldMap) -> None:
        self.api = api
        self.fields = fields

    def write(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        if len(batch) > COLLECTION_MAX:
            raise ValueError(f"at most {COLLECTION_MAX} records per collections call")
        succeeded: list[str] = []
        failed: dict[str, str] = {}
        records: list[dict[str, Any]] = []
        order: list[str] = []
        for write in batch:
            sobject = sobject_of(write.source_id)
            if sobject is None:
                failed[write.source_id] = "not a Lead or Contact id"
                continue
            records.append(
                {
                    "attributes": {"type": sobject},
                    "id": write.source_id,
                    **self.fields.record(write),
                }
            )
            order.append(write.source_id)
        if not records:
            return WriteResult(failed=failed, calls=0)
        sf = self.api.sdk("write")
        results = self.api.call(
            "collections update",
            lambda: sf.restful(
                "composite/sobjects",
                method="PATCH",
                json={"allOrNone": False, "records": records},
            ),
        )
        for source_id, result in zip(order, _results(results, len(order)), strict=True):
            if result.get("success") is True:
                succeeded.append(source_id)
            else:
                failed[source_id] = _reason(result.get("errors") or [])
        return WriteResult(succeeded=tuple(succeeded), failed=failed, calls=1)


class BulkWriter:
    """One Bulk API 2.0 update job per object; results read from the job's CSV files."""

    def __init__(self, api: SalesforceApi, fields: FieldMap) -> None:
        self.api = api
        self.fields = fields
        self.jobs = 0

    def write(self, batch: Sequence[ScoreWrite]) -> WriteResult:
        by_object: dict[str, list[dict[str, str]]] = {}
        failed: dict[str, str] = {}
        columns: list[str] = []
        for write in batch:
            sobject = sobject_of(write.source_id)
            if sobject is None:
                failed[write.source_id] = "not a Lead or Contact id"
                continue
            values = self.fields.record(write)
            for name in values:
                if name not in columns:
                    columns.append(name)
            row = {"Id": write.source_id}
            # Bulk CSV: an empty cell leaves a field unchanged, #N/A sets it to null.
            row.update({k: "#N/A" if v is None else _csv(v) for k, v in values.items()})
            by_object.setdefault(sobject, []).append(row)
        succeeded: list[str] = []
        before = self.api.http.counter.snapshot().get("write", 0)
        sf = self.api.sdk("write")
        for sobject, rows in by_object.items():
            full = [{"Id": r["Id"], **{c: r.get(c, "") for c in columns}} for r in rows]
            handler = getattr(sf.bulk2, sobject)
            jobs = self.api.call(
                "bulk update",
                partial(
                    handler.update,
                    records=full,
                    batch_size=self.api.config.bulk_batch_size,
                    wait=self.api.config.bulk_poll_s,
                ),
            )
            for job in jobs:
                self.jobs += 1
                outcome = self.api.call(
                    "bulk results",
                    partial(handler.get_all_ingest_records, job["job_id"]),
                )
                for row in outcome.get("successfulRecords", []):
                    succeeded.append(str(row.get("sf__Id") or row.get("Id")))
                for row in outcome.get("failedRecords", []):
                    failed[str(row.get("Id") or row.get("sf__Id"))] = _bulk_reason(
                        str(row.get("sf__Error", ""))
                    )
                for row in outcome.get("unprocessedRecords", []):
                    failed[str(row.get("Id"))] = "not processed by the bulk job"
        calls = self.api.http.counter.snapshot().get("write", 0) - before
        return WriteResult(succeeded=tuple(succeeded), failed=failed, calls=calls)

    @staticmethod
    def min_calls(jobs: int) -> int:
        """create, upload, close, one status poll, successful and failed results."""
        return 6 * jobs


def _csv(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _q(soql: str) -> str:
    return quote_plus(soql)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _records(found: Any, what: str) -> list[dict[str, Any]]:
    rows = found.get("records") if isinstance(found, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise MalformedResponse(
            f"{what}: expected a query result with 'records'", connector="salesforce"
        )
    return rows


def _results(results: Any, expected: int) -> list[dict[str, Any]]:
    if (
        not isinstance(results, list)
        or len(results) != expected
        or not all(isinstance(r, dict) for r in results)
    ):
        raise MalformedResponse(
            f"collections answer must be {expected} per-record results in order",
            connector="salesforce",
        )
    return results


def _code(errors: Sequence[Any]) -> str | None:
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = first.get("statusCode")
    return str(code) if code else None


def _reason(errors: Sequence[Any]) -> str:
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = first.get("statusCode") or "UNKNOWN"
    message = " ".join(str(first.get("message") or "no message").split())
    return f"{code}: {message}"[:300]


def _bulk_reason(error: str) -> str:
    code, _, rest = error.partition(":")
    message = rest.rsplit(":", 1)[0] if rest.count(":") else rest
    return f"{code}: {' '.join(message.split())}"[:300] if code else "bulk row failed"


def jobs_needed(count: int, batch_size: int) -> int:
    return max(1, math.ceil(count / batch_size))
