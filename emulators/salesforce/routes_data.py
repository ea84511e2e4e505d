"""``/services/data/vXX.X/…``: query, sObject rows, getDeleted/getUpdated, limits.

Query results come in pages (2,000 rows by default, fewer with
``Sforce-Query-Options: batchSize=…``) with ``done``/``totalSize``/``nextRecordsUrl``;
a cursor is a snapshot taken when the query ran and expires after 15 minutes unused
(``INVALID_QUERY_LOCATOR``). ``/deleted`` only sees the recycle bin's horizon, reported
as ``earliestDateAvailable``.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from leadbridge.emulators.salesforce import soql
from leadbridge.emulators.salesforce.errors import (
    SalesforceHTTPError,
    json_response,
    malformed_query,
    not_found,
)
from leadbridge.emulators.salesforce.gateway import Gateway
from leadbridge.emulators.salesforce.org import Org
from leadbridge.emulators.salesforce.schema import SObjectType, format_datetime, parse_datetime

__all__ = ["QueryCursors", "data_routes", "json_body", "write_error"]

V = "/services/data/{version}"
_BATCH = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
_MINUTE_MS = 60_000


class QueryCursors:
    """Open query locators: the snapshot rows left, the page size and last use."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cursors: dict[str, tuple[list[dict[str, Any]], int, float]] = {}

    def open(self, locator: str, rows: list[dict[str, Any]], batch: int) -> None:
        with self._lock:
            self._cursors[locator] = (rows, batch, time.monotonic())

    def fetch(self, locator: str, offset: int) -> tuple[list[dict[str, Any]], int, bool, int]:
        """Rows from `offset`, the page size, whether more remain, and the total."""
        now = time.monotonic()
        with self._lock:
            for key in [k for k, (_, _, used) in self._cursors.items() if now - used > self.ttl_s]:
                del self._cursors[key]
            entry = self._cursors.get(locator)
            if entry is None or offset > len(entry[0]) or offset < 0:
                raise SalesforceHTTPError(400, "invalid query locator", "INVALID_QUERY_LOCATOR")
            rows, batch, _ = entry
            self._cursors[locator] = (rows, batch, now)
            return rows[offset : offset + batch], batch, offset + batch < len(rows), len(rows)

    def expire_all(self) -> None:
        with self._lock:
            self._cursors.clear()


async def json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        raise SalesforceHTTPError(
            400, "Unexpected character: was expecting a JSON value", "JSON_PARSER_ERROR"
        ) from None


def write_error(error: dict[str, Any], status: int = 400) -> SalesforceHTTPError:
    """A per-record error raised as a whole-request error (single-record endpoints)."""
    return SalesforceHTTPError(status, error["message"], error["statusCode"], error["fields"])


def _check_version(request: Request) -> str:
    version = str(request.path_params.get("version", ""))
    if not re.fullmatch(r"v\d{2}\.0", version) or int(version[1:3]) < 20:
        raise not_found(f"API version {version} is not supported")
    return version[1:]


def describe_field(spec: Any) -> dict[str, Any]:
    return {
        "name": spec.name,
        "label": spec.label or spec.name,
        "type": spec.type,
        "length": spec.length or 0,
        "precision": spec.precision or 0,
        "scale": spec.scale or 0,
        "custom": spec.custom,
        "updateable": spec.updateable,
        "createable": spec.createable,
        "nillable": spec.name not in ("Id", "IsDeleted", "LastName"),
        "referenceTo": list(spec.reference_to),
    }


