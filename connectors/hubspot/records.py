"""HubSpot contacts record by record: the `RecordStore` two-way sync and migration use.

Reads go through CRM search on ``lastmodifieddate`` (windowed past the 10,000-result cap
by `search.IncrementalSearch`) and ``batch/read``; creates are ``batch/upsert`` on a
unique property (``leadbridge_id``, created with ``hasUniqueValue``) or ``email``, so a
batch re-sent after a crash updates what it created instead of duplicating it
(https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts/batch/upsert-contacts).
Merges are ``POST /crm/v3/objects/contacts/merge``; a survivor lists the ids merged into
it in ``hs_merged_object_ids``. Engagements (emails, calls, meetings, notes) are read
with their contact associations for migration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from leadbridge.connectors.hubspot.client import HubSpotApi
from leadbridge.connectors.hubspot.search import IncrementalSearch, SearchFilter, parse_instant_ms
from leadbridge.connectors.hubspot.writeback import GROUP_LABEL, GROUP_NAME
from leadbridge.core.errors import MalformedResponse, ValidationRejected
from leadbridge.core.models import FieldSpec, ScoreWrite, WriteResult
from leadbridge.core.records import RecordField, Upserted, VendorRecord

__all__ = [
    "ENGAGEMENT_FIELDS",
    "HubSpotActivity",
    "HubSpotRecords",
]

BASE = "/crm/v3/objects/contacts"
MAX_BATCH = 100
MERGED = "hs_merged_object_ids"
ENGAGEMENT_FIELDS: dict[str, tuple[str, ...]] = {
    "emails": (
        "hs_timestamp",
        "hs_email_subject",
        "hs_email_direction",
        "hs_email_status",
        "hubspot_owner_id",
    ),
    "calls": (
        "hs_timestamp",
        "hs_call_title",
        "hs_call_duration",
        "hs_call_disposition",
        "hs_call_status",
        "hubspot_owner_id",
    ),
    "meetings": (
        "hs_timestamp",
        "hs_meeting_title",
        "hs_meeting_start_time",
        "hs_meeting_end_time",
        "hs_meeting_outcome",
        "hubspot_owner_id",
    ),
    "notes": ("hs_timestamp", "hs_note_body", "hubspot_owner_id"),
}
_TYPES = {
    "number": ("number", "number"),
    "datetime": ("datetime", "date"),
    "string": ("string", "text"),
    "text": ("string", "textarea"),
    "enumeration": ("string", "text"),
}


@dataclass(frozen=True)
class HubSpotActivity:
    """One engagement and the contacts it is associated with."""

    id: str
    kind: str
    fields: Mapping[str, Any]
    record_ids: tuple[str, ...]


def _ns(value: Any) -> Any:
    """JSON as attribute objects, the shape `IncrementalSearch` reads SDK answers in."""
    if isinstance(value, dict):
        return SimpleNamespace(
            **{k: (v if k == "properties" else _ns(v)) for k, v in value.items()}
        )
    if isinstance(value, list):
        return [_ns(v) for v in value]
    return value


def _record(item: Mapping[str, Any]) -> VendorRecord:
    props = item.get("properties")
    if not isinstance(props, dict) or not item.get("id"):
        raise MalformedResponse("a contact needs 'id' and 'properties'", connector="hubspot")
    stamp = parse_instant_ms(props.get("lastmodifieddate") or item.get("updatedAt"))
    merged = tuple(i for i in str(props.get(MERGED) or "").split(";") if i)
    modified = datetime.fromtimestamp((stamp or 0) / 1000, tz=UTC)
    return VendorRecord(str(item["id"]), props, modified, merged)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _wire(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class HubSpotRecords:
    """Contacts of one portal as a `RecordStore`, plus engagements for migration."""

    crm = "hubspot"
    object_name = "contacts"
    write_batch = MAX_BATCH

    def __init__(self, api: HubSpotApi, *, page_size: int = 200, max_results: int = 10_000) -> None:
        self.api = api
        self.page_size = page_size
        self.max_results = max_results

    def _call(self, method: str, path: str, category: str, **kwargs: Any) -> Any:
        bucket = "search" if path.endswith("/search") else "default"
        return self.api.http.call(method, path, category=category, bucket=bucket, **kwargs)  # type: ignore[arg-type]

    # -- schema ---------------------------------------------------------------------

    def describe(self) -> dict[str, RecordField]:
        """Every contact property (one call)."""
        data = self._call("GET", "/crm/v3/properties/contacts", "setup")
        out: dict[str, RecordField] = {}
        for item in data.get("results", []) if isinstance(data, dict) else []:
            meta = item.get("modificationMetadata") or {}
            out[str(item["name"])] = RecordField(
                name=str(item["name"]),
                type=str(item.get("type", "string")),
                writable=not bool(meta.get("readOnlyValue")) and not item.get("calculated"),
                unique=bool(item.get("hasUniqueValue")),
                custom=not item.get("hubspotDefined", False),
            )
        return out

    def create_fields(
        self, specs: Sequence[FieldSpec], *, unique: AbstractSet[str] = frozenset()
    ) -> list[str]:
        """Create the ``leadbridge`` group and missing properties; a 409 means it exists."""
        if not specs:
            return []
        groups = self._call("GET", "/crm/v3/properties/contacts/groups", "setup")
        if GROUP_NAME not in {g.get("name") for g in groups.get("results", [])}:
            self._create(
                "/crm/v3/properties/contacts/groups",
                {"name": GROUP_NAME, "label": GROUP_LABEL, "displayOrder": -1},
            )
        created = []
        for spec in specs:
            type_, field_type = _TYPES[spec.type]
            body = {
                "name": spec.name,
                "label": spec.label,
                "type": type_,
                "fieldType": field_type,
                "groupName": GROUP_NAME,
                "description": spec.description,
                "hasUniqueValue": spec.name in unique,
            }
            if self._create("/crm/v3/properties/contacts", body):
                created.append(spec.name)
        return created

    def _create(self, path: str, body: dict[str, Any]) -> bool:
        try:
            self._call("POST", path, "setup", json=body)
        except ValidationRejected as exc:
            if exc.status == 409:
                return False
            raise
        return True

    # -- reads ----------------------------------------------------------------------

    def scan(self, fields: Sequence[str], since: datetime | None) -> Iterator[list[VendorRecord]]:
        """Contacts modified at or after `since`, oldest first (search, windowed)."""
        props = [*dict.fromkeys([*fields, MERGED])]

        def fetch(filters: Sequence[SearchFilter], sort: str, after: str | None) -> Any:
            body: dict[str, Any] = {
                "filterGroups": [{"filters": list(filters)}] if filters else [],
                "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
                "properties": props,
                "limit": self.page_size,
            }
            if after:
                body["after"] = after
            return _ns(self._call("POST", f"{BASE}/search", "read", json=body))

        search = IncrementalSearch(fetch, "lastmodifieddate", self.page_size, self.max_results)
        since_ms = int(since.timestamp() * 1000) if since is not None else None
        for hits in search.pages(since_ms):
            yield [
                _record(
                    {
                        "id": h.id,
                        "properties": h.record.properties,
                        "updatedAt": getattr(h.record, "updatedAt", None),
                    }
                )
                for h in hits
            ]

    def fetch(self, ids: Sequence[str], fields: Sequence[str]) -> dict[str, VendorRecord]:
        """Live contacts by id (``batch/read``, 100 per call)."""
        return self._batch_read([i for i in ids if i.isdigit()], fields, None)

    def find(self, field: str, values: Sequence[str], fields: Sequence[str]) -> dict[str, Any]:
        """Contacts by a unique property or email (``batch/read`` with ``idProperty``)."""
        found = self._batch_read([v for v in values if v], [*fields, field], field)
        return {str(r.fields.get(field) or "").lower(): r for r in found.values()}

    def _batch_read(
        self, ids: Sequence[str], fields: Sequence[str], id_property: str | None
    ) -> dict[str, VendorRecord]:
        out: dict[str, VendorRecord] = {}
        props = [*dict.fromkeys([*fields, MERGED])]
        for chunk in _chunks(list(dict.fromkeys(ids)), MAX_BATCH):
            body: dict[str, Any] = {"inputs": [{"id": i} for i in chunk], "properties": props}
            if id_property:
                body["idProperty"] = id_property
            data = self._call("POST", f"{BASE}/batch/read", "read", json=body)
            for item in data.get("results", []) if isinstance(data, dict) else []:
                record = _record(item)
                out[record.id] = record
        return out

    def gone_since(self, since: datetime) -> dict[str, str | None]:
        """Contacts archived at or after `since` (the archived list, filtered on ``archivedAt``).

        Merge losers are not archived: they vanish, and the survivor lists them in
        ``hs_merged_object_ids``, which `scan` returns with every record.
        """
        floor = int(since.timestamp() * 1000)
        gone: dict[str, str | None] = {}
        after: str | None = None
        while True:
            params: dict[str, Any] = {"archived": "true", "limit": 100, "properties": "email"}
            if after:
                params["after"] = after
            data = self._call("GET", BASE, "read", params=params)
            for item in data.get("results", []):
                stamp = parse_instant_ms(item.get("archivedAt"))
                if stamp is not None and stamp >= floor:
                    gone[str(item["id"])] = None
            after = ((data.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                return gone

    # -- writes ---------------------------------------------------------------------

    def upsert(self, external_field: str, rows: Sequence[ScoreWrite]) -> Upserted:
        """``batch/upsert`` with ``idProperty=external_field``, 100 inputs per call."""
        ids: dict[str, str] = {}
        created: set[str] = set()
        failed: dict[str, str] = {}
        calls = 0
        for chunk in _chunks(list(rows), MAX_BATCH):
            inputs = [
                {
                    "id": row.source_id,
                    "idProperty": external_field,
                    "properties": {
                        **{k: _wire(v) for k, v in row.values.items()},
                        external_field: row.source_id,
                    },
                }
                for row in chunk
            ]
            try:
                data = self._call("POST", f"{BASE}/batch/upsert", "write", json={"inputs": inputs})
            except ValidationRejected as exc:
                failed.update({row.source_id: exc.message[:300] for row in chunk})
                calls += 1
                continue
            calls += 1
            wanted = {row.source_id.lower(): row.source_id for row in chunk}
            for item in data.get("results", []):
                key = str((item.get("properties") or {}).get(external_field) or "").lower()
                if key in wanted:
                    ids[wanted[key]] = str(item["id"])
                    if item.get("new"):
                        created.add(wanted[key])
            for error in data.get("errors", []):
                for raw in (error.get("context") or {}).get("ids", []):
                    failed[str(raw)] = str(error.get("message", "rejected"))[:300]
            for row in chunk:
                if row.source_id not in ids:
                    failed.setdefault(row.source_id, "HubSpot did not confirm this record")
        return Upserted(ids, frozenset(created), failed, calls)

    def update(self, rows: Sequence[ScoreWrite]) -> WriteResult:
        """``batch/update`` by id, 100 per call; per-record outcomes."""
        succeeded: list[str] = []
        failed: dict[str, str] = {}
        calls = 0
        for chunk in _chunks(list(rows), MAX_BATCH):
            inputs = [
                {"id": r.source_id, "properties": {k: _wire(v) for k, v in r.values.items()}}
                for r in chunk
            ]
            try:
                data = self._call("POST", f"{BASE}/batch/update", "write", json={"inputs": inputs})
            except ValidationRejected as exc:
                failed.update({r.source_id: exc.message[:300] for r in chunk})
                calls += 1
                continue
            calls += 1
            done = {str(item["id"]) for item in data.get("results", [])}
            for error in data.get("errors", []):
                for raw in (error.get("context") or {}).get("ids", []):
                    failed[str(raw)] = str(error.get("message", "rejected"))[:300]
            succeeded.extend(r.source_id for r in chunk if r.source_id in done)
            for r in chunk:
                if r.source_id not in done:
                    failed.setdefault(r.source_id, "HubSpot did not confirm this record")
        return WriteResult(succeeded=tuple(succeeded), failed=failed, calls=calls)

    def delete(self, ids: Sequence[str]) -> WriteResult:
        """``batch/archive`` (HubSpot answers 204 whatever the state)."""
        calls = 0
        for chunk in _chunks(list(ids), MAX_BATCH):
            self._call(
                "POST",
                f"{BASE}/batch/archive",
                "write",
                json={"inputs": [{"id": i} for i in chunk]},
                expect_json=False,
            )
            calls += 1
        return WriteResult(succeeded=tuple(ids), calls=calls)

    def merge(self, survivor: str, loser: str) -> None:
        """``POST /crm/v3/objects/contacts/merge``: the loser's history joins the survivor."""
        self._call(
            "POST",
            f"{BASE}/merge",
            "write",
            json={"primaryObjectId": survivor, "objectIdToMerge": loser},
        )

    def calls(self) -> dict[str, int]:
        """Calls made so far, by purpose."""
        counts = self.api.http.counter.snapshot()
        return {key: counts.get(key, 0) for key in ("read", "write", "setup")}

    # -- engagements ------------------------------------------------------------------

    def scan_activities(self, kinds: Sequence[str]) -> Iterator[list[HubSpotActivity]]:
        """Every engagement of `kinds`, a search page at a time, with its contact ids."""
        for kind in kinds:
            props = list(ENGAGEMENT_FIELDS.get(kind, ("hs_timestamp",)))

            def fetch(
                filters: Sequence[SearchFilter],
                sort: str,
                after: str | None,
                kind: str = kind,
                props: list[str] = props,
            ) -> Any:
                body: dict[str, Any] = {
                    "filterGroups": [{"filters": list(filters)}] if filters else [],
                    "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
                    "properties": props,
                    "limit": self.page_size,
                }
                if after:
                    body["after"] = after
                return _ns(self._call("POST", f"/crm/v3/objects/{kind}/search", "read", json=body))

            search = IncrementalSearch(
                fetch, "hs_lastmodifieddate", self.page_size, self.max_results
            )
            for hits in search.pages(None):
                links = self._associations(kind, [h.id for h in hits])
                yield [
                    HubSpotActivity(
                        f"{kind}:{h.id}",
                        kind,
                        dict(h.record.properties),
                        tuple(links.get(h.id, ())),
                    )
                    for h in hits
                ]

    def _associations(self, kind: str, ids: list[str]) -> dict[str, list[str]]:
        links: dict[str, list[str]] = {}
        for chunk in _chunks(ids, 100):
            pending = [{"id": i} for i in chunk]
            while pending:
                data = self._call(
                    "POST",
                    f"/crm/v4/associations/{kind}/contacts/batch/read",
                    "read",
                    json={"inputs": pending},
                )
                pending = []
                for result in data.get("results", []):
                    source = str((result.get("from") or {}).get("id", ""))
                    targets = links.setdefault(source, [])
                    targets.extend(str(t.get("toObjectId")) for t in result.get("to", []))
                    after = ((result.get("paging") or {}).get("next") or {}).get("after")
                    if after:
                        pending.append({"id": source, "after": after})
        return links
