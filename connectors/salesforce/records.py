"""One Salesforce sObject record by record: the `RecordStore` two-way sync and migration use.

Reads are SOQL (``SystemModstamp`` ascending, paged by ``nextRecordsUrl``); creates are
sObject Collections *upserts* on an external-id field (``PATCH
/composite/sobjects/{SObject}/{ExtIdField}``, up to 200 records, ``created`` per record),
so a batch re-sent after a crash finds the records it already made
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_upsert.htm).
Custom fields are created through the Tooling API and granted field-level security on
the integration permission set, as `writeback.FieldBootstrap` does for score fields.

The REST API has no merge call: a merge loser shows up in ``queryAll`` as deleted with
``MasterRecordId`` set, and `merge` reproduces one from REST (activities re-parented to
the survivor, then the loser deleted).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from typing import Any

from leadbridge.connectors.salesforce.client import CONNECTOR, SalesforceApi
from leadbridge.connectors.salesforce.mapping import parse_instant
from leadbridge.core.errors import APIError, MalformedResponse, MappingError, PermanentAPIError
from leadbridge.core.models import FieldSpec, ScoreWrite, WriteResult
from leadbridge.core.records import RecordField, Upserted, VendorRecord

__all__ = ["SalesforceRecords"]

MAX_BATCH = 200
_IN_CHUNK = 150
_METADATA: dict[str, dict[str, Any]] = {
    "number": {"type": "Number", "precision": 18, "scale": 2},
    "datetime": {"type": "DateTime"},
    "string": {"type": "Text", "length": 255},
    "enumeration": {"type": "Text", "length": 255},
    "text": {"type": "LongTextArea", "length": 32768, "visibleLines": 5},
}


def _soql_time(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _reason(errors: Any) -> str:
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    return f"{first.get('statusCode', 'UNKNOWN')}: {first.get('message', 'rejected')}"[:300]


class SalesforceRecords:
    """One sObject (Contact by default) of one org as a `RecordStore`."""

    crm = CONNECTOR
    write_batch = MAX_BATCH

    def __init__(self, api: SalesforceApi, sobject: str = "Contact") -> None:
        self.api = api
        self.object_name = sobject
        self.base = f"/services/data/v{api.config.api_version}"

    def _call(self, method: str, path: str, category: str, **kwargs: Any) -> Any:
        return self.api.http.call(method, f"{self.base}{path}", category=category, **kwargs)  # type: ignore[arg-type]

    def _query(
        self, soql: str, *, category: str = "read", all_rows: bool = False
    ) -> Iterator[list[dict[str, Any]]]:
        data = self._call(
            "GET", "/queryAll" if all_rows else "/query", category, params={"q": soql}
        )
        while True:
            rows = data.get("records") if isinstance(data, dict) else None
            if not isinstance(rows, list):
                raise MalformedResponse("a query page needs 'records'", connector=CONNECTOR)
            yield [r for r in rows if isinstance(r, dict)]
            next_url = data.get("nextRecordsUrl")
            if data.get("done") is True or not next_url:
                return
            data = self.api.http.call("GET", str(next_url), category=category)  # type: ignore[arg-type]

    def _record(self, row: Mapping[str, Any]) -> VendorRecord:
        stamp = parse_instant(row.get("LastModifiedDate") or row.get("SystemModstamp"), "modified")
        if not row.get("Id") or stamp is None:
            raise MappingError("a record needs Id and LastModifiedDate")
        fields = {k: v for k, v in row.items() if k != "attributes"}
        return VendorRecord(str(row["Id"]), fields, stamp)

    def _select(self, fields: Sequence[str]) -> str:
        wanted = [*dict.fromkeys(["Id", "LastModifiedDate", *fields])]
        return f"SELECT {', '.join(wanted)} FROM {self.object_name}"

    # -- schema ---------------------------------------------------------------------

    def describe(self) -> dict[str, RecordField]:
        """The object's fields (one ``describe`` call)."""
        data = self._call("GET", f"/sobjects/{self.object_name}/describe", "setup")
        out: dict[str, RecordField] = {}
        for item in data.get("fields", []) if isinstance(data, dict) else []:
            name = str(item["name"])
            out[name] = RecordField(
                name=name,
                type=str(item.get("type", "string")),
                writable=bool(item.get("updateable") or item.get("createable")),
                unique=bool(item.get("unique") or item.get("externalId")),
                custom=bool(item.get("custom")),
            )
        return out

    def create_fields(
        self, specs: Sequence[FieldSpec], *, unique: AbstractSet[str] = frozenset()
    ) -> list[str]:
        """Tooling ``CustomField`` creates, then read/edit FLS on the permission set."""
        created: list[str] = []
        for spec in specs:
            metadata = {**_METADATA[spec.type], "label": spec.label[:40]}
            if spec.name in unique:
                metadata.update({"externalId": True, "unique": True})
            body = {"FullName": f"{self.object_name}.{spec.name}", "Metadata": metadata}
            try:
                self._call("POST", "/tooling/sobjects/CustomField", "setup", json=body)
            except PermanentAPIError as exc:
                if "DUPLICATE" not in (exc.body or "") and "duplicate" not in exc.message.lower():
                    raise
                continue
            created.append(spec.name)
        if specs:
            self._grant([s.name for s in specs])
        return created

    def _grant(self, names: Sequence[str]) -> None:
        permission_set = self.api.config.permission_set
        if not (permission_set.startswith("0PS") and len(permission_set) in (15, 18)):
            rows = [
                r
                for page in self._query(
                    f"SELECT Id FROM PermissionSet WHERE Name = {_quote(permission_set)}",
                    category="setup",
                )
                for r in page
            ]
            if not rows:
                raise PermanentAPIError(
                    f"permission set {permission_set!r} not found", connector=CONNECTOR
                )
            permission_set = str(rows[0]["Id"])
        have = {
            str(r["Field"])
            for page in self._query(
                "SELECT Id, Field FROM FieldPermissions WHERE ParentId = "
                f"{_quote(permission_set)} AND SobjectType = {_quote(self.object_name)}",
                category="setup",
            )
            for r in page
        }
        inserts = [
            {
                "attributes": {"type": "FieldPermissions"},
                "ParentId": permission_set,
                "SobjectType": self.object_name,
                "Field": f"{self.object_name}.{name}",
                "PermissionsRead": True,
                "PermissionsEdit": True,
            }
            for name in names
            if f"{self.object_name}.{name}" not in have
        ]
        for chunk in _chunks(inserts, MAX_BATCH):
            self._call(
                "POST",
                "/composite/sobjects",
                "setup",
                json={"allOrNone": False, "records": list(chunk)},
            )

    # -- reads ----------------------------------------------------------------------

    def scan(self, fields: Sequence[str], since: datetime | None) -> Iterator[list[VendorRecord]]:
        """Records modified at or after `since`, ``SystemModstamp`` ascending."""
        where = f" WHERE SystemModstamp >= {_soql_time(since)}" if since is not None else ""
        soql = f"{self._select(fields)}{where} ORDER BY SystemModstamp, Id"
        for rows in self._query(soql):
            yield [self._record(r) for r in rows]

    def fetch(self, ids: Sequence[str], fields: Sequence[str]) -> dict[str, VendorRecord]:
        """Live records by id (``WHERE Id IN``, 150 ids per query)."""
        return self._where_in("Id", list(dict.fromkeys(ids)), fields)

    def find(
        self, field: str, values: Sequence[str], fields: Sequence[str]
    ) -> dict[str, VendorRecord]:
        """Live records by `field` value (lower-cased keys)."""
        found = self._where_in(field, [v for v in dict.fromkeys(values) if v], [*fields, field])
        return {str(r.fields.get(field) or "").lower(): r for r in found.values()}

    def _where_in(
        self, column: str, values: list[str], fields: Sequence[str]
    ) -> dict[str, VendorRecord]:
        out: dict[str, VendorRecord] = {}
        for chunk in _chunks(values, _IN_CHUNK):
            listed = ", ".join(_quote(v) for v in chunk)
            for rows in self._query(f"{self._select(fields)} WHERE {column} IN ({listed})"):
                for row in rows:
                    record = self._record(row)
                    out[record.id] = record
        return out

    def gone_since(self, since: datetime) -> dict[str, str | None]:
        """Binned at or after `since`: deleted (None) or merged (``MasterRecordId``).

        ``getDeleted`` rounds its window down to the minute; ``queryAll`` on ``IsDeleted``
        sees a deletion as soon as it commits, for as long as the bin keeps it (15 days).
        """
        return self._binned(since)

    def _binned(self, since: datetime) -> dict[str, str | None]:
        base = (
            f"FROM {self.object_name} WHERE IsDeleted = true "
            f"AND SystemModstamp >= {_soql_time(since)}"
        )
        try:
            rows = [
                r
                for page in self._query(f"SELECT Id, MasterRecordId {base}", all_rows=True)
                for r in page
            ]
        except APIError as exc:
            if exc.status != 400 or "INVALID_FIELD" not in (exc.body or exc.message):
                raise
            rows = [r for page in self._query(f"SELECT Id {base}", all_rows=True) for r in page]
        return {
            str(r["Id"]): (str(r["MasterRecordId"]) if r.get("MasterRecordId") else None)
            for r in rows
        }

    # -- writes ---------------------------------------------------------------------

    def upsert(self, external_field: str, rows: Sequence[ScoreWrite]) -> Upserted:
        """Collections upsert on `external_field`, 200 records per call, in order."""
        ids: dict[str, str] = {}
        created: set[str] = set()
        failed: dict[str, str] = {}
        calls = 0
        for chunk in _chunks(list(rows), MAX_BATCH):
            records = [
                {
                    "attributes": {"type": self.object_name},
                    **dict(r.values),
                    external_field: r.source_id,
                }
                for r in chunk
            ]
            results = self._call(
                "PATCH",
                f"/composite/sobjects/{self.object_name}/{external_field}",
                "write",
                json={"allOrNone": False, "records": records},
            )
            calls += 1
            self._zip(chunk, results, ids, failed, created)
        return Upserted(ids, frozenset(created), failed, calls)

    def _zip(
        self,
        chunk: Sequence[ScoreWrite],
        results: Any,
        ids: dict[str, str],
        failed: dict[str, str],
        created: set[str] | None = None,
    ) -> None:
        if not isinstance(results, list) or len(results) != len(chunk):
            raise MalformedResponse(
                "collections answer must list one result per record", connector=CONNECTOR
            )
        for row, result in zip(chunk, results, strict=True):
            if isinstance(result, dict) and result.get("success") is True:
                ids[row.source_id] = str(result.get("id") or row.source_id)
                if created is not None and result.get("created"):
                    created.add(row.source_id)
            else:
                failed[row.source_id] = _reason(
                    result.get("errors") if isinstance(result, dict) else None
                )

    def update(self, rows: Sequence[ScoreWrite]) -> WriteResult:
        """Collections update by id, 200 per call."""
        ids: dict[str, str] = {}
        failed: dict[str, str] = {}
        calls = 0
        for chunk in _chunks(list(rows), MAX_BATCH):
            records = [
                {"attributes": {"type": self.object_name}, "id": r.source_id, **dict(r.values)}
                for r in chunk
            ]
            results = self._call(
                "PATCH",
                "/composite/sobjects",
                "write",
                json={"allOrNone": False, "records": records},
            )
            calls += 1
            self._zip(chunk, results, ids, failed)
        return WriteResult(succeeded=tuple(ids), failed=failed, calls=calls)

    def delete(self, ids: Sequence[str]) -> WriteResult:
        """Collections delete (to the recycle bin), 200 ids per call."""
        done: list[str] = []
        failed: dict[str, str] = {}
        calls = 0
        for chunk in _chunks(list(ids), MAX_BATCH):
            results = self._call(
                "DELETE",
                "/composite/sobjects",
                "write",
                params={"ids": ",".join(chunk), "allOrNone": "false"},
            )
            calls += 1
            for record_id, result in zip(chunk, results or [], strict=False):
                if isinstance(result, dict) and result.get("success"):
                    done.append(record_id)
                else:
                    failed[record_id] = _reason(
                        result.get("errors") if isinstance(result, dict) else None
                    )
        return WriteResult(succeeded=tuple(done), failed=failed, calls=calls)

    def merge(self, survivor: str, loser: str) -> None:
        """REST has no merge: move the loser's tasks and events, then delete the loser."""
        for sobject in ("Task", "Event"):
            moved = [
                ScoreWrite(source_id=str(r["Id"]), lead_key=survivor, values={"WhoId": survivor})
                for rows in self._query(f"SELECT Id FROM {sobject} WHERE WhoId = {_quote(loser)}")
                for r in rows
            ]
            if moved:
                SalesforceRecords(self.api, sobject).update(moved)
        self.delete([loser])

    def calls(self) -> dict[str, int]:
        """Calls made so far, by purpose."""
        counts = self.api.http.counter.snapshot()
        return {key: counts.get(key, 0) for key in ("read", "write", "setup")}