class DataRoutes:
    """Handlers for the data API."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway
        self.org: Org = gateway.org
        self.cursors = QueryCursors(gateway.limits.query_locator_ttl_s)

    def _sobject(self, request: Request) -> SObjectType:
        sobject = self.org.sobject(str(request.path_params["sobject"]))
        if sobject is None:
            raise not_found()
        return sobject

    # -- query -------------------------------------------------------------------------

    def _batch(self, request: Request) -> int:
        size = self.gw.limits.query_page_size
        match = _BATCH.search(request.headers.get("sforce-query-options", ""))
        if match:
            size = min(max(int(match.group(1)), 200), 2000, size) if size >= 200 else size
        return size

    async def query(self, request: Request) -> Response:
        version = _check_version(request)
        text = request.query_params.get("q")
        if text is None:
            raise malformed_query("A query string has to be specified")
        include_deleted = request.url.path.rstrip("/").endswith("queryAll")
        parsed = soql.parse(text)
        with self.org.lock:
            rows = soql.run(parsed, self.org, include_deleted=include_deleted, api_version=version)
        batch = self._batch(request)
        body: dict[str, Any] = {
            "totalSize": len(rows),
            "done": len(rows) <= batch,
            "records": rows[:batch],
        }
        if len(rows) > batch:
            locator = self.org.ids.new("QueryLocator")
            self.cursors.open(locator, rows, batch)
            endpoint = "queryAll" if include_deleted else "query"
            body["nextRecordsUrl"] = f"/services/data/v{version}/{endpoint}/{locator}-{batch}"
        return json_response(body)

    async def query_more(self, request: Request) -> Response:
        version = _check_version(request)
        token = str(request.path_params["locator"])
        locator, _, offset_text = token.rpartition("-")
        if not locator or not offset_text.isdigit():
            raise SalesforceHTTPError(400, "invalid query locator", "INVALID_QUERY_LOCATOR")
        offset = int(offset_text)
        rows, batch, more, total = self.cursors.fetch(locator, offset)
        body: dict[str, Any] = {"totalSize": total, "done": not more, "records": rows}
        if more:
            endpoint = "queryAll" if request.url.path.count("/queryAll/") else "query"
            body["nextRecordsUrl"] = (
                f"/services/data/v{version}/{endpoint}/{locator}-{offset + batch}"
            )
        return json_response(body)

    # -- sObject rows ------------------------------------------------------------------

    async def get_record(self, request: Request) -> Response:
        version = _check_version(request)
        sobject = self._sobject(request)
        record = self.org.get(sobject.name, str(request.path_params["id"]))
        if record is None:
            raise not_found()
        wanted = request.query_params.get("fields")
        names = (
            [f.strip() for f in wanted.split(",") if f.strip()]
            if wanted
            else [f for f in sobject.fields if self.org.visible_field(sobject.name, f)]
        )
        query = soql.parse(
            f"SELECT {', '.join(names)} FROM {sobject.name} WHERE Id = '{record['Id']}'"
        )
        with self.org.lock:
            rows = soql.run(query, self.org, api_version=version)
        return json_response(rows[0])

    async def patch_record(self, request: Request) -> Response:
        _check_version(request)
        sobject = self._sobject(request)
        values = await json_body(request)
        if not isinstance(values, dict):
            raise SalesforceHTTPError(400, "Json Deserialization failed", "JSON_PARSER_ERROR")
        values.pop("attributes", None)
        error = self.org.update(sobject.name, str(request.path_params["id"]), values)
        if error is not None:
            status = 404 if error["statusCode"] == "INVALID_CROSS_REFERENCE_KEY" else 400
            raise write_error(error, status)
        self.gw.ledger.record_write(
            f"PATCH sobjects/{sobject.name}",
            str(request.path_params["id"]),
            {k: str(v) for k, v in values.items()},
            204,
        )
        return Response(status_code=204)

    async def delete_record(self, request: Request) -> Response:
        _check_version(request)
        sobject = self._sobject(request)
        record_id = str(request.path_params["id"])
        if not self.org.delete(sobject.name, record_id):
            if self.org.records[sobject.name].get(record_id) is not None:
                raise SalesforceHTTPError(404, "entity is deleted", "ENTITY_IS_DELETED")
            raise not_found()
        return Response(status_code=204)

    async def create_record(self, request: Request) -> Response:
        _check_version(request)
        sobject = self._sobject(request)
        values = await json_body(request)
        if not isinstance(values, dict):
            raise SalesforceHTTPError(400, "Json Deserialization failed", "JSON_PARSER_ERROR")
        values.pop("attributes", None)
        record_id, error = self.org.create(sobject.name, values)
        if error is not None:
            raise write_error(error)
        return json_response({"id": record_id, "success": True, "errors": []}, 201)

    async def describe(self, request: Request) -> Response:
        version = _check_version(request)
        sobject = self._sobject(request)
        fields = [
            describe_field(spec)
            for name, spec in sobject.fields.items()
            if self.org.visible_field(sobject.name, name)
        ]
        return json_response(
            {
                "name": sobject.name,
                "label": sobject.name,
                "queryable": True,
                "updateable": True,
                "fields": fields,
                "urls": {"sobject": f"/services/data/v{version}/sobjects/{sobject.name}"},
            }
        )

    # -- replication -------------------------------------------------------------------

    def _window(self, request: Request) -> tuple[int, int]:
        start = parse_datetime(request.query_params.get("start", ""))
        end = parse_datetime(request.query_params.get("end", ""))
        if start is None or end is None:
            raise SalesforceHTTPError(
                400,
                "start and end must be specified as ISO 8601 date-times",
                "INVALID_REPLICATION_DATE",
            )
        start -= start % _MINUTE_MS
        end -= end % _MINUTE_MS
        now = self.org.clock()
        window_ms = int(self.gw.limits.replication_window_days * 86_400_000)
        if end <= start:
            raise SalesforceHTTPError(
                400, "end date must be after start date", "INVALID_REPLICATION_DATE"
            )
        if start < now - window_ms:
            raise SalesforceHTTPError(
                400, "startDate cannot be more than 30 days ago", "INVALID_REPLICATION_DATE"
            )
        return start, min(end, now - now % _MINUTE_MS)

    async def deleted(self, request: Request) -> Response:
        _check_version(request)
        sobject = self._sobject(request)
        start, end = self._window(request)
        self.org.purge()
        rows = self.org.deleted_between(sobject.name, start, end)
        earliest = self.org.purged_until.get(
            sobject.name, self.org.horizon_ms(self.gw.limits.deleted_horizon_days)
        )
        return json_response(
            {
                "deletedRecords": [
                    {"id": rid, "deletedDate": format_datetime(at)} for rid, at in rows
                ],
                "earliestDateAvailable": format_datetime(earliest - earliest % _MINUTE_MS),
                "latestDateCovered": format_datetime(end),
            }
        )

    async def updated(self, request: Request) -> Response:
        _check_version(request)
        sobject = self._sobject(request)
        start, end = self._window(request)
        ids = sorted(
            row["Id"]
            for row in self.org.rows(sobject.name)
            if start <= row["SystemModstamp"] <= end
        )
        return json_response({"ids": ids, "latestDateCovered": format_datetime(end)})

    # -- org -----------------------------------------------------------------------------

    async def limits(self, request: Request) -> Response:
        _check_version(request)
        used, maximum = self.gw.usage()
        return json_response(
            {
                "DailyApiRequests": {"Max": maximum, "Remaining": maximum - used},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            }
        )

    async def versions(self, request: Request) -> Response:
        return json_response(
            [
                {"label": f"v{n}.0", "url": f"/services/data/v{n}.0", "version": f"{n}.0"}
                for n in range(55, 63)
            ]
        )


def data_routes(gw: Gateway, handlers: DataRoutes | None = None) -> list[Route]:
    """The data API routes, all through the gateway."""
    h = handlers or DataRoutes(gw)
    e = gw.endpoint
    so = f"{V}/sobjects/{{sobject}}"
    return [
        Route("/services/data/", e(h.versions, "/services/data/", counted=False), methods=["GET"]),
        Route(f"{V}/limits/", e(h.limits, "/limits"), methods=["GET"]),
        Route(f"{V}/limits", e(h.limits, "/limits"), methods=["GET"]),
        Route(f"{V}/query/", e(h.query, "/query"), methods=["GET"]),
        Route(f"{V}/query", e(h.query, "/query"), methods=["GET"]),
        Route(f"{V}/queryAll/", e(h.query, "/queryAll"), methods=["GET"]),
        Route(f"{V}/queryAll", e(h.query, "/queryAll"), methods=["GET"]),
        Route(f"{V}/query/{{locator}}", e(h.query_more, "/query/{locator}"), methods=["GET"]),
        Route(f"{V}/queryAll/{{locator}}", e(h.query_more, "/queryAll/{locator}"), methods=["GET"]),
        Route(f"{so}/deleted/", e(h.deleted, "/sobjects/{sobject}/deleted"), methods=["GET"]),
        Route(f"{so}/updated/", e(h.updated, "/sobjects/{sobject}/updated"), methods=["GET"]),
        Route(f"{so}/describe/", e(h.describe, "/sobjects/{sobject}/describe"), methods=["GET"]),
        Route(f"{so}/describe", e(h.describe, "/sobjects/{sobject}/describe"), methods=["GET"]),
        Route(f"{so}/", e(h.create_record, "/sobjects/{sobject}"), methods=["POST"]),
        Route(f"{so}", e(h.create_record, "/sobjects/{sobject}"), methods=["POST"]),
        Route(f"{so}/{{id}}", e(h.get_record, "/sobjects/{sobject}/{id}"), methods=["GET"]),
        Route(f"{so}/{{id}}", e(h.patch_record, "/sobjects/{sobject}/{id}"), methods=["PATCH"]),
        Route(f"{so}/{{id}}", e(h.delete_record, "/sobjects/{sobject}/{id}"), methods=["DELETE"]),
    ]
