"""Bulk API 2.0 ingest jobs: Open → UploadComplete → InProgress → JobComplete/Failed.

One CSV upload per job (``PUT …/batches``, 201), then ``PATCH {"state":
"UploadComplete"}``; the job moves on with a configurable delay and is processed when
it completes: each row goes through the same checks as any API write. Results are CSV:
``successfulResults`` (``sf__Id``, ``sf__Created``), ``failedResults`` (``sf__Id``,
``sf__Error``) and ``unprocessedrecords``, each followed by the uploaded columns. In a
CSV, an empty value leaves a field unchanged and ``#N/A`` sets it to null.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from leadbridge.emulators.common.ledger import Ledger
from leadbridge.emulators.salesforce.errors import SalesforceHTTPError
from leadbridge.emulators.salesforce.org import NULL, Org
from leadbridge.emulators.salesforce.schema import format_datetime

__all__ = ["BulkJobs", "Job"]

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
_DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}


@dataclass
class Job:
    """One ingest job and, once processed, its per-row results."""

    id: str
    object: str
    operation: str
    external_id: str | None
    line_ending: str
    delimiter: str
    created_ms: int
    state: str = "Open"
    data: str | None = None
    closed_at: float | None = None
    error_message: str | None = None
    columns: list[str] = field(default_factory=list)
    successes: list[tuple[str, bool, list[str]]] = field(default_factory=list)
    failures: list[tuple[str, str, list[str]]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)
    processing_ms: int = 0

    def info(self, api_version: str, user_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": user_id,
            "createdDate": format_datetime(self.created_ms),
            "systemModstamp": format_datetime(self.created_ms),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(api_version),
            "jobType": "V2Ingest",
            "lineEnding": self.line_ending,
            "columnDelimiter": self.delimiter,
            "numberRecordsProcessed": len(self.successes) + len(self.failures),
            "numberRecordsFailed": len(self.failures),
            "retries": 0,
            "totalProcessingTime": self.processing_ms,
            "apiActiveProcessingTime": self.processing_ms,
            "apexProcessingTime": 0,
        }
        if self.external_id:
            body["externalIdFieldName"] = self.external_id
        if self.error_message:
            body["errorMessage"] = self.error_message
        return body


class BulkJobs:
    """The org's ingest jobs; advancing a job is lazy (on the next read of it)."""

    def __init__(self, org: Org, ledger: Ledger, delay_s: float) -> None:
        self.org = org
        self.ledger = ledger
        self.delay_s = delay_s
        self._lock = threading.Lock()
        self.jobs: dict[str, Job] = {}

    def create(self, body: Any) -> Job:
        if not isinstance(body, dict):
            raise SalesforceHTTPError(400, "Json Deserialization failed", "JSON_PARSER_ERROR")
        operation = body.get("operation")
        if operation not in OPERATIONS:
            raise SalesforceHTTPError(400, f"Invalid operation: {operation}", "INVALIDJOB")
        sobject = self.org.sobject(str(body.get("object", "")))
        if sobject is None:
            raise SalesforceHTTPError(
                400,
                f"Entity '{body.get('object')}' is not supported by the Bulk API.",
                "INVALIDENTITY",
            )
        external = body.get("externalIdFieldName")
        if operation == "upsert" and not external:
            raise SalesforceHTTPError(400, "External ID was blank for upsert", "INVALIDJOB")
        delimiter = str(body.get("columnDelimiter") or "COMMA")
        ending = str(body.get("lineEnding") or "LF")
        if delimiter not in _DELIMITERS or ending not in _ENDINGS:
            raise SalesforceHTTPError(400, "Invalid columnDelimiter or lineEnding", "INVALIDJOB")
        if body.get("contentType", "CSV") != "CSV":
            raise SalesforceHTTPError(400, "Only CSV content is supported", "INVALIDJOB")
        job = Job(
            id=self.org.ids.new("Job"),
            object=sobject.name,
            operation=str(operation),
            external_id=str(external) if external else None,
            line_ending=ending,
            delimiter=delimiter,
            created_ms=self.org.clock(),
        )
        with self._lock:
            self.jobs[job.id] = job
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise SalesforceHTTPError(404, "The requested resource does not exist", "NOT_FOUND")
        self._advance(job)
        return job

    def upload(self, job_id: str, data: bytes) -> None:
        job = self.get(job_id)
        if job.state != "Open":
            raise SalesforceHTTPError(
                409,
                f"Job {job_id} is not open for uploads (state {job.state})",
                "INVALIDJOBSTATE",
            )
        if job.data is not None:
            raise SalesforceHTTPError(409, "Only one upload is allowed per job", "INVALIDJOBSTATE")
        try:
            job.data = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SalesforceHTTPError(400, "CSV data must be UTF-8", "INVALIDBATCH") from None

    def set_state(self, job_id: str, body: Any) -> Job:
        job = self.get(job_id)
        state = body.get("state") if isinstance(body, dict) else None
        if state == "UploadComplete":
            if job.state != "Open":
                raise SalesforceHTTPError(
                    409, f"Job is not open (state {job.state})", "INVALIDJOBSTATE"
                )
            job.state = "UploadComplete"
            job.closed_at = time.monotonic()
            if not job.data:
                job.state = "Failed"
                job.error_message = "No data uploaded for this job"
        elif state == "Aborted":
            if job.state in ("JobComplete", "Failed", "Aborted"):
                raise SalesforceHTTPError(
                    409, f"Job is already finished (state {job.state})", "INVALIDJOBSTATE"
                )
            job.state = "Aborted"
        else:
            raise SalesforceHTTPError(400, f"Invalid state: {state}", "INVALIDJOBSTATE")
        return job

    def delete(self, job_id: str) -> None:
        job = self.get(job_id)
        if job.state not in ("JobComplete", "Failed", "Aborted"):
            raise SalesforceHTTPError(409, "Only a finished job can be deleted", "INVALIDJOBSTATE")
        with self._lock:
            self.jobs.pop(job_id, None)

    def _advance(self, job: Job) -> None:
        if job.state not in ("UploadComplete", "InProgress") or job.closed_at is None:
            return
        elapsed = time.monotonic() - job.closed_at
        if elapsed >= self.delay_s:
            self._process(job)
        elif elapsed >= self.delay_s / 2:
            job.state = "InProgress"

    def _process(self, job: Job) -> None:
        with self._lock:
            if job.state == "JobComplete":
                return
            started = time.monotonic()
            rows = list(
                csv.reader(
                    io.StringIO(job.data or "", newline=""),
                    delimiter=_DELIMITERS[job.delimiter],
                )
            )
            if not rows or not rows[0]:
                job.state = "Failed"
                job.error_message = "InvalidBatch : Field name not found"
                return
            job.columns = rows[0]
            for row in rows[1:]:
                if not any(cell.strip() for cell in row):
                    continue
                self._row(job, dict(zip(job.columns, row, strict=False)), row)
            job.state = "JobComplete"
            job.processing_ms = int((time.monotonic() - started) * 1000)

    def _row(self, job: Job, values: dict[str, str], raw: list[str]) -> None:
        record_id = values.pop("Id", values.pop("id", ""))
        converted: dict[str, Any] = {}
        for name, cell in values.items():
            if cell == "":
                continue  # Bulk 2.0: empty means "leave unchanged"
            converted[name] = NULL if cell == "#N/A" else cell
        error = None
        created = False
        if job.operation == "update":
            error = self.org.update(job.object, record_id, converted)
        elif job.operation == "insert":
            new_id, error = self.org.create(job.object, converted)
            record_id, created = new_id or "", new_id is not None
        elif job.operation in ("delete", "hardDelete"):
            if not self.org.delete(job.object, record_id):
                error = {
                    "statusCode": "ENTITY_IS_DELETED",
                    "message": "entity is deleted",
                    "fields": [],
                }
            elif job.operation == "hardDelete":
                self.org.purge_record(job.object, record_id)  # never reaches the bin
        else:  # upsert on the external id field
            error = self._upsert(job, converted)
            created = error is None and bool(converted.get("_created"))
            record_id = str(converted.get("_id", ""))
        status = 200 if error is None else 400
        self.ledger.record_write(
            f"BULK {job.operation} {job.object}",
            record_id,
            {k: str(v) for k, v in values.items()},
            status,
        )
        if error is None:
            job.successes.append((record_id, created, raw))
        else:
            text = f"{error['statusCode']}:{error['message']}:{','.join(error['fields'])} --"
            job.failures.append((record_id, text, raw))

    def _upsert(self, job: Job, values: dict[str, Any]) -> dict[str, Any] | None:
        key = job.external_id or ""
        wanted = values.get(key)
        matches = [
            row
            for row in self.org.rows(job.object)
            if wanted not in (None, NULL) and str(row.get(key)) == str(wanted)
        ]
        if len(matches) > 1:
            return {
                "statusCode": "DUPLICATE_EXTERNAL_ID",
                "message": f"{key}: more than one record found for external id field",
                "fields": [key],
            }
        if matches:
            values["_id"] = matches[0]["Id"]
            update = {k: v for k, v in values.items() if not k.startswith("_")}
            return self.org.update(job.object, matches[0]["Id"], update)
        new_id, error = self.org.create(job.object, values)
        values["_id"], values["_created"] = new_id, True
        return error

    def results_csv(self, job_id: str, kind: str) -> str:
        """One of the three result files, CSV with a header row."""
        job = self.get(job_id)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        if kind == "successfulResults":
            writer.writerow(["sf__Id", "sf__Created", *job.columns])
            for rid, created, raw in job.successes:
                writer.writerow([rid, "true" if created else "false", *raw])
        elif kind == "failedResults":
            writer.writerow(["sf__Id", "sf__Error", *job.columns])
            for rid, error, raw in job.failures:
                writer.writerow([rid, error, *raw])
        else:
            writer.writerow(job.columns)
            for raw in job.unprocessed:
                writer.writerow(raw)
        return out.getvalue()
